// The ufunc API beyond the NumPy value fixtures (tests/array_elementwise/ufuncs.cpp): exact
// error messages, operators against their functions, promotion with weak scalars, fusion of
// ufunc chains (round and clip included) into one task per block, and results independent of
// the tile and SIMD-batch position of an element (arrays spanning several 1024-element tiles).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "tessera/elementwise.hpp"

using namespace elem_test;
using ts::NDArray;

namespace {

ts::Array arr(ts::DType d) { return ts::zeros({3}, {.dtype = d}); }

std::int64_t fused_tasks(const ts::Array& a) {
    std::int64_t n = 0;
    const ts::Graph g = a.graph(true);
    for (const auto& t : g.tasks()) n += ts::op_name(t.op) == "tessera.fused" ? 1 : 0;
    return n;
}

}  // namespace

TEST_CASE("ufunc dtype errors name the ufunc and the dtypes") {
    CHECK_THROWS_WITH_AS(arr(ts::float64) & arr(ts::int64),
                         "ufunc 'bitwise_and' not supported for the input types float64 and int64",
                         ts::DTypeError);
    CHECK_THROWS_WITH_AS(arr(ts::int32) | 2.5,
                         "ufunc 'bitwise_or' not supported for the input types int32 and float64",
                         ts::DTypeError);
    CHECK_THROWS_WITH_AS(arr(ts::int64) ^ arr(ts::uint64),
                         "ufunc 'bitwise_xor' not supported for the input types int64 and uint64",
                         ts::DTypeError);
    CHECK_THROWS_WITH_AS(arr(ts::float32) << 1,
                         "ufunc 'left_shift' not supported for the input types float32 and int64",
                         ts::DTypeError);
    CHECK_THROWS_WITH_AS(1 >> arr(ts::float32),
                         "ufunc 'right_shift' not supported for the input types int64 and float32",
                         ts::DTypeError);
    CHECK_THROWS_WITH_AS(~arr(ts::float64), "ufunc 'invert' not supported for the input type float64",
                         ts::DTypeError);
    CHECK_THROWS_WITH_AS(ts::sign(arr(ts::bool_)), "ufunc 'sign' not supported for the input type bool",
                         ts::DTypeError);
    CHECK_THROWS_WITH_AS(ts::positive(arr(ts::bool_)),
                         "ufunc 'positive' not supported for the input type bool", ts::DTypeError);
    CHECK_THROWS_WITH_AS(ts::negative(arr(ts::bool_)),
                         "The numpy boolean negative, the `-` operator, is not supported, use the "
                         "`~` operator or the logical_not function instead.",
                         ts::DTypeError);
    CHECK_THROWS_WITH_AS(ts::power(arr(ts::int8), -1),
                         "Integers to negative integer powers are not allowed.", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::hypot(ts::from_array(NDArray::zeros(ts::complex64, {3})), 1.0),
                         "hypot: complex dtype complex64 is not supported by elementwise operations",
                         ts::NotImplemented);
    CHECK_THROWS_WITH_AS(ts::clip(arr(ts::float64), arr(ts::float64), ts::zeros({4})),
                         "operands could not be broadcast together with shapes (3,) (3,) (4,)",
                         ts::ShapeError);
    // A negative exponent inside an array is found when computing, like NumPy's ValueError.
    const ts::Array e = ts::from_array(NDArray::from_vector<std::int64_t>({1, -2, 3}));
    const ts::Array p = ts::power(ts::from_array(NDArray::from_vector<std::int64_t>({2, 2, 2})), e);
    CHECK_THROWS_WITH_AS(p.compute(), doctest::Contains("Integers to negative integer powers are not allowed."),
                         ts::Error);
    // Float exponents are fine.
    CHECK(compute_all(ts::power(ts::from_array(NDArray::from_vector<double>({2, 4})), -1))
              .equals(NDArray::from_vector<double>({0.5, 0.25})));
}

