// Counter-based random numbers: Random123's known answers, the documented stream layout as a
// closed form, bitwise invariance under chunking / scheduler / fusion, and statistics.
#include "array/simd.hpp"  // first: silences GCC 12's false AVX-512 warnings in xtensor

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <set>
#include <vector>

#include "array/philox.hpp"
#include "helpers.hpp"

using namespace elem_test;
using ts::NDArray;
namespace tr = ts::random;

namespace {

// The two 64-bit words of pair k from the scalar reference generator.
std::pair<std::uint64_t, std::uint64_t> words(std::uint64_t seed, std::uint32_t tag, std::uint64_t k) {
    std::uint32_t ctr[4] = {static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(k >> 32), tag, 0};
    const std::uint32_t key[2] = {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
    ts::detail::philox4x32_10(ctr, key);
    return {(std::uint64_t{ctr[1]} << 32) | ctr[0], (std::uint64_t{ctr[3]} << 32) | ctr[2]};
}

std::uint64_t word(std::uint64_t seed, std::uint32_t tag, std::int64_t i) {
    auto [w0, w1] = words(seed, tag, static_cast<std::uint64_t>(i) >> 1);
    return (i & 1) ? w1 : w0;
}

}  // namespace

TEST_CASE("Philox4x32-10 reproduces Random123's known-answer vectors") {
    struct Kat {
        std::uint32_t ctr[4], key[2], out[4];
    };
    const Kat kats[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (const Kat& kat : kats) {
        std::uint32_t ctr[4] = {kat.ctr[0], kat.ctr[1], kat.ctr[2], kat.ctr[3]};
        ts::detail::philox4x32_10(ctr, kat.key);
        for (int w = 0; w < 4; ++w) CHECK(ctr[w] == kat.out[w]);
    }
    // The vectorized lanes agree with the scalar reference (tag 0 = uniform stream).
    std::vector<std::uint64_t> pairs(ts::detail::kPhiloxLanes), w0(pairs.size()), w1(pairs.size());
    for (std::size_t l = 0; l < pairs.size(); ++l) pairs[l] = (std::uint64_t{l} * 0x9E3779B97F4A7C15ull) >> 7;
    const std::uint64_t seed = 0x299f31d0a4093822ull;
    ts::detail::philox_words(seed, ts::detail::RandomKind::Uniform, pairs.data(), ts::detail::kPhiloxLanes,
                             w0.data(), w1.data());
    for (std::size_t l = 0; l < pairs.size(); ++l) {
        auto [r0, r1] = words(seed, 0, pairs[l]);
        CHECK(w0[l] == r0);
        CHECK(w1[l] == r1);
    }
    ts::detail::philox_words(0, ts::detail::RandomKind::Uniform, pairs.data(), 1, w0.data(), w1.data());
    CHECK(w0[0] == 0xe169c58d6627e8d5ull);
}

TEST_CASE("the stream layout of philox.hpp, as a closed form") {
    const std::uint64_t seed = 12345;
    const std::int64_t n = 301;
    const NDArray u = compute_all(tr::random({n}, {.chunks = 37, .seed = seed}));
    const NDArray u32 = compute_all(tr::random({n}, {.chunks = 50, .seed = seed, .dtype = ts::float32}));
    const NDArray g = compute_all(tr::normal(1.0, 3.0, {n}, {.chunks = 64, .seed = seed}));
    const NDArray k = compute_all(tr::integers(-5, 1000, {n}, {.chunks = 7, .seed = seed}));
    const double two_pi = 2 * ts::pi;
    for (std::int64_t i = 0; i < n; ++i) {
        INFO(i);
        CHECK(u.at<double>({i}) == static_cast<double>(word(seed, 0, i) >> 11) * 0x1p-53);
        CHECK(u32.at<float>({i}) == static_cast<float>(static_cast<double>(word(seed, 0, i) >> 40) * 0x1p-24));
        CHECK(k.at<std::int64_t>({i}) ==
              -5 + static_cast<std::int64_t>((static_cast<unsigned __int128>(word(seed, 2, i)) * 1005) >> 64));
        auto [w0, w1] = words(seed, 1, static_cast<std::uint64_t>(i) >> 1);
        const double r = std::sqrt(-2 * std::log(1 - static_cast<double>(w0 >> 11) * 0x1p-53));
        const double t = two_pi * (static_cast<double>(w1 >> 11) * 0x1p-53);
        const double z = (i & 1) ? r * std::sin(t) : r * std::cos(t);
        CHECK(std::abs(g.at<double>({i}) - (1.0 + 3.0 * z)) <= 1e-13 * (1 + std::abs(z)));
    }
}

TEST_CASE("random values do not depend on the chunking, scheduler or fusion" * doctest::timeout(60)) {
    const ts::Shape shape{37, 23};
    const std::vector<std::function<ts::Array(const ts::ChunkSpec&)>> makers = {
        [&](auto& c) { return tr::random(shape, {.chunks = c, .seed = 1}); },
        [&](auto& c) { return tr::uniform(-2, 5, shape, {.chunks = c, .seed = 2}); },
        [&](auto& c) { return tr::normal(0, 1, shape, {.chunks = c, .seed = 3}); },
        [&](auto& c) { return tr::normal(0, 1, shape, {.chunks = c, .seed = 3, .dtype = ts::float32}); },
        [&](auto& c) { return tr::integers(0, 10, shape, {.chunks = c, .seed = 4, .dtype = ts::uint8}); },
        [&](auto& c) { return tr::integers(-(std::int64_t{1} << 62), std::int64_t{1} << 62, shape, {.chunks = c, .seed = 5}); },
    };
    for (std::size_t m = 0; m < makers.size(); ++m) {
        NDArray first;
        for (const auto& [label, spec] : chunkings(shape)) {
            INFO("maker " << m << " " << label);
            const NDArray r = compute_all(makers[m](spec));
            if (first.size() == 0) first = r;
            else CHECK(r.equals(first, false));
            // Fused into arithmetic, the same values come out.
            if (r.dtype().is_floating())
                CHECK(compute_all(makers[m](spec) * 1.0).equals(r, false));
        }
    }
    // A value depends only on (seed, flat index): a 1-d prefix is the same.
    const NDArray small = compute_all(tr::normal(0, 1, {10}, {.seed = 9}));
    const NDArray large = compute_all(tr::normal(0, 1, {1000}, {.chunks = 3, .seed = 9}));
    CHECK(small.equals(large.slice(0, 0, 10), false));
    CHECK(!compute_all(tr::normal(0, 1, {10}, {.seed = 10})).equals(small));
    CHECK(!compute_all(tr::random({10}, {.seed = 9})).equals(compute_all(tr::uniform(0, 1, {10}, {.seed = 8}))));
}

TEST_CASE("normal and uniform statistics over 10^6 values" * doctest::timeout(60)) {
    const std::int64_t n = 1'000'000;
    const NDArray g = tr::normal(1.0, 2.0, {n}, {.chunks = 1 << 17, .seed = 42}).compute();
    double sum = 0, sq = 0;
    for (std::int64_t i = 0; i < n; ++i) sum += g.data<double>()[i];
    const double mean = sum / n;
    for (std::int64_t i = 0; i < n; ++i) sq += (g.data<double>()[i] - mean) * (g.data<double>()[i] - mean);
    const double sd = std::sqrt(sq / n);
    CHECK(std::abs(mean - 1.0) < 5 * 2.0 / std::sqrt(double(n)));
    CHECK(std::abs(sd - 2.0) < 5 * 2.0 / std::sqrt(2.0 * n));
    // Tail mass beyond 3 sigma: 0.26998 %.
    std::int64_t tail = 0;
    for (std::int64_t i = 0; i < n; ++i) tail += std::abs(g.data<double>()[i] - 1.0) > 6.0;
    CHECK(std::abs(tail / double(n) - 0.0026998) < 5 * std::sqrt(0.0027 / n));

    for (ts::DType dtype : {ts::float64, ts::float32}) {
        const NDArray u = tr::random({n}, {.chunks = 100'000, .seed = 7, .dtype = dtype}).compute().astype(ts::float64);
        const double* p = u.data<double>();
        CHECK(*std::min_element(p, p + n) >= 0.0);
        CHECK(*std::max_element(p, p + n) < 1.0);
        double s = 0;
        for (std::int64_t i = 0; i < n; ++i) s += p[i];
        CHECK(std::abs(s / n - 0.5) < 5 * std::sqrt(1.0 / 12 / n));
    }
    const NDArray v = tr::uniform(-3, -1, {1000}, {.seed = 1}).compute();
    for (std::int64_t i = 0; i < 1000; ++i) CHECK((v.at<double>({i}) >= -3 && v.at<double>({i}) < -1));
}

TEST_CASE("integers: range, every value, mean, dtypes" * doctest::timeout(60)) {
    const std::int64_t n = 100'000;
    const NDArray k = tr::integers(-3, 4, {n}, {.chunks = 9999, .seed = 11, .dtype = ts::int8}).compute();
    CHECK(k.dtype() == ts::int8);
    std::set<int> seen;
    double sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        const int x = k.data<std::int8_t>()[i];
        CHECK((x >= -3 && x < 4));
        seen.insert(x);
        sum += x;
    }
    CHECK(seen.size() == 7);
    CHECK(std::abs(sum / n) < 5 * 2.0 / std::sqrt(double(n)));  // mean 0, variance (7^2 - 1) / 12
    CHECK(tr::integers(0, 2, {3}).dtype() == ts::int64);
    // Options{} says float64, which integers() reads as "unset": int64.
    CHECK(tr::integers(0, 2, {3}, {.seed = 1}).dtype() == ts::int64);
    const NDArray b = compute_all(tr::integers(0, 2, {50}, {.seed = 3, .dtype = ts::bool_}));
    CHECK(b.dtype() == ts::bool_);
    const NDArray u = compute_all(tr::integers(0, std::numeric_limits<std::int64_t>::max(), {50}, {.dtype = ts::uint64}));
    CHECK(u.dtype() == ts::uint64);
}

TEST_CASE("random sources broadcast inside fused programs") {
    const ts::Array col = tr::random({4, 1}, {.chunks = 3, .seed = 5});
    const NDArray c = compute_all(col);
    const NDArray r = compute_all(col + ts::zeros({4, 5}, {.chunks = {2, 2}}));
    for (std::int64_t i = 0; i < 4; ++i)
        for (std::int64_t j = 0; j < 5; ++j) CHECK(r.at<double>({i, j}) == c.at<double>({i, 0}));
    // Fused: one task per block, no separate random tasks.
    const ts::Array y = tr::normal(0, 1, {100}, {.chunks = 10, .seed = 1}) * 2 + 1;
    CHECK(y.graph().size() == 10);
}

TEST_CASE("random: argument errors") {
    CHECK_THROWS_WITH_AS(tr::normal(0, 1, {3}, {.dtype = ts::int32}),
                         "random.normal: dtype int32 is not supported (float32 or float64)", ts::DTypeError);
    CHECK_THROWS_WITH_AS(tr::random({3}, {.dtype = ts::int32}),
                         "random.random: dtype int32 is not supported (float32 or float64)", ts::DTypeError);
    CHECK_THROWS_WITH_AS(tr::normal(0, -1, {3}), "random.normal: scale -1 < 0", ts::ValueError);
    CHECK_THROWS_WITH_AS(tr::integers(5, 5, {3}), "random.integers: low 5 >= high 5", ts::ValueError);
    CHECK_THROWS_WITH_AS(tr::integers(0, 300, {3}, {.dtype = ts::uint8}),
                         "random.integers: [0, 300) is out of bounds for uint8", ts::ValueError);
    CHECK_THROWS_WITH_AS(tr::integers(0, 3, {3}, {.dtype = ts::float32}),
                         "random.integers: dtype float32 is not supported (integer dtypes only)",
                         ts::DTypeError);
}
