// Value: accessors with typed errors, size accounting and descriptions.

#include "tessera/value.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace tessera {
namespace {

// "N7tessera3FooE" → "tessera::Foo" (the mangled name when demangling fails).
std::string demangle(const char* name) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                               std::free);
    return status == 0 && out ? std::string(out.get()) : std::string(name);
}

// The subject of messages: "none", "an array of dtype int32 and shape (3,)", "a list of 2 values",
// "an object of type Foo".
std::string held(const Value& v, const std::any* object) {
    switch (v.kind()) {
        case Value::Kind::None: return "none";
        case Value::Kind::Array:
            return fmt::format("an array of dtype {} and shape {}", v.array().dtype(),
                               shape_str(v.array().shape()));
        case Value::Kind::List: return fmt::format("a list of {} values", v.list().size());
        case Value::Kind::Object: return "an object of type " + demangle(object->type().name());
    }
    return "?";
}

}  // namespace

const NDArray& Value::array() const {
    if (!is_array()) throw Error("value is {}, not an array", held(*this, object_.get()));
    return array_;
}

const ValueList& Value::list() const {
    if (!is_list()) throw Error("value is {}, not a list", held(*this, object_.get()));
    return *list_;
}

const std::any& Value::object_any() const {
    if (!is_object()) throw Error("value is {}, not an object", held(*this, object_.get()));
    return *object_;
}

void Value::throw_bad_cast(const char* wanted, const char* held_type) {
    throw Error("value holds {} but {} was requested", demangle(held_type), demangle(wanted));
}

std::int64_t Value::nbytes() const {
    switch (kind_) {
        case Kind::Array: return array_.nbytes();
        case Kind::List: {
            std::int64_t total = 0;
            for (const Value& v : *list_) total += v.nbytes();
            return total;
        }
        case Kind::None:
        case Kind::Object: return 0;
    }
    return 0;
}

std::string Value::describe() const {
    switch (kind_) {
        case Kind::None: return "none";
        case Kind::Array: return fmt::format("{} array {}", array_.dtype(), shape_str(array_.shape()));
        case Kind::List: return fmt::format("list[{}]", list_->size());
        case Kind::Object: return "object";
    }
    return "?";
}

}  // namespace tessera
