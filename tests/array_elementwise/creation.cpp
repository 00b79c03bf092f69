// Creation functions: full / zeros / ones / empty / *_like, arange and linspace against
// NDArray::full, xtensor and closed-form NumPy values.
#include "array/simd.hpp"  // first: silences GCC 12's false AVX-512 warnings in xtensor

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <xtensor/xbuilder.hpp>

#include "helpers.hpp"

using namespace elem_test;
using ts::NDArray;

namespace {

// x * y + z rounded twice, as NumPy computes it (no FMA contraction).
[[gnu::optimize("fp-contract=off")]] double mul_add(double x, double y, double z) { return x * y + z; }

}  // namespace

TEST_CASE("full, zeros, ones and empty for every real dtype and chunking") {
    const ts::DType dtypes[] = {ts::bool_, ts::int8, ts::uint16, ts::int32, ts::int64,
                                ts::uint64, ts::float32, ts::float64};
    for (const ts::Shape& shape : {ts::Shape{}, ts::Shape{0}, ts::Shape{7, 5}, ts::Shape{3, 1, 4}}) {
        for (const auto& [label, spec] : chunkings(shape)) {
            for (ts::DType dtype : dtypes) {
                INFO(ts::shape_str(shape) << " " << label << " " << dtype);
                const ts::Array f = ts::full(shape, 3, {.chunks = spec, .dtype = dtype});
                CHECK(f.dtype() == dtype);
                CHECK(f.chunks() == ts::normalize_chunks(spec, shape, dtype));
                CHECK(compute_all(f).equals(NDArray::full(dtype, shape, 3)));
                CHECK(compute_all(ts::zeros(shape, {.chunks = spec, .dtype = dtype}))
                          .equals(NDArray::zeros(dtype, shape)));
                CHECK(compute_all(ts::empty(shape, {.chunks = spec, .dtype = dtype}))
                          .equals(NDArray::zeros(dtype, shape)));
                CHECK(compute_all(ts::ones(shape, {.chunks = spec, .dtype = dtype}))
                          .equals(NDArray::full(dtype, shape, 1)));
            }
        }
    }
    // Values are converted like astype; a strongly typed scalar keeps its dtype.
    CHECK(compute_all(ts::full({3}, -1.7, {.dtype = ts::uint8})).equals(NDArray::full(ts::uint8, {3}, -1.7)));
    CHECK(ts::full({2}, ts::Scalar(std::int64_t{3}, ts::int16)).dtype() == ts::int16);
    CHECK(ts::full({2}, 3).dtype() == ts::int64);  // np.full(2, 3).dtype
    CHECK(ts::full({2}, 3.0).dtype() == ts::float64);
    CHECK(compute_all(ts::full({2, 2}, ts::nan)).equals(NDArray::full(ts::float64, {2, 2}, ts::nan)));
}

TEST_CASE("*_like copy shape, chunks and dtype") {
    const ts::Array a = ts::from_array(sample_ints({5, 6}, 1, -3, 3, ts::int16), {{2, 3}, {4, 2}});
    for (const ts::Array& l : {ts::zeros_like(a), ts::ones_like(a), ts::full_like(a, 9)}) {
        CHECK(l.dtype() == ts::int16);
        CHECK(l.chunks() == a.chunks());
    }
    CHECK(compute_all(ts::ones_like(a)).equals(NDArray::full(ts::int16, {5, 6}, 1)));
    CHECK(compute_all(ts::zeros_like(a)).equals(NDArray::zeros(ts::int16, {5, 6})));
    CHECK(compute_all(ts::full_like(a, 9)).equals(NDArray::full(ts::int16, {5, 6}, 9)));
    CHECK(compute_all(a + ts::ones_like(a)).equals(compute_all(a + 1)));
}

TEST_CASE("arange(stop) matches xt::arange for every chunking; fused with arithmetic") {
    for (std::int64_t n : {0, 1, 17, 100}) {
        for (const auto& [label, spec] : chunkings({n})) {
            INFO(n << " " << label);
            const ts::Array a = ts::arange(n, {.chunks = spec, .dtype = ts::int64});
            CHECK(a.dtype() == ts::int64);
            CHECK(a.shape() == ts::Shape{n});
            const xt::xarray<double> ref = xt::arange<double>(0.0, static_cast<double>(n));
            CHECK(same(xd(compute_all(a)), ref));
            CHECK(same(xd(compute_all(a * 2 + 1)), xt::xarray<double>(ref * 2.0 + 1.0)));
        }
    }
    CHECK(ts::arange(-5).shape() == ts::Shape{0});
    CHECK(compute_all(ts::arange(4, {.dtype = ts::float32})).equals(NDArray::from_vector<float>({0, 1, 2, 3})));
    // Exact int64 values beyond 2^53 are not an issue: arange(n) is computed in the dtype.
    const NDArray big = compute_all(ts::arange(std::int64_t{3}, {.dtype = ts::int64}) + (std::int64_t{1} << 60));
    CHECK(big.at<std::int64_t>({2}) == (std::int64_t{1} << 60) + 2);
}

