#pragma once
/// \file dtype.hpp
/// Runtime dtype tags with NumPy names and NumPy 1.24 promotion rules.
///
///     ts::DType t = ts::result_type(ts::int8, ts::uint8);   // int16
///     ts::DType f = ts::result_type(ts::float32, ts::Scalar(2.0));  // float32 (weak scalar)

#include <complex>
#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include <fmt/format.h>

namespace tessera {

enum class DTypeId : std::uint8_t {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Float32,
    Float64,
    Complex64,
    Complex128,
};

inline constexpr int kNumDTypes = 13;

/// A NumPy dtype as a runtime tag (native byte order).
class DType {
public:
    constexpr DType() = default;  // float64, NumPy's default
    constexpr DType(DTypeId id) : id_(id) {}

    constexpr DTypeId id() const { return id_; }
    /// NumPy name: "bool", "int8", ..., "float64", "complex128".
    std::string_view name() const;
    /// NumPy array-protocol string in native (little-endian) order: "|b1", "<i4", "<f8", ...
    std::string str() const;
    /// NumPy kind character: 'b', 'i', 'u', 'f' or 'c'.
    char kind() const;
    /// Bytes per element.
    std::int64_t itemsize() const;

    bool is_bool() const { return id_ == DTypeId::Bool; }
    bool is_integer() const { return kind() == 'i' || kind() == 'u'; }
    bool is_signed_integer() const { return kind() == 'i'; }
    bool is_unsigned_integer() const { return kind() == 'u'; }
    bool is_floating() const { return kind() == 'f'; }
    bool is_complex() const { return kind() == 'c'; }
    /// bool, integer or floating (not complex).
    bool is_real() const { return !is_complex(); }

    /// Parses NumPy spellings: "float32", "f4", "<f4", "float", "double", "int", "i8", "bool", "?",
    /// "complex64", "c8", ... Throws DTypeError naming the string when unknown; byte-swapped
    /// forms (">f4") are accepted only through parse_typestr.
    static DType from_name(std::string_view name);

    friend constexpr bool operator==(DType a, DType b) { return a.id_ == b.id_; }

private:
    DTypeId id_ = DTypeId::Float64;
};

std::ostream& operator<<(std::ostream& os, DType dtype);

inline constexpr DType bool_{DTypeId::Bool};
inline constexpr DType int8{DTypeId::Int8};
inline constexpr DType int16{DTypeId::Int16};
inline constexpr DType int32{DTypeId::Int32};
inline constexpr DType int64{DTypeId::Int64};
inline constexpr DType uint8{DTypeId::UInt8};
inline constexpr DType uint16{DTypeId::UInt16};
inline constexpr DType uint32{DTypeId::UInt32};
inline constexpr DType uint64{DTypeId::UInt64};
inline constexpr DType float32{DTypeId::Float32};
inline constexpr DType float64{DTypeId::Float64};
inline constexpr DType complex64{DTypeId::Complex64};
inline constexpr DType complex128{DTypeId::Complex128};

/// A byte-order aware typestr such as ">f4" or "<u2", as found in Zarr and .npy headers.
struct TypeStr {
    DType dtype;
    bool big_endian = false;  // true when the data on disk is big-endian (and itemsize > 1)
};
/// Parses "<f8", ">i2", "|u1", "|b1", "<c16"; throws DTypeError naming the string.
TypeStr parse_typestr(std::string_view typestr);

template <class T>
struct dtype_traits;
#define TESSERA_DTYPE_TRAIT(T, ID)                                                    \
    template <>                                                                       \
    struct dtype_traits<T> {                                                          \
        static constexpr DType value{DTypeId::ID};                                    \
    }
TESSERA_DTYPE_TRAIT(bool, Bool);
TESSERA_DTYPE_TRAIT(std::int8_t, Int8);
TESSERA_DTYPE_TRAIT(std::int16_t, Int16);
TESSERA_DTYPE_TRAIT(std::int32_t, Int32);
TESSERA_DTYPE_TRAIT(std::int64_t, Int64);
TESSERA_DTYPE_TRAIT(std::uint8_t, UInt8);
TESSERA_DTYPE_TRAIT(std::uint16_t, UInt16);
TESSERA_DTYPE_TRAIT(std::uint32_t, UInt32);
TESSERA_DTYPE_TRAIT(std::uint64_t, UInt64);
TESSERA_DTYPE_TRAIT(float, Float32);
TESSERA_DTYPE_TRAIT(double, Float64);
TESSERA_DTYPE_TRAIT(std::complex<float>, Complex64);
TESSERA_DTYPE_TRAIT(std::complex<double>, Complex128);
#undef TESSERA_DTYPE_TRAIT

template <class T>
concept Element = requires { dtype_traits<T>::value; };

/// The DType of a C++ element type: dtype_of<float>() == float32.
template <Element T>
constexpr DType dtype_of() {
    return dtype_traits<T>::value;
}

/// A scalar value with its dtype (used for fills, item() results and weak Python-like scalars).
class Scalar {
public:
    using Storage = std::variant<bool, std::int64_t, std::uint64_t, double, std::complex<double>>;

