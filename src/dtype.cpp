// DType names and parsing, scalar text, and NumPy 1.24 type promotion (including the value-based
// casting NumPy 1.24 applies to Python scalars).

#include "tessera/dtype.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <ostream>
#include <vector>

#include "tessera/error.hpp"

namespace tessera {
namespace {

struct DTypeInfo {
    std::string_view name;
    char kind;
    std::int64_t itemsize;
};

constexpr std::array<DTypeInfo, kNumDTypes> kInfo{{
    {"bool", 'b', 1},
    {"int8", 'i', 1},
    {"int16", 'i', 2},
    {"int32", 'i', 4},
    {"int64", 'i', 8},
    {"uint8", 'u', 1},
    {"uint16", 'u', 2},
    {"uint32", 'u', 4},
    {"uint64", 'u', 8},
    {"float32", 'f', 4},
    {"float64", 'f', 8},
    {"complex64", 'c', 8},
    {"complex128", 'c', 16},
}};

const DTypeInfo& info(DType dtype) { return kInfo[static_cast<size_t>(dtype.id())]; }

struct NameEntry {
    std::string_view name;
    DTypeId id;
};

// Every spelling np.dtype() accepts for our 13 dtypes (NumPy 1.24, Linux x86-64).
constexpr NameEntry kNames[] = {
    {"bool", DTypeId::Bool},          {"?", DTypeId::Bool},
    {"b1", DTypeId::Bool},            {"bool_", DTypeId::Bool},
    {"bool8", DTypeId::Bool},         {"int8", DTypeId::Int8},
    {"i1", DTypeId::Int8},            {"b", DTypeId::Int8},
    {"byte", DTypeId::Int8},          {"int16", DTypeId::Int16},
    {"i2", DTypeId::Int16},           {"h", DTypeId::Int16},
    {"short", DTypeId::Int16},        {"int32", DTypeId::Int32},
    {"i4", DTypeId::Int32},           {"i", DTypeId::Int32},
    {"intc", DTypeId::Int32},         {"int64", DTypeId::Int64},
    {"i8", DTypeId::Int64},           {"l", DTypeId::Int64},
    {"q", DTypeId::Int64},            {"int", DTypeId::Int64},
    {"int_", DTypeId::Int64},         {"long", DTypeId::Int64},
    {"longlong", DTypeId::Int64},     {"intp", DTypeId::Int64},
    {"p", DTypeId::Int64},            {"uint8", DTypeId::UInt8},
    {"u1", DTypeId::UInt8},           {"B", DTypeId::UInt8},
    {"ubyte", DTypeId::UInt8},        {"uint16", DTypeId::UInt16},
    {"u2", DTypeId::UInt16},          {"H", DTypeId::UInt16},
    {"ushort", DTypeId::UInt16},      {"uint32", DTypeId::UInt32},
    {"u4", DTypeId::UInt32},          {"I", DTypeId::UInt32},
    {"uintc", DTypeId::UInt32},       {"uint64", DTypeId::UInt64},
    {"u8", DTypeId::UInt64},          {"L", DTypeId::UInt64},
    {"Q", DTypeId::UInt64},           {"uint", DTypeId::UInt64},
    {"ulong", DTypeId::UInt64},       {"ulonglong", DTypeId::UInt64},
    {"uintp", DTypeId::UInt64},       {"P", DTypeId::UInt64},
    {"float32", DTypeId::Float32},    {"f4", DTypeId::Float32},
    {"f", DTypeId::Float32},          {"single", DTypeId::Float32},
    {"float64", DTypeId::Float64},    {"f8", DTypeId::Float64},
    {"d", DTypeId::Float64},          {"float", DTypeId::Float64},
    {"double", DTypeId::Float64},     {"float_", DTypeId::Float64},
    {"complex64", DTypeId::Complex64}, {"c8", DTypeId::Complex64},
    {"F", DTypeId::Complex64},        {"csingle", DTypeId::Complex64},
    {"singlecomplex", DTypeId::Complex64}, {"complex128", DTypeId::Complex128},
    {"c16", DTypeId::Complex128},     {"D", DTypeId::Complex128},
    {"complex", DTypeId::Complex128}, {"cdouble", DTypeId::Complex128},
    {"cfloat", DTypeId::Complex128},  {"complex_", DTypeId::Complex128},
};

// NumPy dtypes that exist but Tessera does not have: a clearer message than "unknown".
constexpr std::string_view kUnsupported[] = {
    "float16", "f2", "e", "half", "float128", "f16", "g", "longdouble", "longfloat",
    "complex256", "c32", "G", "clongdouble", "object", "O", "str", "U", "S", "bytes", "V", "void",
    "datetime64", "timedelta64", "M8", "m8", "M", "m",
};

std::optional<DType> lookup(std::string_view name) {
    for (const NameEntry& entry : kNames)
        if (entry.name == name) return DType(entry.id);
    return std::nullopt;
}

bool is_byte_order(char c) { return c == '<' || c == '>' || c == '|' || c == '='; }

DType with_itemsize(char kind, std::int64_t itemsize) {
    for (size_t id = 0; id < kInfo.size(); ++id)
        if (kInfo[id].kind == kind && kInfo[id].itemsize == itemsize)
            return DType(static_cast<DTypeId>(id));
    detail::assertion_failed("with_itemsize", "no dtype of this kind and size", __FILE__, __LINE__);
}

// Rank of the float precision of a float or complex dtype: 4 or 8 (bytes of one real component).
std::int64_t precision(DType dtype) {
    return dtype.is_complex() ? dtype.itemsize() / 2 : dtype.itemsize();
}

// NumPy's promote_types for two numeric dtypes.
DType promote(DType a, DType b) {
    if (a == b || b.is_bool()) return a;
    if (a.is_bool()) return b;
    if (a.is_integer() && b.is_integer()) {
        if (a.kind() == b.kind()) return a.itemsize() >= b.itemsize() ? a : b;
        const DType s = a.is_signed_integer() ? a : b;
        const DType u = a.is_signed_integer() ? b : a;
        if (u.itemsize() < s.itemsize()) return s;
        if (u.itemsize() < 8) return with_itemsize('i', 2 * u.itemsize());
        return float64;
    }
    if (a.is_integer() || b.is_integer()) {
        const DType i = a.is_integer() ? a : b;
        const DType f = a.is_integer() ? b : a;
        // float32 holds int8/int16/uint8/uint16 exactly; larger integers need float64.
        if (i.itemsize() <= 2 || precision(f) == 8) return f;
        return f.is_complex() ? complex128 : float64;
    }
    const std::int64_t bits = std::max(precision(a), precision(b));
    return (a.is_complex() || b.is_complex()) ? with_itemsize('c', 2 * bits)
                                              : with_itemsize('f', bits);
}

// NumPy's type numbers (Linux x86-64: int64 is NPY_LONG), which order the dtypes by "knowledge".
int type_num(DType dtype) {
    constexpr int kTypeNum[kNumDTypes] = {0, 1, 3, 5, 7, 2, 4, 6, 8, 11, 12, 14, 15};
    return kTypeNum[static_cast<size_t>(dtype.id())];
}

// NumPy's default_builtin_common_dtype: the dtype with the larger type number decides;
// nullopt stands for NotImplemented.
std::optional<DType> common_dtype(DType cls, DType other) {
    if (type_num(other) > type_num(cls)) return std::nullopt;
    return promote(cls, other);
}

// NumPy's reduce_dtypes_to_most_knowledgeable: pairwise from both ends, moving the dtype of the
// larger type number to the front and clearing dtypes that cannot change the result.
std::optional<DType> reduce_to_most_knowledgeable(std::vector<std::optional<DType>>& dtypes,
                                                  size_t length) {
    const size_t half = length / 2;
    std::optional<DType> result;
    for (size_t low = 0; low < half; ++low) {
        const size_t high = length - 1 - low;
        result = dtypes[high] == dtypes[low] ? dtypes[low]
                                             : common_dtype(*dtypes[low], *dtypes[high]);
        if (!result) std::swap(dtypes[low], dtypes[high]);
        if (result == dtypes[low]) dtypes[high].reset();
    }
    if (length == 2) return result;
    return reduce_to_most_knowledgeable(dtypes, length - half);
}

// NumPy 1.24's kind categories for value-based casting: bool < integer < inexact.
int category(char kind) {
    switch (kind) {
        case 'b': return 0;
        case 'i':
        case 'u': return 1;
        default: return 2;
    }
}

int category(const Scalar::Storage& value) {
    if (std::holds_alternative<bool>(value)) return 0;
    if (std::holds_alternative<std::int64_t>(value) || std::holds_alternative<std::uint64_t>(value))
        return 1;
    return 2;
}

// np.min_scalar_type of a Python int, and whether it is a "small unsigned" (a non-negative value
// that also fits the signed type of the same size).
DType min_integer_type(const Scalar::Storage& value, bool& small_unsigned) {
    if (const auto* u = std::get_if<std::uint64_t>(&value); u && *u > 0x7fffffffffffffffULL) {
        small_unsigned = false;
        return uint64;
    }
    const std::int64_t v = std::holds_alternative<std::int64_t>(value)
                               ? std::get<std::int64_t>(value)
                               : static_cast<std::int64_t>(std::get<std::uint64_t>(value));
    small_unsigned = false;
    if (v >= 0) {
        const DType type = v <= 0xff         ? uint8
                           : v <= 0xffff       ? uint16
                           : v <= 0xffffffffLL ? uint32
                                               : uint64;
        // Does v also fit the signed type of the same size? (v <= INT64_MAX here.)
        small_unsigned = type == uint64 || v < (std::int64_t{1} << (8 * type.itemsize() - 1));
        return type;
    }
    if (v >= std::numeric_limits<std::int8_t>::min()) return int8;
    if (v >= std::numeric_limits<std::int16_t>::min()) return int16;
    if (v >= std::numeric_limits<std::int32_t>::min()) return int32;
    return int64;
}

bool fits_float32(double v) { return v > -3.4e38 && v < 3.4e38; }  // NumPy's own bounds

// The dtype a Python scalar gets on its own: np.asarray(value).dtype.
DType default_dtype(const Scalar::Storage& value) {
    if (std::holds_alternative<bool>(value)) return bool_;
    if (const auto* u = std::get_if<std::uint64_t>(&value))
        return *u > 0x7fffffffffffffffULL ? uint64 : int64;
    if (std::holds_alternative<std::int64_t>(value)) return int64;
    if (std::holds_alternative<double>(value)) return float64;
    return complex128;
}

// NumPy's repr of a float: shortest round-trip digits, positional for 1e-4 <= |x| < 1e16.
template <class F>
std::string float_repr(F value, bool add_dot_zero) {
    if (std::isnan(value)) return "nan";
    if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
    TESSERA_ASSERT(ec == std::errc(), "to_chars of a float cannot fail");
    const std::string sci(buf, end);
    const double magnitude = std::fabs(static_cast<double>(value));
    if (magnitude >= 1e16 || (magnitude < 1e-4 && magnitude != 0)) return sci;

    // Positional: rebuild from the digits and the exponent of the scientific form.
    const bool negative = sci.front() == '-';
    const size_t e_pos = sci.find('e');
    std::string digits;
    for (size_t pos = negative ? 1 : 0; pos < e_pos; ++pos)
        if (sci[pos] != '.') digits += sci[pos];
    const int exponent = std::stoi(sci.substr(e_pos + 1));
    std::string out = negative ? "-" : "";
    if (exponent < 0) {
        out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<size_t>(exponent) + 1 >= digits.size()) {
        out += digits + std::string(static_cast<size_t>(exponent) + 1 - digits.size(), '0');
        if (add_dot_zero) out += ".0";
    } else {
        out += digits.substr(0, static_cast<size_t>(exponent) + 1) + "." +
               digits.substr(static_cast<size_t>(exponent) + 1);
    }
    return out;
}

template <class F>
std::string complex_repr(std::complex<F> value) {
    const std::string imag = float_repr(value.imag(), false) + "j";
    if (value.real() == 0 && !std::signbit(value.real())) return imag;
    const std::string real = float_repr(value.real(), false);
    return "(" + real + (imag.front() == '-' ? "" : "+") + imag + ")";
}

}  // namespace

std::string_view DType::name() const { return info(*this).name; }

std::string DType::str() const {
    const std::int64_t size = itemsize();
    return fmt::format("{}{}{}", size == 1 ? '|' : '<', kind(), size);
}

char DType::kind() const { return info(*this).kind; }

std::int64_t DType::itemsize() const { return info(*this).itemsize; }

DType DType::from_name(std::string_view name) {
    std::string_view code = name;
    const bool prefixed = !name.empty() && is_byte_order(name.front());
    if (prefixed) code.remove_prefix(1);
    // Byte-order prefixes only go with the short codes ("<f4", "|b1", "=i8"), as in NumPy.
    if (prefixed && code.size() > 3) throw DTypeError("unknown dtype '{}'", name);
    for (std::string_view unsupported : kUnsupported)
        if (code == unsupported)
            throw DTypeError("dtype '{}' is not supported (Tessera has bool, int8-64, uint8-64, "
                             "float32, float64, complex64 and complex128)",
                             name);
    const std::optional<DType> dtype = lookup(code);
    if (!dtype) throw DTypeError("unknown dtype '{}'", name);
    if (name.front() == '>' && dtype->itemsize() > 1)
        throw DTypeError("big-endian dtype '{}' is not a native dtype; use parse_typestr", name);
    return *dtype;
}

std::ostream& operator<<(std::ostream& os, DType dtype) { return os << dtype.name(); }

TypeStr parse_typestr(std::string_view typestr) {
    const auto fail = [&]() -> TypeStr { throw DTypeError("unknown typestr '{}'", typestr); };
    if (typestr.size() < 3 || !is_byte_order(typestr.front())) return fail();
    const char kind = typestr[1];
    std::int64_t itemsize = 0;
    const char* first = typestr.data() + 2;
    const char* last = typestr.data() + typestr.size();
    auto [end, ec] = std::from_chars(first, last, itemsize);
    if (ec != std::errc() || end != last) return fail();
    for (size_t id = 0; id < kInfo.size(); ++id) {
        if (kInfo[id].kind == kind && kInfo[id].itemsize == itemsize)
            return TypeStr{DType(static_cast<DTypeId>(id)), typestr.front() == '>' && itemsize > 1};
    }
    return fail();
}

std::string Scalar::repr() const {
    if (weak_) {
        // Python's own repr of the value.
        return std::visit(
            [](auto v) -> std::string {
                using V = decltype(v);
                if constexpr (std::is_same_v<V, bool>)
                    return v ? "True" : "False";
                else if constexpr (std::is_same_v<V, double>)
                    return float_repr(v, true);
                else if constexpr (std::is_same_v<V, std::complex<double>>)
                    return complex_repr(v);
                else
                    return fmt::format("{}", v);
            },
            value_);
    }
    // A NumPy scalar of dtype_: the value converted to that type first.
    switch (dtype_.id()) {
        case DTypeId::Bool: return as<bool>() ? "True" : "False";
        case DTypeId::Int8: return fmt::format("{}", as<std::int8_t>());
        case DTypeId::Int16: return fmt::format("{}", as<std::int16_t>());
        case DTypeId::Int32: return fmt::format("{}", as<std::int32_t>());
        case DTypeId::Int64: return fmt::format("{}", as<std::int64_t>());
        case DTypeId::UInt8: return fmt::format("{}", as<std::uint8_t>());
        case DTypeId::UInt16: return fmt::format("{}", as<std::uint16_t>());
        case DTypeId::UInt32: return fmt::format("{}", as<std::uint32_t>());
        case DTypeId::UInt64: return fmt::format("{}", as<std::uint64_t>());
        case DTypeId::Float32: return float_repr(as<float>(), true);
        case DTypeId::Float64: return float_repr(as<double>(), true);
        case DTypeId::Complex64: return complex_repr(as<std::complex<float>>());
        case DTypeId::Complex128: return complex_repr(as<std::complex<double>>());
    }
    detail::assertion_failed("repr", "unhandled dtype", __FILE__, __LINE__);
}

std::ostream& operator<<(std::ostream& os, const Scalar& s) { return os << s.repr(); }

DType result_type(DType a, DType b) { return promote(a, b); }

DType result_type(std::span<const DType> dtypes) {
    if (dtypes.empty()) throw ValueError("at least one array or dtype is required");
    if (dtypes.size() == 1) return dtypes.front();
    // NumPy's PyArray_PromoteDTypeSequence: promotion is not associative (int8, uint16, float32
    // -> float32, but (int8 + uint16) + float32 -> float64), so everything is promoted with the
    // "main" dtype of the highest type number first and the results are combined after.
    std::vector<std::optional<DType>> slots(dtypes.begin(), dtypes.end());
    const std::optional<DType> first = reduce_to_most_knowledgeable(slots, slots.size());
    const DType main = *slots.front();
    std::optional<DType> result = first;
    for (size_t pos = first ? 2 : 1; pos < slots.size(); ++pos) {
        if (!slots[pos]) continue;
        const std::optional<DType> promotion = common_dtype(main, *slots[pos]);
        TESSERA_ASSERT(promotion, "the main dtype knows every other dtype");
        result = result ? promote(*result, *promotion) : *promotion;
    }
    return *result;
}

DType result_type(DType array, const Scalar& scalar) {
    if (!scalar.is_weak()) return promote(array, scalar.dtype());
    const Scalar::Storage& value = scalar.storage();
    // A scalar of a higher category than the array keeps its own (default) dtype.
    if (category(value) > category(array.kind())) return promote(array, default_dtype(value));
    // Otherwise NumPy 1.24 uses np.min_scalar_type(value).
    if (std::holds_alternative<bool>(value)) return array;
    if (const auto* v = std::get_if<double>(&value)) {
        const bool half = (*v > -65000 && *v < 65000) || !std::isfinite(*v);
        if (half) return array;  // float16 never widens a float or complex array
        return promote(array, fits_float32(*v) ? float32 : float64);
    }
    if (const auto* c = std::get_if<std::complex<double>>(&value)) {
        const bool single = fits_float32(c->real()) && fits_float32(c->imag());
        return promote(array, single ? complex64 : complex128);
    }
    bool small_unsigned = false;
    const DType min_type = min_integer_type(value, small_unsigned);
    // A small unsigned value meets a signed or inexact array as the signed type of its size.
    if (small_unsigned && !array.is_bool() && !array.is_unsigned_integer())
        return promote(array, with_itemsize('i', min_type.itemsize()));
    return promote(array, min_type);
}

bool can_cast_safely(DType from, DType to) { return promote(from, to) == to; }

DType sum_dtype(DType input) {
    if (input.is_bool() || (input.is_signed_integer() && input.itemsize() < 8)) return int64;
    if (input.is_unsigned_integer() && input.itemsize() < 8) return uint64;
    return input;
}

DType float_dtype(DType dtype) {
    if (dtype.is_bool() || dtype.is_integer()) return float64;
    return dtype;
}

}  // namespace tessera
