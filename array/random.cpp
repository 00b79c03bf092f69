// Counter-based random arrays (Philox4x32-10; the stream layout is described in
// array/philox.hpp): the generator kernels used by fused programs and ts::random::*.
#include "array/simd.hpp"  // first: see there

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>


#include "array/elementwise.hpp"
#include "array/philox.hpp"
#include "src/dispatch.hpp"
#include "tessera/array.hpp"
#include "tessera/error.hpp"

namespace tessera {
namespace detail {

void philox_words(std::uint64_t seed, RandomKind kind, const std::uint64_t* pair, int n,
                  std::uint64_t* w0, std::uint64_t* w1) {
    constexpr std::uint64_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kLow = 0xFFFFFFFFu;
    constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
    // The round keys (the Weyl sequence wraps at 32 bits).
    std::uint64_t key0[10], key1[10];
    auto k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
    for (int round = 0; round < 10; ++round, k0 += kW0, k1 += kW1) key0[round] = k0, key1[round] = k1;
    const auto tag = static_cast<std::uint64_t>(kind);
    // One lane per counter, each 32-bit word held in a 64-bit lane: the products are then
    // vpmuludq on whole lanes (no packing shuffles), and since vpmuludq reads only the low 32
    // bits, the high halves left in c0..c3 are masked once at the end instead of every round.
    for (int lane = 0; lane < n; ++lane) {
        std::uint64_t c0 = pair[lane] & kLow, c1 = pair[lane] >> 32, c2 = tag, c3 = 0;
#pragma GCC unroll 10
        for (int round = 0; round < 10; ++round) {
            const std::uint64_t p0 = kM0 * (c0 & kLow);
            const std::uint64_t p1 = kM1 * (c2 & kLow);
            c0 = (p1 >> 32) ^ c1 ^ key0[round];
            c2 = (p0 >> 32) ^ c3 ^ key1[round];
            c1 = p1;
            c3 = p0;
        }
        w0[lane] = (c1 << 32) | (c0 & kLow);
        w1[lane] = (c3 << 32) | (c2 & kLow);
    }
}

namespace {

using Lanes64 = std::array<std::uint64_t, kPhiloxLanes>;
using LanesF = std::array<double, kPhiloxLanes>;

// The two values of every pair lane. Always all kPhiloxLanes lanes through the same code, so
// a value does not depend on which lanes its neighbours occupy. Not inlined: every caller runs
// exactly the same instructions.
[[gnu::noinline]] void pair_values(const RandomParams& p, const Lanes64& pair, LanesF& v0,
                                   LanesF& v1, Lanes64& i0, Lanes64& i1) {
    Lanes64 w0, w1;
    philox_words(p.seed, p.kind, pair.data(), kPhiloxLanes, w0.data(), w1.data());
    switch (p.kind) {
        case RandomKind::Uniform: {
            const int shift = 64 - p.bits;
            const double unit = std::ldexp(1.0, -p.bits);
            for (int l = 0; l < kPhiloxLanes; ++l) {
                v0[l] = p.loc + p.scale * (static_cast<double>(w0[l] >> shift) * unit);
                v1[l] = p.loc + p.scale * (static_cast<double>(w1[l] >> shift) * unit);
            }
            break;
        }
        case RandomKind::Normal: {
            using B = xsimd::batch<double>;
            constexpr double unit = 0x1p-53;
            constexpr double two_pi = 6.283185307179586476925286766559;
            static_assert(kPhiloxLanes % B::size == 0);
            LanesF u1, u2;
            for (int l = 0; l < kPhiloxLanes; ++l) {
                u1[l] = 1.0 - static_cast<double>(w0[l] >> 11) * unit;  // (0, 1]
                u2[l] = static_cast<double>(w1[l] >> 11) * unit;
            }
            for (std::size_t l = 0; l < kPhiloxLanes; l += B::size) {
                const B r = xsimd::sqrt(B(-2.0) * xsimd::log(B::load_unaligned(&u1[l])));
                const auto [s, c] = xsimd::sincos(B(two_pi) * B::load_unaligned(&u2[l]));
                (B(p.loc) + B(p.scale) * (r * c)).store_unaligned(&v0[l]);
                (B(p.loc) + B(p.scale) * (r * s)).store_unaligned(&v1[l]);
            }
            break;
        }
        case RandomKind::Integers:
            for (int l = 0; l < kPhiloxLanes; ++l) {
                i0[l] = static_cast<std::uint64_t>(p.low) +
                        static_cast<std::uint64_t>((static_cast<unsigned __int128>(w0[l]) * p.range) >> 64);
                i1[l] = static_cast<std::uint64_t>(p.low) +
                        static_cast<std::uint64_t>((static_cast<unsigned __int128>(w1[l]) * p.range) >> 64);
            }
            break;
    }
}

}  // namespace

namespace {

// Stores the values of pair lanes [0, lanes) of the pairs starting at pair kb into the
// consecutive elements [first, first + n) of `out` (the first and last pair may be cut).
template <class T, class V>
void store_pairs(T* out, std::int64_t first, std::int64_t n, std::int64_t kb, std::int64_t lanes,
                 const V& v0, const V& v1) {
    std::int64_t base = 2 * kb - first;  // element of lane 0's first value
    if (base >= 0 && base + 2 * lanes <= n) {  // every value lands: no bounds per element
        T* __restrict dst = out + base;
        for (std::int64_t l = 0; l < lanes; ++l) {
            dst[2 * l] = static_cast<T>(v0[static_cast<std::size_t>(l)]);
            dst[2 * l + 1] = static_cast<T>(v1[static_cast<std::size_t>(l)]);
        }
        return;
    }
    std::int64_t l = 0;
    if (base < 0) {  // the range starts at an odd element
        out[base + 1] = static_cast<T>(v1[0]);
        l = 1;
    }
    for (; l < lanes && base + 2 * l + 1 < n; ++l) {
        out[base + 2 * l] = static_cast<T>(v0[static_cast<std::size_t>(l)]);
        out[base + 2 * l + 1] = static_cast<T>(v1[static_cast<std::size_t>(l)]);
    }
    if (l < lanes) out[base + 2 * l] = static_cast<T>(v0[static_cast<std::size_t>(l)]);  // ends even
}

}  // namespace

void random_values(const RandomParams& p, std::int64_t first, std::int64_t stride, std::int64_t n,
                   double* out_f, std::int64_t* out_i) {
    Lanes64 pair{}, i0, i1;
    LanesF v0, v1;
    if (n <= 0) return;
    if (stride == 1) {
        // Consecutive elements: each Philox call yields two of them.
        const std::int64_t k_first = first >> 1, k_last = (first + n - 1) >> 1;
        for (std::int64_t kb = k_first; kb <= k_last; kb += kPhiloxLanes) {
            for (std::size_t l = 0; l < kPhiloxLanes; ++l)
                pair[l] = static_cast<std::uint64_t>(kb) + l;
            pair_values(p, pair, v0, v1, i0, i1);
            const std::int64_t lanes = std::min<std::int64_t>(kPhiloxLanes, k_last - kb + 1);
            if (out_i != nullptr) store_pairs(out_i, first, n, kb, lanes, i0, i1);
            else store_pairs(out_f, first, n, kb, lanes, v0, v1);
        }
        return;
    }
    // Strided or broadcast elements: one lane per element.
    for (std::int64_t done = 0; done < n; done += kPhiloxLanes) {
        const std::int64_t lanes = std::min<std::int64_t>(kPhiloxLanes, n - done);
        for (std::int64_t l = 0; l < lanes; ++l)
            pair[static_cast<std::size_t>(l)] = static_cast<std::uint64_t>((first + (done + l) * stride) >> 1);
        pair_values(p, pair, v0, v1, i0, i1);
        for (std::int64_t l = 0; l < lanes; ++l) {
            const auto lane = static_cast<std::size_t>(l);
            const bool odd = ((first + (done + l) * stride) & 1) != 0;
            if (out_i != nullptr) out_i[done + l] = static_cast<std::int64_t>(odd ? i1[lane] : i0[lane]);
            else out_f[done + l] = odd ? v1[lane] : v0[lane];
        }
    }
}

void random_band2(const RandomParams& p, std::int64_t first, std::int64_t ld, std::int64_t cols,
                  double* out_f, std::int64_t* out_i) {
    Lanes64 pair{}, i0, i1;
    LanesF v0, v1;
    for (std::int64_t c0 = 0; c0 < cols; c0 += kPhiloxLanes) {
        const std::int64_t lanes = std::min<std::int64_t>(kPhiloxLanes, cols - c0);
        for (std::int64_t l = 0; l < lanes; ++l)
            pair[static_cast<std::size_t>(l)] = static_cast<std::uint64_t>((first + (c0 + l) * ld) >> 1);
        pair_values(p, pair, v0, v1, i0, i1);
        for (std::int64_t l = 0; l < lanes; ++l) {
            const auto lane = static_cast<std::size_t>(l);
            if (out_i != nullptr) {
                out_i[c0 + l] = static_cast<std::int64_t>(i0[lane]);
                out_i[cols + c0 + l] = static_cast<std::int64_t>(i1[lane]);
            } else {
                out_f[c0 + l] = v0[lane];
                out_f[cols + c0 + l] = v1[lane];
            }
        }
    }
}

namespace {

Array random_source(std::string op, const Shape& shape, const random::Options& options,
                    const RandomParams& p) {
    Instr ins;
    ins.code = Code::Random;
    ins.dtype = options.dtype.id();
    ins.u0 = p.seed;
    ins.u1 = p.range;
    ins.f0 = p.loc;
    ins.f1 = p.scale;
    ins.i0 = static_cast<std::int64_t>(p.kind);
    ins.i1 = p.low;
    ins.flag = static_cast<std::uint8_t>(p.bits);
    return make_source(std::move(op), normalize_chunks(options.chunks, shape, options.dtype),
                       std::move(ins));
}

void check_float(const char* fn, DType dtype) {
    if (dtype != float32 && dtype != float64)
        throw DTypeError("random.{}: dtype {} is not supported (float32 or float64)", fn, dtype);
}

Array uniform_impl(const char* op, double low, double high, const Shape& shape,
                   const random::Options& options) {
    check_float(op, options.dtype);
    RandomParams p;
    p.kind = RandomKind::Uniform;
    p.seed = options.seed;
    p.loc = low;
    p.scale = high - low;
    p.bits = options.dtype == float32 ? 24 : 53;
    return random_source(op, shape, options, p);
}

}  // namespace
}  // namespace detail

namespace random {

Array random(const Shape& shape, const Options& options) {
    return detail::uniform_impl("random", 0.0, 1.0, shape, options);
}

Array uniform(double low, double high, const Shape& shape, const Options& options) {
    return detail::uniform_impl("uniform", low, high, shape, options);
}

Array normal(double loc, double scale, const Shape& shape, const Options& options) {
    detail::check_float("normal", options.dtype);
    if (!(scale >= 0)) throw ValueError("random.normal: scale {} < 0", scale);
    detail::RandomParams p;
    p.kind = detail::RandomKind::Normal;
    p.seed = options.seed;
    p.loc = loc;
    p.scale = scale;
    return detail::random_source("normal", shape, options, p);
}

Array integers(std::int64_t low, std::int64_t high, const Shape& shape, const Options& options) {
    // random::Options defaults to float64, which is never an integer dtype: read it as "unset".
    const DType dtype = options.dtype == float64 ? int64 : options.dtype;
    if (!dtype.is_integer() && !dtype.is_bool())
        throw DTypeError("random.integers: dtype {} is not supported (integer dtypes only)", dtype);
    if (low >= high) throw ValueError("random.integers: low {} >= high {}", low, high);
    visit_real_dtype(dtype, "random.integers", [&](auto tag) {
        using T = typename decltype(tag)::type;
        using L = std::numeric_limits<T>;
        const bool ok = std::is_same_v<T, std::uint64_t>
                            ? low >= 0
                            : low >= static_cast<std::int64_t>(L::min()) &&
                                  high - 1 <= static_cast<std::int64_t>(L::max());
        if (!ok)
            throw ValueError("random.integers: [{}, {}) is out of bounds for {}", low, high, dtype);
    });
    detail::RandomParams p;
    p.kind = detail::RandomKind::Integers;
    p.seed = options.seed;
    p.low = low;
    p.range = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
    random::Options opts = options;
    opts.dtype = dtype;
    return detail::random_source("integers", shape, opts, p);
}

}  // namespace random
}  // namespace tessera
