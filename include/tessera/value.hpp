#pragma once
/// \file value.hpp
/// Value: what a task produces and consumes. An NDArray (chunks, and scalars as 0-d arrays),
/// a list of Values, or an opaque C++ object (local-only unless its type registers a codec).
///
///     ts::Value v = ts::Value::from(std::int64_t{41});   // 0-d int64 array
///     std::int64_t i = v.as<std::int64_t>();             // 41

#include <any>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "tessera/ndarray.hpp"

namespace tessera {

class Value;
using ValueList = std::vector<Value>;

class Value {
public:
    enum class Kind { None, Array, List, Object };

    Value() = default;
    Value(NDArray array) : kind_(Kind::Array), array_(std::move(array)) {}
    Value(ValueList list)
        : kind_(Kind::List), list_(std::make_shared<const ValueList>(std::move(list))) {}

    /// Wraps a C++ value: arithmetic and complex → 0-d NDArray (of the type's own dtype; other
    /// arithmetic types such as long long → the 64-bit dtype of their kind), NDArray and Value
    /// as they are, std::vector<T> → List, anything else → Object.
    template <class T>
    static Value from(T&& v) {
        using D = std::remove_cvref_t<T>;
        if constexpr (std::is_same_v<D, Value>) {
            return std::forward<T>(v);
        } else if constexpr (std::is_same_v<D, NDArray>) {
            return Value(std::forward<T>(v));
        } else if constexpr (Element<D>) {
            return Value(NDArray::scalar(Scalar(typename ScalarStorage<D>::type(v), dtype_of<D>())));
        } else if constexpr (std::is_arithmetic_v<D>) {
            // long long, char, long double, ...: the 64-bit dtype of the same kind.
            using E = typename ScalarStorage<D>::type;
            return Value(NDArray::scalar(Scalar(E(v), dtype_of<E>())));
        } else if constexpr (is_vector<D>::value) {
            ValueList list;
            list.reserve(v.size());
            for (auto&& e : v) {
                if constexpr (std::is_same_v<typename D::value_type, bool>)
                    list.push_back(Value::from(static_cast<bool>(e)));  // std::vector<bool> proxies
                else
                    list.push_back(Value::from(e));
            }
            return Value(std::move(list));
        } else {
            Value out;
            out.kind_ = Kind::Object;
            out.object_ = std::make_shared<const std::any>(std::forward<T>(v));
            return out;
        }
    }

    Kind kind() const { return kind_; }
    bool is_none() const { return kind_ == Kind::None; }
    bool is_array() const { return kind_ == Kind::Array; }
    bool is_list() const { return kind_ == Kind::List; }
    bool is_object() const { return kind_ == Kind::Object; }

    /// The NDArray; throws Error when this is not an array ("value is a list of 3 values, not an
    /// array").
    const NDArray& array() const;
    /// The list; throws Error when this is not a list ("value is an array of dtype float64 and
    /// shape (3,), not a list").
    const ValueList& list() const;

    /// Converts back to a C++ type: arithmetic from a size-1 array (any dtype), NDArray,
    /// std::vector<T> from a list, other T from an Object holding exactly T.
    /// Throws Error naming both types on mismatch ("value holds Foo but Bar was requested"), or
    /// as array()/list(); ValueError from item() for arrays of size != 1.
    template <class T>
    T as() const {
        using D = std::remove_cvref_t<T>;
        if constexpr (std::is_same_v<D, Value>) {
            return *this;
        } else if constexpr (std::is_same_v<D, NDArray>) {
            return array();
        } else if constexpr (Element<D> || std::is_arithmetic_v<D>) {
            return array().template item<D>();
        } else if constexpr (is_vector<D>::value) {
            D out;
            const auto& l = list();
            out.reserve(l.size());
            for (const auto& e : l) out.push_back(e.template as<typename D::value_type>());
            return out;
        } else {
            const std::any& a = object_any();
            if (const D* p = std::any_cast<D>(&a)) return *p;
            throw_bad_cast(typeid(D).name(), a.type().name());
        }
    }

    /// Bytes held (arrays: their nbytes; lists: the sum; objects: sizeof estimate 0).
    std::int64_t nbytes() const;
    /// Short description for messages: "float64 array (3, 4)", "list[8]", "object".
    std::string describe() const;

private:
    template <class U>
    struct is_vector : std::false_type {};
    template <class U, class A>
    struct is_vector<std::vector<U, A>> : std::true_type {};
    template <class U>
    struct ScalarStorage {
        using type = std::conditional_t<
            std::is_same_v<U, bool>, bool,
            std::conditional_t<std::is_floating_point_v<U>, double,
                               std::conditional_t<std::is_unsigned_v<U>, std::uint64_t, std::int64_t>>>;
    };
    template <class U>
    struct ScalarStorage<std::complex<U>> {
        using type = std::complex<double>;
    };

    const std::any& object_any() const;
    [[noreturn]] static void throw_bad_cast(const char* wanted, const char* held);

    Kind kind_ = Kind::None;
    NDArray array_;
    std::shared_ptr<const ValueList> list_;
    std::shared_ptr<const std::any> object_;
};

}  // namespace tessera