TEST_CASE("operators are the ufuncs") {
    const ts::Array i = ts::from_array(sample_ints({5, 4}, 3, -100, 100, ts::int16), {2, 3});
    const ts::Array j = ts::from_array(sample_ints({5, 4}, 4, -9, 9, ts::int16), {3, 1});
    auto eq = [](const ts::Array& x, const ts::Array& y) {
        CHECK(x.dtype() == y.dtype());
        CHECK(compute_all(x).equals(compute_all(y)));
    };
    eq(i % j, ts::remainder(i, j));
    eq(i % 7, ts::mod(i, 7));
    eq(7 % i, ts::remainder(7, i));
    eq(i & j, ts::bitwise_and(i, j));
    eq(i | 12, ts::bitwise_or(i, 12));
    eq(12 ^ i, ts::bitwise_xor(12, i));
    eq(i << 3, ts::left_shift(i, 3));
    eq(i >> j, ts::right_shift(i, j));
    eq(~i, ts::invert(i));
    eq(~i, ts::bitwise_not(i));
    eq(ts::negative(i), -i);
    CHECK(ts::positive(i).name() == i.name());
    // ~ on bool is logical not.
    const ts::Array b = i > 0;
    eq(~b, ts::logical_not(b));
    eq(b ^ true, ts::logical_not(b));
    // Closed-form spot checks.
    const NDArray r = compute_all(ts::from_array(NDArray::from_vector<std::int64_t>({-7, 7, -7, 7})) %
                                  ts::from_array(NDArray::from_vector<std::int64_t>({2, -2, -2, 0})));
    CHECK(r.equals(NDArray::from_vector<std::int64_t>({1, -1, -1, 0})));
}

TEST_CASE("weak scalars promote like NumPy 1.24 Python scalars") {
    // NumPy's float16 answers are float32 in Tessera.
    CHECK(ts::arctan2(arr(ts::int8), 2).dtype() == ts::float32);       // NumPy float16
    CHECK(ts::arctan2(arr(ts::int8), 2.0).dtype() == ts::float64);     // float scalar, int array
    CHECK(ts::arctan2(2.0, arr(ts::int8)).dtype() == ts::float64);
    CHECK(ts::arctan2(arr(ts::float32), 2).dtype() == ts::float32);
    CHECK(ts::arctan2(arr(ts::float32), 1e300).dtype() == ts::float64);
    CHECK(ts::arctan2(arr(ts::int8), arr(ts::uint16)).dtype() == ts::float32);
    CHECK(ts::hypot(3, arr(ts::int8)).dtype() == ts::float32);         // NumPy float16
    CHECK(ts::hypot(arr(ts::uint8), 40000).dtype() == ts::float32);    // uint16 scalar: 'f'
    CHECK(ts::hypot(arr(ts::uint8), 1 << 20).dtype() == ts::float64);
    CHECK(ts::remainder(arr(ts::uint8), 300).dtype() == ts::uint16);
    CHECK(ts::power(arr(ts::bool_), arr(ts::bool_)).dtype() == ts::int8);
    CHECK(ts::left_shift(arr(ts::bool_), true).dtype() == ts::int8);
    CHECK(ts::bitwise_and(arr(ts::bool_), true).dtype() == ts::bool_);
    CHECK(ts::logical_and(arr(ts::float32), 2).dtype() == ts::bool_);
    CHECK(ts::minimum(arr(ts::int8), 1000).dtype() == ts::int16);
    CHECK(ts::clip(arr(ts::int8), 0, 1000).dtype() == ts::int16);
    CHECK(ts::clip(arr(ts::float32), 0.0, 1.0).dtype() == ts::float32);
    CHECK(ts::round(arr(ts::int16), -1).dtype() == ts::int16);
    CHECK(ts::round(arr(ts::bool_)).dtype() == ts::float32);            // NumPy float16
    CHECK(ts::floor(arr(ts::int32)).dtype() == ts::float64);
    CHECK(ts::sqrt(arr(ts::int8)).dtype() == ts::float32);             // NumPy float16
    CHECK(ts::sqrt(arr(ts::uint16)).dtype() == ts::float32);
    CHECK(ts::square(arr(ts::bool_)).dtype() == ts::int8);
    CHECK(ts::signbit(arr(ts::uint8)).dtype() == ts::bool_);
}

