#pragma once
// Internal: runtime dtype → C++ element type dispatch, and the element conversions every kernel
// shares (NumPy astype semantics with defined results where C++ would have undefined behaviour).
//
//     visit_dtype(a.dtype(), [&](auto tag) {
//         using T = typename decltype(tag)::type;
//         const T* p = a.data<T>();
//         ...
//     });

#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>
#include <utility>

#include "tessera/dtype.hpp"
#include "tessera/error.hpp"

namespace tessera {

template <class T>
struct is_complex : std::false_type {};
template <class T>
struct is_complex<std::complex<T>> : std::true_type {};
template <class T>
inline constexpr bool is_complex_v = is_complex<T>::value;

/// Calls `f(std::type_identity<T>{})` with T the C++ element type of `dtype` (bool, std::int8_t,
/// ..., double, std::complex<double>) and returns what f returns (the same type for every T).
template <class F>
decltype(auto) visit_dtype(DType dtype, F&& f) {
    switch (dtype.id()) {
        case DTypeId::Bool: return std::forward<F>(f)(std::type_identity<bool>{});
        case DTypeId::Int8: return std::forward<F>(f)(std::type_identity<std::int8_t>{});
        case DTypeId::Int16: return std::forward<F>(f)(std::type_identity<std::int16_t>{});
        case DTypeId::Int32: return std::forward<F>(f)(std::type_identity<std::int32_t>{});
        case DTypeId::Int64: return std::forward<F>(f)(std::type_identity<std::int64_t>{});
        case DTypeId::UInt8: return std::forward<F>(f)(std::type_identity<std::uint8_t>{});
        case DTypeId::UInt16: return std::forward<F>(f)(std::type_identity<std::uint16_t>{});
        case DTypeId::UInt32: return std::forward<F>(f)(std::type_identity<std::uint32_t>{});
        case DTypeId::UInt64: return std::forward<F>(f)(std::type_identity<std::uint64_t>{});
        case DTypeId::Float32: return std::forward<F>(f)(std::type_identity<float>{});
        case DTypeId::Float64: return std::forward<F>(f)(std::type_identity<double>{});
        case DTypeId::Complex64: return std::forward<F>(f)(std::type_identity<std::complex<float>>{});
        case DTypeId::Complex128:
            return std::forward<F>(f)(std::type_identity<std::complex<double>>{});
    }
    ::tessera::detail::assertion_failed("valid DTypeId", "corrupt dtype tag", __FILE__, __LINE__);
}

/// Like visit_dtype for bool, integer and floating dtypes; throws DTypeError
/// ("complex dtype complex64 is not supported by <what>") for complex ones, whose instantiations
/// of `f` are never compiled.
template <class F>
decltype(auto) visit_real_dtype(DType dtype, std::string_view what, F&& f) {
    switch (dtype.id()) {
        case DTypeId::Complex64:
        case DTypeId::Complex128:
            throw DTypeError("complex dtype {} is not supported by {}", dtype.name(), what);
        case DTypeId::Bool: return std::forward<F>(f)(std::type_identity<bool>{});
        case DTypeId::Int8: return std::forward<F>(f)(std::type_identity<std::int8_t>{});
        case DTypeId::Int16: return std::forward<F>(f)(std::type_identity<std::int16_t>{});
        case DTypeId::Int32: return std::forward<F>(f)(std::type_identity<std::int32_t>{});
        case DTypeId::Int64: return std::forward<F>(f)(std::type_identity<std::int64_t>{});
        case DTypeId::UInt8: return std::forward<F>(f)(std::type_identity<std::uint8_t>{});
        case DTypeId::UInt16: return std::forward<F>(f)(std::type_identity<std::uint16_t>{});
        case DTypeId::UInt32: return std::forward<F>(f)(std::type_identity<std::uint32_t>{});
        case DTypeId::UInt64: return std::forward<F>(f)(std::type_identity<std::uint64_t>{});
        case DTypeId::Float32: return std::forward<F>(f)(std::type_identity<float>{});
        case DTypeId::Float64: return std::forward<F>(f)(std::type_identity<double>{});
    }
    ::tessera::detail::assertion_failed("valid DTypeId", "corrupt dtype tag", __FILE__, __LINE__);
}

namespace detail {

// Float → integer with the results NumPy gives on x86-64 (SSE2 cvttsd2si), without C++'s
// undefined behaviour: NaN, ±inf and out-of-range values become the "integer indefinite" value
// INT_MIN of the 32- or 64-bit conversion, which narrower types then truncate modulo 2^N.
inline std::int64_t float_to_i64(double x) {
    constexpr double two63 = 9223372036854775808.0;
    if (!(x >= -two63 && x < two63)) return std::numeric_limits<std::int64_t>::min();
    return static_cast<std::int64_t>(x);
}
inline std::int32_t float_to_i32(double x) {
    constexpr double two31 = 2147483648.0;
    if (!(x > -two31 - 1.0 && x < two31)) return std::numeric_limits<std::int32_t>::min();
    return static_cast<std::int32_t>(x);
}
inline std::uint64_t float_to_u64(double x) {
    constexpr double two63 = 9223372036854775808.0;
    constexpr double two64 = 18446744073709551616.0;
    // [2^63, 2^64) is representable only as unsigned; everything else behaves like int64
    // (NaN, inf and out of range give 2^63, negative values wrap modulo 2^64 as on x86).
    if (x >= two63 && x < two64)
        return static_cast<std::uint64_t>(static_cast<std::int64_t>(x - two63)) + (std::uint64_t{1} << 63);
    return static_cast<std::uint64_t>(float_to_i64(x));
}

template <class To>
To float_to_int(double x) {
    if constexpr (std::is_same_v<To, std::int64_t>) return float_to_i64(x);
    else if constexpr (std::is_same_v<To, std::uint64_t>) return float_to_u64(x);
    else if constexpr (std::is_same_v<To, std::uint32_t>) return static_cast<To>(float_to_i64(x));
    else return static_cast<To>(float_to_i32(x));  // int8/16/32, uint8/16
}

}  // namespace detail

/// Converts one element like NumPy's astype (unsafe casting): to bool is `x != 0`, complex to
/// real takes the real part, integers wrap modulo 2^N, float to integer truncates and maps NaN,
/// inf and out-of-range values to the x86 results (see detail::float_to_int).
template <class To, class From>
inline To element_cast(From v) {
    if constexpr (std::is_same_v<To, From>) {
        return v;
    } else if constexpr (std::is_same_v<To, bool>) {
        return v != From(0);
    } else if constexpr (is_complex_v<From>) {
        if constexpr (is_complex_v<To>) {
            using R = typename To::value_type;
            return To(static_cast<R>(v.real()), static_cast<R>(v.imag()));
        } else {
            return element_cast<To>(v.real());
        }
    } else if constexpr (is_complex_v<To>) {
        using R = typename To::value_type;
        return To(element_cast<R>(v), R(0));
    } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
        return detail::float_to_int<To>(static_cast<double>(v));
    } else {
        return static_cast<To>(v);
    }
}

/// The storage type Scalar uses for an element type T.
template <class T>
using scalar_storage_t = std::conditional_t<
    std::is_same_v<T, bool>, bool,
    std::conditional_t<is_complex_v<T>, std::complex<double>,
                       std::conditional_t<std::is_floating_point_v<T>, double,
                                          std::conditional_t<std::is_signed_v<T>, std::int64_t,
                                                             std::uint64_t>>>>;

/// A strongly typed Scalar holding element `v` of dtype dtype_of<T>().
template <Element T>
inline Scalar to_scalar(T v) {
    return Scalar(Scalar::Storage(static_cast<scalar_storage_t<T>>(v)), dtype_of<T>());
}

/// `s` converted to element type T with element_cast semantics.
template <class T>
inline T from_scalar(const Scalar& s) {
    return std::visit([](auto v) { return element_cast<T>(v); }, s.storage());
}

}  // namespace tessera
