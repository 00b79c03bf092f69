#pragma once
// Internal: xsimd for the elementwise kernels. GCC 12 reports a false -W(maybe-)uninitialized
// inside its own AVX-512 intrinsics (_mm512_undefined_*, GCC bug 105593) wherever they are
// inlined; the intrinsics headers are included here first, with that warning off for them.
// Include this header before any other that may include <immintrin.h>.

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#include <xsimd/xsimd.hpp>
#pragma GCC diagnostic pop

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

namespace tessera::detail {

/// out[k] = f(in[k]) over whole xsimd batches; a short tail is padded with ones, so a value
/// never depends on its position in a tile.
template <class T, class F>
void simd_map(const T* in, T* out, std::int64_t n, F f) {
    using B = xsimd::batch<T>;
    constexpr auto width = static_cast<std::int64_t>(B::size);
    std::int64_t k = 0;
    for (; k + width <= n; k += width) f(B::load_unaligned(in + k)).store_unaligned(out + k);
    if (k < n) {
        alignas(64) std::array<T, B::size> tmp;
        tmp.fill(T(1));
        std::copy(in + k, in + n, tmp.begin());
        f(B::load_aligned(tmp.data())).store_aligned(tmp.data());
        std::copy(tmp.begin(), tmp.begin() + (n - k), out + k);
    }
}

/// simd_map, except that subnormal inputs are computed by `scalar` (libm) instead: xsimd's
/// logarithms and cbrt lose them. The choice is made per element, so a value still never
/// depends on its neighbours.
template <class T, class F, class S>
void simd_map_checked(const T* in, T* out, std::int64_t n, F f, S scalar) {
    using B = xsimd::batch<T>;
    constexpr auto width = static_cast<std::int64_t>(B::size);
    const B tiny(std::numeric_limits<T>::min());
    auto one = [&](const B& x, T* dst) {
        const auto subnormal = (xsimd::abs(x) < tiny) & (x != B(T(0)));
        f(x).store_unaligned(dst);
        if (xsimd::any(subnormal)) {
            alignas(64) std::array<T, B::size> values;
            x.store_aligned(values.data());
            for (std::size_t lane = 0; lane < B::size; ++lane)
                if (values[lane] != T(0) && std::abs(values[lane]) < std::numeric_limits<T>::min())
                    dst[lane] = scalar(values[lane]);
        }
    };
    std::int64_t k = 0;
    for (; k + width <= n; k += width) one(B::load_unaligned(in + k), out + k);
    if (k < n) {
        alignas(64) std::array<T, B::size> tmp, res;
        tmp.fill(T(1));
        std::copy(in + k, in + n, tmp.begin());
        one(B::load_aligned(tmp.data()), res.data());
        std::copy(res.begin(), res.begin() + (n - k), out + k);
    }
}

}  // namespace tessera::detail