TEST_CASE("ufunc chains, round and clip fuse into one task per block" * doctest::timeout(60)) {
    const NDArray data = sample({40, 30}, 21);
    const ts::Array x = ts::from_array(data, {16, 16});  // 3 x 2 blocks
    const ts::Array y = ts::clip(ts::round(ts::hypot(x, 2.0) % 1.5, 2), -0.5, ts::cbrt(x)) +
                        ts::where(ts::isfinite(x), ts::floor_divide(x, 0.25), 0.0);
    CHECK(fused_tasks(y) == 6);
    CHECK(y.graph(true).size() == 6 + 6);  // x's blocks and the fused tasks
    // Reference: the same expression, element by element on 0-d arrays (no fusion across
    // elements, one tiny tile each).
    const NDArray r = compute_all(y);
    for (std::int64_t row : {0, 7, 16, 39}) {
        for (std::int64_t col : {0, 5, 15, 16, 29}) {
            const ts::Array e = ts::from_array(NDArray::scalar(data.at<double>({row, col})));
            const ts::Array ye = ts::clip(ts::round(ts::hypot(e, 2.0) % 1.5, 2), -0.5, ts::cbrt(e)) +
                                 ts::where(ts::isfinite(e), ts::floor_divide(e, 0.25), 0.0);
            const double expected = ye.compute().item<double>();
            const double actual = r.at<double>({row, col});
            CHECK((actual == expected || (std::isnan(actual) && std::isnan(expected))));
        }
    }
    // Integer chains too.
    const ts::Array i = ts::from_array(sample_ints({40, 30}, 2, -50, 50, ts::int32), {16, 16});
    const ts::Array k = ((i << 2) ^ (i >> 1)) % 17 + ts::power(ts::abs(i) % 5, 3);
    CHECK(fused_tasks(k) == 6);
    compute_all(k);
}

TEST_CASE("values do not depend on tile or SIMD-batch position; libm within 4 ulps" *
          doctest::timeout(120)) {
    // 5000 elements: several 1024-element tiles per block, odd tails, subnormals and specials.
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> dist(-3, 3);
    std::vector<double> v(5000);
    for (std::size_t k = 0; k < v.size(); ++k) {
        v[k] = dist(rng);
        if (k % 97 == 1) v[k] = 5e-324 * static_cast<double>(k);
        if (k % 101 == 2) v[k] = -0.0;
        if (k % 103 == 3) v[k] = std::numeric_limits<double>::infinity();
        if (k % 107 == 4) v[k] = std::nan("");
    }
    const NDArray data = NDArray::from_vector(v);
    struct Fn {
        const char* name;
        ts::Array (*op)(const ts::Array&);
        double (*ref)(double);
    };
    const Fn fns[] = {
        {"cbrt", &ts::cbrt, [](double x) { return std::cbrt(x); }},
        {"expm1", &ts::expm1, [](double x) { return std::expm1(x); }},
        {"log1p", &ts::log1p, [](double x) { return std::log1p(x); }},
        {"log2", &ts::log2, [](double x) { return std::log2(x); }},
        {"log10", &ts::log10, [](double x) { return std::log10(x); }},
        {"log", &ts::log, [](double x) { return std::log(x); }},
        {"tan", &ts::tan, [](double x) { return std::tan(x); }},
        {"arcsin", &ts::arcsin, [](double x) { return std::asin(x * (1.0 / 3)); }},
        {"arctanh", &ts::arctanh, [](double x) { return std::atanh(x * (1.0 / 3)); }},
        {"sinh", &ts::sinh, [](double x) { return std::sinh(x); }},
        {"tanh", &ts::tanh, [](double x) { return std::tanh(x); }},
        {"arccosh", &ts::arccosh, [](double x) { return std::acosh(x); }},
        {"rint", &ts::rint, [](double x) { return std::nearbyint(x * 3); }},
    };
    for (const Fn& fn : fns) {
        INFO(fn.name);
        const std::string name = fn.name;
        const double scale = name == "arcsin" || name == "arctanh" ? 1.0 / 3 : name == "rint" ? 3 : 1;
        auto build = [&](const ts::ChunkSpec& chunks) {
            return fn.op(ts::from_array(data, chunks) * scale);
        };
        const NDArray whole = compute_all(build(ts::ChunkSpec({ts::AxisChunks::whole()})));
        CHECK(compute_all(build(997)).equals(whole, true));
        CHECK(compute_all(build(ts::ChunkSpec({ts::AxisChunks({1, 1030, 3, 2047, 1919})}))).equals(whole, true));
        for (std::size_t k = 0; k < v.size(); ++k) {
            const double x = whole.data<double>()[k], y = fn.ref(v[k]);
            const bool ok = (std::isnan(x) && std::isnan(y)) || x == y ||
                            std::abs(x - y) <= 4 * (std::nextafter(std::abs(y), INFINITY) - std::abs(y));
            if (!ok) {
                FAIL_CHECK("element " << k << " of " << v[k] << ": " << x << " vs libm " << y);
                break;
            }
        }
    }
}
