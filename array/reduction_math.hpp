#pragma once
// Internal: element arithmetic shared by the reduction kernels (array/reduction_chunk.cpp,
// array/reduction_kernels.cpp): accumulator types, wrapping integer arithmetic, NaN tests and
// NumPy's pairwise summation.

#include <cmath>
#include <complex>
#include <cstdint>
#include <type_traits>

#include "array/reduction_kernels.hpp"
#include "src/dispatch.hpp"

namespace tessera::detail::rmath {

template <class T>
bool is_nan(T x) {
    if constexpr (std::is_floating_point_v<T>) return std::isnan(x);
    else if constexpr (is_complex_v<T>) return std::isnan(x.real()) || std::isnan(x.imag());
    else return false;
}

/// NumPy's accumulator for sums of T: int64, uint64, float64 or complex128.
template <class T>
using natural_acc_t = std::conditional_t<
    is_complex_v<T>, std::complex<double>,
    std::conditional_t<std::is_floating_point_v<T>, double,
                       std::conditional_t<std::is_unsigned_v<T> && !std::is_same_v<T, bool>,
                                          std::uint64_t, std::int64_t>>>;
/// Accumulator of means and variances: float64, or complex128 for complex input.
template <class T>
using real_acc_t = std::conditional_t<is_complex_v<T>, std::complex<double>, double>;

template <class A, class T>
A to_acc(T x) {
    if constexpr (is_complex_v<A> && !is_complex_v<T>) return A(static_cast<double>(x), 0.0);
    else return static_cast<A>(x);
}

// Integer accumulation wraps modulo 2^64 like NumPy (no signed-overflow UB).
template <class A>
A acc_add(A a, A b) {
    if constexpr (std::is_integral_v<A>)
        return static_cast<A>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
    else return a + b;
}
template <class A>
A acc_mul(A a, A b) {
    if constexpr (std::is_integral_v<A>)
        return static_cast<A>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
    else return a * b;
}

inline double abs2(double x) { return x * x; }
inline double abs2(std::complex<double> x) { return x.real() * x.real() + x.imag() * x.imag(); }

inline bool skips_nan(ReduceKind k) {
    return k == ReduceKind::NanSum || k == ReduceKind::NanMean || k == ReduceKind::NanVar ||
           k == ReduceKind::NanStd || k == ReduceKind::NanMin || k == ReduceKind::NanMax;
}

/// NumPy's pairwise summation of f(a[i]): 8 accumulators up to 128 elements, halves above.
template <class A, class T, class F>
A pairwise_sum(const T* a, std::int64_t n, const F& f) {
    if (n < 8) {
        A res = A(0);
        for (std::int64_t i = 0; i < n; ++i) res += f(a[i]);
        return res;
    }
    if (n <= 128) {
        A r[8];
        for (int k = 0; k < 8; ++k) r[k] = f(a[k]);
        std::int64_t i = 8;
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; ++k) r[k] += f(a[i + k]);
        A res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) res += f(a[i]);
        return res;
    }
    std::int64_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum<A>(a, n2, f) + pairwise_sum<A>(a + n2, n - n2, f);
}

/// The min/max merge: NaN propagates (min, max) or is skipped (nanmin, nanmax; NaN then also
/// means "no value yet").
template <class T>
T pick(T acc, T v, bool is_max, bool skip_nan) {
    if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(acc)) return skip_nan ? v : acc;
        if (std::isnan(v)) return skip_nan ? acc : v;
    }
    return (is_max ? acc < v : v < acc) ? v : acc;
}

}  // namespace tessera::detail::rmath