    Scalar() : value_(0.0), dtype_(float64) {}
    /// C++ literals are "weak" like Python scalars: `x * 2.0` keeps x's float32.
    Scalar(bool v) : value_(v), dtype_(bool_), weak_(true) {}
    Scalar(int v) : value_(std::int64_t{v}), dtype_(int64), weak_(true) {}
    Scalar(long v) : value_(std::int64_t{v}), dtype_(int64), weak_(true) {}
    Scalar(long long v) : value_(std::int64_t{v}), dtype_(int64), weak_(true) {}
    Scalar(unsigned v) : value_(std::uint64_t{v}), dtype_(int64), weak_(true) {}
    Scalar(unsigned long v) : value_(std::uint64_t{v}), dtype_(uint64), weak_(true) {}
    Scalar(unsigned long long v) : value_(std::uint64_t{v}), dtype_(uint64), weak_(true) {}
    Scalar(float v) : value_(double{v}), dtype_(float64), weak_(true) {}
    Scalar(double v) : value_(v), dtype_(float64), weak_(true) {}
    Scalar(std::complex<double> v) : value_(v), dtype_(complex128), weak_(true) {}
    Scalar(std::complex<float> v)
        : value_(std::complex<double>(v)), dtype_(complex128), weak_(true) {}
    /// A strongly typed scalar: `Scalar(3, ts::uint8)` behaves like np.uint8(3).
    Scalar(Storage value, DType dtype) : value_(value), dtype_(dtype), weak_(false) {}

    DType dtype() const { return dtype_; }
    /// True for C++ literals (they take part in promotion like Python scalars).
    bool is_weak() const { return weak_; }
    const Storage& storage() const { return value_; }

    /// The value converted to T with C++ conversion rules (complex → real takes the real part).
    template <class T>
    T as() const {
        return std::visit(
            [](auto v) -> T {
                using V = decltype(v);
                if constexpr (std::is_same_v<V, std::complex<double>>) {
                    if constexpr (std::is_same_v<T, std::complex<double>> ||
                                  std::is_same_v<T, std::complex<float>>)
                        return T(v);
                    else
                        return static_cast<T>(v.real());
                } else {
                    return static_cast<T>(v);
                }
            },
            value_);
    }

    std::string repr() const;
    friend bool operator==(const Scalar& a, const Scalar& b) {
        return a.value_ == b.value_ && a.dtype_ == b.dtype_;
    }

private:
    Storage value_;
    DType dtype_;
    bool weak_ = false;
};

std::ostream& operator<<(std::ostream& os, const Scalar& s);

/// np.result_type for two array dtypes (NumPy 1.24 table).
DType result_type(DType a, DType b);
/// np.result_type over several array dtypes, with NumPy's order-independent reduction
/// (int8, uint16, float32 -> float32); throws ValueError when empty.
DType result_type(std::span<const DType> dtypes);
/// Promotion of an array dtype with a scalar. Weak scalars are Python scalars under NumPy 1.24's
/// value-based casting, exactly np.result_type(np.empty(3, array), value): a scalar of a lower or
/// equal category (bool < integer < float/complex) promotes by np.min_scalar_type(value)
/// (uint8 with 300 -> uint16, int8 with 200 -> int16, float32 with 2.0 -> float32, float32 with
/// 70000 or 1e300 -> float64, float32 with 1j -> complex64); a higher category uses the
/// scalar's default dtype (bool with 5 -> int64, int32 with 2.0 -> float64). A strong Scalar
/// promotes like an array of its dtype.
DType result_type(DType array, const Scalar& scalar);
/// np.can_cast(from, to, casting="safe").
bool can_cast_safely(DType from, DType to);
/// The dtype NumPy's sum/prod use for an input dtype: bool and small ints → int64,
/// small unsigned → uint64, the rest unchanged.
DType sum_dtype(DType input);
/// The smallest floating dtype able to hold a result of `dtype` for mean/var/true_divide:
/// integers and bool → float64, floats and complex unchanged.
DType float_dtype(DType dtype);

}  // namespace tessera

template <>
struct fmt::formatter<tessera::DType> : fmt::formatter<std::string_view> {
    auto format(tessera::DType d, format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(d.name(), ctx);
    }
};