TEST_CASE("arange(start, stop, step): NumPy's length rule and fill rule") {
    // The classic: (1.3 - 1) / 0.1 = 3.0000000000000004, so 4 values; NumPy fills
    // start + i * ((start + step) - start).
    const ts::Array a = ts::arange(1.0, 1.3, 0.1, {.chunks = 3});
    CHECK(a.shape() == ts::Shape{4});
    const double delta = (1.0 + 0.1) - 1.0;
    CHECK(compute_all(a).equals(NDArray::from_vector<double>({1.0, 1.0 + 0.1, 1.0 + 2 * delta, 1.0 + 3 * delta})));
    // Exactly representable steps agree with xtensor.
    for (const auto& [label, spec] : chunkings({20})) {
        INFO(label);
        CHECK(same(xd(compute_all(ts::arange(0, 10, 0.5, {.chunks = spec}))),
                   xt::xarray<double>(xt::arange<double>(0.0, 10.0, 0.5))));
    }
    CHECK(compute_all(ts::arange(5, 0, -1.5)).equals(NDArray::from_vector<double>({5, 3.5, 2, 0.5})));
    CHECK(ts::arange(0, 10, -1).shape() == ts::Shape{0});
    CHECK(ts::arange(3, 3, 1).shape() == ts::Shape{0});
    // Integer dtype: the first two values are converted, then the integer step repeats.
    CHECK(compute_all(ts::arange(0.5, 5, 1, {.dtype = ts::int64}))
              .equals(NDArray::from_vector<std::int64_t>({0, 1, 2, 3, 4})));
    CHECK(compute_all(ts::arange(-1, 2.5, 0.75, {.dtype = ts::int32}))  // firsts -1, 0 (trunc)
              .equals(NDArray::from_vector<std::int32_t>({-1, 0, 1, 2, 3})));
    // Underflowing ratio: 1 value (or none when it points backwards).
    CHECK(ts::arange(0, 1e-300, 1e300).shape() == ts::Shape{1});
    CHECK(ts::arange(0, -1e-300, 1e300).shape() == ts::Shape{0});

    CHECK_THROWS_WITH_AS(ts::arange(0, 10, 0), "arange: step must not be zero", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::arange(0, ts::nan, 1), "arange: cannot compute length", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::arange(0, ts::inf, 1), "arange: overflow while computing length",
                         ts::ValueError);
}

TEST_CASE("linspace: endpoints exact, NumPy values, integer floor") {
    CHECK(compute_all(ts::linspace(0, 1, 5, {.chunks = 2}))
              .equals(NDArray::from_vector<double>({0, 0.25, 0.5, 0.75, 1})));
    CHECK(compute_all(ts::linspace(2, 3, 1)).equals(NDArray::from_vector<double>({2})));
    CHECK(ts::linspace(2, 3, 0).shape() == ts::Shape{0});
    CHECK(compute_all(ts::linspace(0, 10, 4, {.dtype = ts::int64}))
              .equals(NDArray::from_vector<std::int64_t>({0, 3, 6, 10})));
    CHECK(compute_all(ts::linspace(-1, 1, 5, {.dtype = ts::int8}))  // floor(-0.5) = -1
              .equals(NDArray::from_vector<std::int8_t>({-1, -1, 0, 0, 1})));
    for (const auto& [label, spec] : chunkings({50})) {
        INFO(label);
        const NDArray r = compute_all(ts::linspace(2.5, -3.25, 50, {.chunks = spec}));
        CHECK(close(xd(r), xt::xarray<double>(xt::linspace<double>(2.5, -3.25, 50)), 1e-15, 1e-15));
        CHECK(r.at<double>({0}) == 2.5);
        CHECK(r.at<double>({49}) == -3.25);
        // NumPy's formula: i * step + start.
        const double step = (-3.25 - 2.5) / 49;
        for (std::int64_t i = 0; i < 49; ++i) CHECK(r.at<double>({i}) == mul_add(static_cast<double>(i), step, 2.5));
    }
    const ts::Array f = ts::linspace(0, 1, 7, {.dtype = ts::float32});
    CHECK(f.dtype() == ts::float32);
    CHECK(compute_all(f).equals(compute_all(ts::linspace(0, 1, 7)).astype(ts::float32)));
    CHECK_THROWS_WITH_AS(ts::linspace(0, 1, -1), "Number of samples, -1, must be non-negative.",
                         ts::ValueError);
}

TEST_CASE("sources broadcast inside fused programs") {
    // arange (4,) and linspace (4,) against a (3, 4) array and a (3, 1) column: sources are
    // evaluated with stride 0 along broadcast axes.
    const NDArray m = sample({3, 4}, 2, false);
    const ts::Array x = ts::from_array(m, {2, 3});
    const ts::Array r = x * ts::arange(4, {.chunks = 3, .dtype = ts::int64}) +
                        ts::linspace(0, 3, 4, {.chunks = 1}).astype(ts::float32) * 2 +
                        ts::full({3, 1}, 0.5, {.chunks = 2});
    xt::xarray<double> col = xt::xarray<double>::from_shape({3, 1});
    col.fill(0.5);
    const xt::xarray<double> ref =
        xd(m) * xt::arange<double>(0.0, 4.0) + xt::arange<double>(0.0, 4.0) * 2.0 + col;
    CHECK(r.shape() == ts::Shape{3, 4});
    CHECK(r.chunks() == ts::Chunks({{2, 1}, {1, 1, 1, 1}}));
    CHECK(same(xd(compute_all(r)), ref));
    CHECK(r.graph().size() == 4 + 8);  // x's blocks and one fused task per unified block
}
