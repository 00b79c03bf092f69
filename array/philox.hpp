#pragma once
// Internal: the Philox4x32-10 counter-based generator (Salmon et al., "Parallel random numbers:
// as easy as 1, 2, 3", SC'11; constants and round structure of Random123) and the random
// sources of fused programs.
//
// Tessera's streams: the element at global C-order flat index i of a random array with seed s
// belongs to the pair k = i / 2. Philox is called once per pair with
//     counter = (low32(k), high32(k), stream tag, 0),  key = (low32(s), high32(s))
// and its 128 output bits are two 64-bit words w0 = x1:x0 (element 2k) and w1 = x3:x2 (element
// 2k + 1). Every value is therefore a pure function of (seed, kind, i): the chunking, the
// scheduler and the thread count never change a single bit.
//   uniform   u = (w >> 11) * 2^-53 in [0, 1) (53 bits); for float32 output (w >> 40) * 2^-24,
//             so the float64 value converts exactly and float32 results stay below 1.
//             uniform(low, high) = low + (high - low) * u, computed in float64 and then cast.
//   normal    Box-Muller on the pair: u1 from w0, u2 from w1, r = sqrt(-2 log(1 - u1)),
//             t = 2 pi u2; element 2k = loc + scale r cos t, element 2k + 1 = loc + scale r sin t.
//             Computed in float64 with xsimd (whole batches only, so a value never depends on
//             where in a batch it falls); float32 output is the rounded float64 value.
//   integers  low + floor(w * range / 2^64) (Lemire's multiply-shift without rejection): the
//             bias is at most range / 2^64 (< 2.4e-10 for any range below 2^32).

#include <cstdint>

namespace tessera::detail {

/// Stream tags (the third counter word): different kinds never share random bits.
enum class RandomKind : std::uint8_t { Uniform = 0, Normal = 1, Integers = 2 };

/// Lanes processed per call of the vectorized generator.
inline constexpr int kPhiloxLanes = 64;

/// One Philox4x32-10 block (scalar reference, used by tests).
inline void philox4x32_10(std::uint32_t ctr[4], const std::uint32_t key_in[2]) {
    constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
    constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
    std::uint32_t k0 = key_in[0], k1 = key_in[1];
    for (int round = 0; round < 10; ++round) {
        const std::uint64_t p0 = std::uint64_t{kM0} * ctr[0];
        const std::uint64_t p1 = std::uint64_t{kM1} * ctr[2];
        const std::uint32_t x0 = static_cast<std::uint32_t>(p1 >> 32) ^ ctr[1] ^ k0;
        const std::uint32_t x1 = static_cast<std::uint32_t>(p1);
        const std::uint32_t x2 = static_cast<std::uint32_t>(p0 >> 32) ^ ctr[3] ^ k1;
        const std::uint32_t x3 = static_cast<std::uint32_t>(p0);
        ctr[0] = x0, ctr[1] = x1, ctr[2] = x2, ctr[3] = x3;
        k0 += kW0, k1 += kW1;
    }
}

/// The two 64-bit words of pair counters pair[0..n) (n <= kPhiloxLanes) for `seed` and `kind`.
/// Plain lane loops that the compiler vectorizes (32x32→64 multiplies on every lane).
void philox_words(std::uint64_t seed, RandomKind kind, const std::uint64_t* pair, int n,
                  std::uint64_t* w0, std::uint64_t* w1);

/// Parameters of a random source.
struct RandomParams {
    RandomKind kind = RandomKind::Uniform;
    std::uint64_t seed = 0;
    double loc = 0;    // uniform: low;   normal: loc
    double scale = 1;  // uniform: high - low;  normal: scale
    int bits = 53;     // uniform: 53 (float64) or 24 (float32)
    std::int64_t low = 0;      // integers
    std::uint64_t range = 1;   // integers: high - low (as unsigned)
};

/// Values of the elements at global flat indices first + k * stride (k < n) as float64
/// (uniform, normal) into `out_f`, or as int64 (integers) into `out_i`; the other pointer may be
/// null.
void random_values(const RandomParams& params, std::int64_t first, std::int64_t stride,
                   std::int64_t n, double* out_f, std::int64_t* out_i);

/// The values at global flat indices first + c * ld + b for c < cols and b in {0, 1}, into
/// row b of `out_f` (float64) or `out_i` (int64), each row `cols` long; first and ld must be even,
/// so elements (c, 0) and (c, 1) are one Philox pair and one call yields both rows (a transposed
/// read of a random array costs what a contiguous one does).
void random_band2(const RandomParams& params, std::int64_t first, std::int64_t ld, std::int64_t cols,
                  double* out_f, std::int64_t* out_i);

}  // namespace tessera::detail
