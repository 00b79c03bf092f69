// Elementwise operations against whole-array xtensor references over several chunkings (and
// mixed chunkings), broadcasting, NumPy dtype promotion, errors at build time, and fusion.
// Creation functions: tests/array_elementwise/creation.cpp; random: .../random.cpp; the NumPy
// ufuncs of tessera/elementwise.hpp: .../ufuncs.cpp (NumPy fixtures) and .../ufunc_api.cpp.
#include "array/simd.hpp"  // first: silences GCC 12's false AVX-512 warnings in xtensor

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "array/fused.hpp"
#include "array_elementwise/helpers.hpp"

using namespace elem_test;
using ts::NDArray;

namespace {

using XBinary = std::function<xt::xarray<double>(const xt::xarray<double>&, const xt::xarray<double>&)>;
using TBinary = std::function<ts::Array(const ts::Array&, const ts::Array&)>;

struct BinaryCase {
    const char* name;
    TBinary op;
    XBinary ref;
};

const std::vector<BinaryCase>& binary_cases() {
    static const std::vector<BinaryCase> cases = {
        {"+", [](auto& a, auto& b) { return a + b; }, [](auto& a, auto& b) { return xt::xarray<double>(a + b); }},
        {"-", [](auto& a, auto& b) { return a - b; }, [](auto& a, auto& b) { return xt::xarray<double>(a - b); }},
        {"*", [](auto& a, auto& b) { return a * b; }, [](auto& a, auto& b) { return xt::xarray<double>(a * b); }},
        {"/", [](auto& a, auto& b) { return a / b; }, [](auto& a, auto& b) { return xt::xarray<double>(a / b); }},
        {"<", [](auto& a, auto& b) { return a < b; }, [](auto& a, auto& b) { return xt::xarray<double>(xt::less(a, b)); }},
        {"<=", [](auto& a, auto& b) { return a <= b; }, [](auto& a, auto& b) { return xt::xarray<double>(xt::less_equal(a, b)); }},
        {">", [](auto& a, auto& b) { return a > b; }, [](auto& a, auto& b) { return xt::xarray<double>(xt::greater(a, b)); }},
        {">=", [](auto& a, auto& b) { return a >= b; }, [](auto& a, auto& b) { return xt::xarray<double>(xt::greater_equal(a, b)); }},
        {"==", [](auto& a, auto& b) { return a == b; }, [](auto& a, auto& b) { return xt::xarray<double>(xt::equal(a, b)); }},
        {"!=", [](auto& a, auto& b) { return a != b; }, [](auto& a, auto& b) { return xt::xarray<double>(xt::not_equal(a, b)); }},
    };
    return cases;
}

bool is_comparison(const std::string& name) { return name != "+" && name != "-" && name != "*" && name != "/"; }

std::int64_t count_ops(const ts::Graph& g, std::string_view op) {
    std::int64_t n = 0;
    for (const auto& t : g.tasks()) n += ts::op_name(t.op) == op ? 1 : 0;
    return n;
}

}  // namespace

TEST_CASE("binary operators on equal shapes over every pair of chunkings" * doctest::timeout(60)) {
    const ts::Shape shape{7, 9};
    const NDArray da = sample(shape, 1), db = sample(shape, 2);
    // Equal values in places so that == and <= see equality.
    NDArray db2 = db.copy();
    for (std::int64_t k = 0; k < 9; ++k) db2.set({2, k}, da.at<double>({2, k}));
    const auto xa = xd(da), xb = xd(db2);
    for (const auto& [la, ca] : chunkings(shape)) {
        for (const auto& [lb, cb] : chunkings(shape)) {
            const ts::Array a = ts::from_array(da, ca), b = ts::from_array(db2, cb);
            for (const auto& c : binary_cases()) {
                INFO(c.name << " chunks " << la << " / " << lb);
                const ts::Array r = c.op(a, b);
                CHECK(r.dtype() == (is_comparison(c.name) ? ts::bool_ : ts::float64));
                CHECK(r.shape() == shape);
                CHECK(same(xd(compute_all(r)), c.ref(xa, xb)));
            }
        }
    }
}

TEST_CASE("mixed chunkings are unified by the common refinement of block boundaries") {
    const NDArray da = sample({10}, 3), db = sample({10}, 4);
    const ts::Array a = ts::from_array(da, ts::ChunkSpec({ts::AxisChunks({4, 6})}));
    const ts::Array b = ts::from_array(db, ts::ChunkSpec({ts::AxisChunks({3, 3, 4})}));
    const ts::Array r = a * b;
    CHECK(r.chunks() == ts::Chunks({{3, 1, 2, 4}}));
    CHECK(same(xd(compute_all(r)), xt::xarray<double>(xd(da) * xd(db))));
}

TEST_CASE("scalar operands, both sides") {
    const ts::Shape shape{6, 5};
    const NDArray data = sample(shape, 5);
    const auto x = xd(data);
    for (const auto& [label, spec] : chunkings(shape)) {
        INFO(label);
        const ts::Array a = ts::from_array(data, spec);
        CHECK(same(xd(compute_all(a + 2.5)), xt::xarray<double>(x + 2.5)));
        CHECK(same(xd(compute_all(2.5 + a)), xt::xarray<double>(2.5 + x)));
        CHECK(same(xd(compute_all(a - 1)), xt::xarray<double>(x - 1.0)));
        CHECK(same(xd(compute_all(1 - a)), xt::xarray<double>(1.0 - x)));
        CHECK(same(xd(compute_all(a * -3.0)), xt::xarray<double>(x * -3.0)));
        CHECK(same(xd(compute_all(-3.0 * a)), xt::xarray<double>(-3.0 * x)));
        CHECK(same(xd(compute_all(a / 4.0)), xt::xarray<double>(x / 4.0)));
        CHECK(same(xd(compute_all(4.0 / a)), xt::xarray<double>(4.0 / x)));  // includes / 0
        CHECK(same(xd(compute_all(a < 0.5)), xt::xarray<double>(xt::less(x, 0.5))));
        CHECK(same(xd(compute_all(a <= 0.0)), xt::xarray<double>(xt::less_equal(x, 0.0))));
        CHECK(same(xd(compute_all(a > 0.0)), xt::xarray<double>(xt::greater(x, 0.0))));
        CHECK(same(xd(compute_all(a >= 1)), xt::xarray<double>(xt::greater_equal(x, 1.0))));
        CHECK(same(xd(compute_all(a == 0)), xt::xarray<double>(xt::equal(x, 0.0))));
        CHECK(same(xd(compute_all(a != 0)), xt::xarray<double>(xt::not_equal(x, 0.0))));
        CHECK(same(xd(compute_all(-a)), xt::xarray<double>(-x)));
    }
}

TEST_CASE("math functions against xtensor, NaN and out-of-domain values included") {
    const ts::Shape shape{9, 4};
    const NDArray data = sample(shape, 6);
    const auto x = xd(data);
    for (const auto& [label, spec] : chunkings(shape)) {
        INFO(label);
        const ts::Array a = ts::from_array(data, spec);
        CHECK(same(xd(compute_all(ts::sqrt(a))), xt::xarray<double>(xt::sqrt(x))));
        CHECK(close(xd(compute_all(ts::exp(a))), xt::xarray<double>(xt::exp(x))));
        CHECK(close(xd(compute_all(ts::log(a))), xt::xarray<double>(xt::log(x))));
        CHECK(same(xd(compute_all(ts::abs(a))), xt::xarray<double>(xt::abs(x))));
        CHECK(close(xd(compute_all(ts::sin(a))), xt::xarray<double>(xt::sin(x)), 1e-14, 1e-16));
        CHECK(close(xd(compute_all(ts::cos(a))), xt::xarray<double>(xt::cos(x)), 1e-14, 1e-16));
        CHECK(same(xd(compute_all(ts::isnan(a))), xt::xarray<double>(xt::isnan(x))));
        CHECK(ts::isnan(a).dtype() == ts::bool_);
    }
    // Special values: log(0) = -inf, log(-1) = NaN, sqrt(-0) = -0, exp(-inf) = 0.
    const NDArray special = NDArray::from_vector<double>({0.0, -1.0, -0.0, -ts::inf, ts::inf, 1.0});
    const auto xs = xd(special);
    const ts::Array s = ts::from_array(special, 4);
    CHECK(same(xd(compute_all(ts::log(s))), xt::xarray<double>(xt::log(xs))));
    CHECK(close(xd(compute_all(ts::exp(s))), xt::xarray<double>(xt::exp(xs))));
    CHECK(same(xd(compute_all(ts::sqrt(s))), xt::xarray<double>(xt::sqrt(xs))));
    CHECK(std::signbit(compute_all(ts::sqrt(s)).at<double>({2})));
}

TEST_CASE("math functions: NumPy result dtypes and float32") {
    const NDArray ints = sample_ints({12}, 7, 0, 50, ts::int32);
    const ts::Array i = ts::from_array(ints, 5);
    for (auto* f : {&ts::sqrt, &ts::exp, &ts::log, &ts::sin, &ts::cos}) CHECK(f(i).dtype() == ts::float64);
    CHECK(ts::abs(i).dtype() == ts::int32);
    CHECK(same(xd(compute_all(ts::sqrt(i))), xt::xarray<double>(xt::sqrt(xd(ints)))));

    const NDArray f32 = sample({8, 3}, 8).astype(ts::float32);
    const ts::Array f = ts::from_array(f32, {3, 2});
    const xt::xarray<float> xf = ts::to_xarray<float>(f32);
    for (auto* fn : {&ts::sqrt, &ts::exp, &ts::log, &ts::sin, &ts::cos, &ts::abs})
        CHECK(fn(f).dtype() == ts::float32);
    auto check32 = [&](const ts::Array& r, const xt::xarray<float>& ref) {
        CHECK(r.dtype() == ts::float32);
        CHECK(close(xd(compute_all(r)), xt::xarray<double>(ref), 1e-6));
    };
    check32(ts::sqrt(f), xt::sqrt(xf));
    check32(ts::exp(f), xt::exp(xf));
    check32(ts::log(f), xt::log(xf));
    check32(ts::sin(f), xt::sin(xf));
    check32(ts::cos(f), xt::cos(xf));
}

TEST_CASE("integer arithmetic wraps like NumPy; abs and negation of every integer dtype") {
    const NDArray i8 = NDArray::from_vector<std::int8_t>({127, -128, 5, -1, 0});
    const ts::Array a = ts::from_array(i8, 2);
    const NDArray sum = compute_all(a + a);
    CHECK(sum.dtype() == ts::int8);
    CHECK(sum.equals(NDArray::from_vector<std::int8_t>({-2, 0, 10, -2, 0})));
    CHECK(compute_all(-a).equals(NDArray::from_vector<std::int8_t>({-127, -128, -5, 1, 0})));
    CHECK(compute_all(ts::abs(a)).equals(NDArray::from_vector<std::int8_t>({127, -128, 5, 1, 0})));
    CHECK(compute_all(a * a).equals(NDArray::from_vector<std::int8_t>({1, 0, 25, 1, 0})));

    const NDArray u16 = NDArray::from_vector<std::uint16_t>({65535, 2, 0});
    const ts::Array u = ts::from_array(u16, 2);
    CHECK(compute_all(u * u).equals(NDArray::from_vector<std::uint16_t>({1, 4, 0})));
    CHECK(compute_all(-u).equals(NDArray::from_vector<std::uint16_t>({1, 65534, 0})));
    CHECK(compute_all(u - 3).equals(NDArray::from_vector<std::uint16_t>({65532, 65535, 65533})));

    const std::int64_t big = std::numeric_limits<std::int64_t>::max();
    const ts::Array i64 = ts::from_array(NDArray::from_vector<std::int64_t>({big, -big - 1}), 1);
    CHECK(compute_all(i64 + 1).equals(NDArray::from_vector<std::int64_t>({-big - 1, -big})));
    CHECK(compute_all(i64 * 2).equals(NDArray::from_vector<std::int64_t>({-2, 0})));
}

TEST_CASE("bool arithmetic follows NumPy: + is or, * is and, - and unary - raise") {
    const NDArray b = NDArray::from_vector<bool>({true, true, false, false});
    const NDArray c = NDArray::from_vector<bool>({true, false, true, false});
    const ts::Array x = ts::from_array(b, 3), y = ts::from_array(c, 2);
    CHECK(compute_all(x + y).equals(NDArray::from_vector<bool>({true, true, true, false})));
    CHECK(compute_all(x * y).equals(NDArray::from_vector<bool>({true, false, false, false})));
    CHECK((x + y).dtype() == ts::bool_);
    CHECK((x + 1).dtype() == ts::int64);
    CHECK(compute_all(x / y).equals(NDArray::from_vector<double>({1.0, ts::inf, 0.0, ts::nan})));
    CHECK_THROWS_WITH_AS(x - y,
                         "numpy boolean subtract, the `-` operator, is not supported, use the "
                         "bitwise_xor, the `^` operator, or the logical_xor function instead",
                         ts::DTypeError);
    CHECK_THROWS_WITH_AS(-x,
                         "The numpy boolean negative, the `-` operator, is not supported, use the "
                         "`~` operator or the logical_not function instead.",
                         ts::DTypeError);
}

TEST_CASE("dtype promotion follows NumPy 1.24 (weak C++ literals)") {
    auto arr = [](ts::DType d) { return ts::from_array(ts::NDArray::zeros(d, {3}), 2); };
    CHECK((arr(ts::int8) + arr(ts::uint8)).dtype() == ts::int16);
    CHECK((arr(ts::float32) * 2.0).dtype() == ts::float32);
    CHECK((2.0 * arr(ts::float32)).dtype() == ts::float32);
    CHECK((arr(ts::int32) / arr(ts::int32)).dtype() == ts::float64);
    CHECK((arr(ts::int8) / 2).dtype() == ts::float64);
    CHECK((arr(ts::float32) / 2).dtype() == ts::float32);
    CHECK((arr(ts::float32) + arr(ts::float64)).dtype() == ts::float64);
    CHECK((arr(ts::int8) + 300).dtype() == ts::int16);
    CHECK((arr(ts::int64) + 0.5).dtype() == ts::float64);
    CHECK((arr(ts::uint8) < 2).dtype() == ts::bool_);
    CHECK((arr(ts::int32) + arr(ts::float32)).dtype() == ts::float64);
    CHECK((arr(ts::uint64) + arr(ts::int64)).dtype() == ts::float64);
    CHECK((arr(ts::float32) + ts::Scalar(2.0, ts::float64)).dtype() == ts::float64);

    // Values: int8 + uint8 in int16; float32 * 2.0 rounds in float32; int / int in float64.
    const NDArray i8 = NDArray::from_vector<std::int8_t>({-128, 127, 3});
    const NDArray u8 = NDArray::from_vector<std::uint8_t>({255, 255, 4});
    const NDArray s = compute_all(ts::from_array(i8, 2) + ts::from_array(u8, 1));
    CHECK(s.equals(NDArray::from_vector<std::int16_t>({127, 382, 7})));
    const NDArray f = NDArray::from_vector<float>({1.1f, 3.3f});
    const NDArray g = compute_all(ts::from_array(f, 1) * 2.0);
    CHECK(g.equals(NDArray::from_vector<float>({1.1f * 2.0f, 3.3f * 2.0f})));
    const NDArray q = compute_all(ts::from_array(NDArray::from_vector<std::int64_t>({7, -7, 1}), 2) /
                                  ts::from_array(NDArray::from_vector<std::int64_t>({2, 2, 0}), 3));
    CHECK(q.equals(NDArray::from_vector<double>({3.5, -3.5, ts::inf})));
    // uint8 compared with -1 happens in int16 (value-based casting), so nothing is below it.
    const NDArray lt = compute_all(ts::from_array(u8, 2) < -1);
    CHECK(lt.equals(NDArray::from_vector<bool>({false, false, false})));
    // int8 + 300 in int16.
    CHECK(compute_all(ts::from_array(i8, 2) + 300).equals(NDArray::from_vector<std::int16_t>({172, 427, 303})));
}

TEST_CASE("broadcasting of different shapes and different chunkings") {
    const NDArray da = sample({3, 1, 5}, 9), db = sample({4, 1}, 10), dc = sample({5}, 11);
    const auto xa = xd(da), xb = xd(db), xc = xd(dc);
    // Step by step: one expression would let the compiler contract (a + b) * c - b into an FMA,
    // which NumPy (and Tessera) do not do.
    const xt::xarray<double> sum_ab = xa + xb;
    const xt::xarray<double> prod = sum_ab * xc;
    const xt::xarray<double> ref = prod - xb;
    for (const auto& [la, ca] : chunkings(da.shape())) {
        for (const auto& [lb, cb] : chunkings(db.shape())) {
            INFO(la << " / " << lb);
            const ts::Array a = ts::from_array(da, ca), b = ts::from_array(db, cb);
            const ts::Array c = ts::from_array(dc, 2);
            const ts::Array r = (a + b) * c - b;
            CHECK(r.shape() == ts::Shape{3, 4, 5});
            CHECK(same(xd(compute_all(r)), ref));
        }
    }
    // A 0-d array broadcasts against everything.
    const ts::Array zero_d = ts::from_array(NDArray::scalar(ts::Scalar(2.5, ts::float64)));
    const ts::Array a = ts::from_array(da, {2, 1, 3});
    CHECK(same(xd(compute_all(a * zero_d)), xt::xarray<double>(xa * 2.5)));
    CHECK(same(xd(compute_all(zero_d - a)), xt::xarray<double>(2.5 - xa)));
}

TEST_CASE("0-d and empty arrays") {
    const ts::Array s = ts::from_array(NDArray::scalar(ts::Scalar(4.0, ts::float64)));
    const NDArray r = compute_all(ts::sqrt(s) + 1);
    CHECK(r.ndim() == 0);
    CHECK(r.item<double>() == 3.0);
    CHECK(compute_all(s > 3).item<bool>());

    for (const ts::Shape& shape : {ts::Shape{0}, ts::Shape{0, 3}, ts::Shape{2, 0}}) {
        INFO(ts::shape_str(shape));
        const ts::Array e = ts::from_array(NDArray::zeros(ts::float32, shape));
        const ts::Array y = ts::exp(e) * 2 + e;
        CHECK(y.shape() == shape);
        const NDArray v = compute_all(y);
        CHECK(v.shape() == shape);
        CHECK(v.dtype() == ts::float32);
        CHECK(v.size() == 0);
    }
    // (0,) broadcasts against (1,) and (3, 1) against (0,).
    const ts::Array empty = ts::from_array(NDArray::zeros(ts::float64, {0}));
    const ts::Array col = ts::from_array(NDArray::zeros(ts::float64, {3, 1}));
    CHECK((empty + col).shape() == ts::Shape{3, 0});
    CHECK(compute_all(empty + col).shape() == ts::Shape{3, 0});
}

TEST_CASE("shape errors are raised when the expression is built") {
    const ts::Array a = ts::from_array(NDArray::zeros(ts::float64, {3, 4}));
    const ts::Array b = ts::from_array(NDArray::zeros(ts::float64, {5}));
    CHECK_THROWS_WITH_AS(a + b, "operands could not be broadcast together with shapes (3, 4) (5,)",
                         ts::ShapeError);
    CHECK_THROWS_WITH_AS(a < b, "operands could not be broadcast together with shapes (3, 4) (5,)",
                         ts::ShapeError);
    CHECK_THROWS_AS(ts::where(a > 0, a, b), ts::ShapeError);
    const ts::Array c = ts::from_array(NDArray::zeros(ts::complex128, {3, 4}));
    CHECK_THROWS_WITH_AS(a + c, "add: complex dtype complex128 is not supported by elementwise operations",
                         ts::NotImplemented);
}

TEST_CASE("where with arrays and scalars, conditions of any dtype") {
    const ts::Shape shape{5, 6};
    const NDArray dx = sample(shape, 12), dy = sample(shape, 13);
    const auto x = xd(dx), y = xd(dy);
    for (const auto& [label, spec] : chunkings(shape)) {
        INFO(label);
        const ts::Array a = ts::from_array(dx, spec), b = ts::from_array(dy, {2, 4});
        CHECK(same(xd(compute_all(ts::where(a > b, a, b))), xt::xarray<double>(xt::where(x > y, x, y))));
        CHECK(same(xd(compute_all(ts::where(ts::isnan(a), 0.0, a))),
                   xt::xarray<double>(xt::where(xt::isnan(x), 0.0, x))));
        CHECK(same(xd(compute_all(ts::where(a < 0, a, -1))), xt::xarray<double>(xt::where(x < 0, x, -1.0))));
        // A float condition is tested != 0 (NaN is true). (xsimd's not_equal is false for NaN.)
        CHECK(same(xd(compute_all(ts::where(a, b, 7.0))), xt::xarray<double>(xt::where(!xt::equal(x, 0.0), y, 7.0))));
    }
    const ts::Array f = ts::from_array(NDArray::zeros(ts::float32, {4}), 3);
    const ts::Array i = ts::from_array(NDArray::zeros(ts::int16, {4}), 2);
    CHECK(ts::where(f > 0, f, 1.5).dtype() == ts::float32);
    CHECK(ts::where(f > 0, i, f).dtype() == ts::float32);
    CHECK(ts::where(f > 0, i, 100000).dtype() == ts::int32);
    // Broadcast condition.
    const NDArray row = NDArray::from_vector<bool>({true, false, true, false, true, false});
    const ts::Array r = ts::where(ts::from_array(row, 4), ts::from_array(dx, {2, 3}), 0.0);
    CHECK(same(xd(compute_all(r)), xt::xarray<double>(xt::where(!xt::equal(xd(row), 0.0), x, 0.0))));
}

TEST_CASE("astype uses NumPy's unsafe casting (NDArray::astype as reference)") {
    const ts::Shape shape{4, 7};
    NDArray data = sample(shape, 14);
    data.set({0, 0}, 1e30);
    data.set({0, 1}, -ts::inf);
    const ts::DType targets[] = {ts::bool_, ts::int8, ts::int16, ts::int32, ts::int64, ts::uint8,
                                 ts::uint16, ts::uint32, ts::uint64, ts::float32, ts::float64};
    for (const auto& [label, spec] : chunkings(shape)) {
        const ts::Array a = ts::from_array(data, spec);
        for (ts::DType to : targets) {
            INFO(label << " to " << to);
            const NDArray r = compute_all(a.astype(to));
            CHECK(r.dtype() == to);
            CHECK(r.equals(data.astype(to)));
            // And back through another dtype.
            CHECK(compute_all(a.astype(to).astype(ts::float32)).equals(data.astype(to).astype(ts::float32)));
        }
    }
    const ts::Array a = ts::from_array(data, 3);
    CHECK(a.astype(ts::float64).name() == a.name());  // no-op
    CHECK_THROWS_AS(a.astype(ts::complex64), ts::NotImplemented);
}

TEST_CASE("fusion: one task per block, and optimize=false disables it" * doctest::timeout(60)) {
    const NDArray data = sample({64, 48}, 15, false);
    const ts::Array x = ts::from_array(data, {16, 16});  // 4 x 3 blocks
    const ts::Array y = ((x + 1) * 2 - ts::sqrt(x)) / (x + 0.5);
    const ts::Graph fused = y.graph(true);
    CHECK(fused.size() == 12 + 12);  // x's constants and one fused task per block
    CHECK(count_ops(fused, "tessera.fused") == 12);
    {
        ts::config::Scoped scoped({.optimize = false});
        const ts::Graph raw = y.graph(true);
        CHECK(raw.size() == 12 * 7);  // x and six operations (+1, *2, sqrt, -, +0.5, /)
    }
    CHECK(y.graph(false).size() == 12 * 7);
    const auto xx = xd(data);
    {
        const xt::xarray<double> t1 = xx + 1.0, t2 = t1 * 2.0, t3 = xt::sqrt(xx), t4 = t2 - t3;
        const xt::xarray<double> t5 = xx + 0.5;
        CHECK(same(xd(compute_all(y)), xt::xarray<double>(t4 / t5)));
    }

    // A shared intermediate is materialized once and read by both consumers.
    const ts::Array z = x * 3;
    const ts::Array w = (z + 1) * (z - 1) + ts::sin(z);
    const ts::Graph gw = w.graph(true);
    CHECK(count_ops(gw, "tessera.fused") == 24);  // z and w
    const xt::xarray<double> z3 = xx * 3.0, zp = z3 + 1.0, zm = z3 - 1.0, zz = zp * zm;
    CHECK(close(xd(compute_all(w)), xt::xarray<double>(zz + xt::sin(z3)), 1e-14, 1e-15));

    // x * x reads the same block once.
    const ts::Graph sq = (x * x).graph(true);
    for (const auto& t : sq.tasks())
        if (ts::op_name(t.op) == "tessera.fused") CHECK(t.deps.size() == 1);
}

TEST_CASE("long chains are built, lowered and evaluated without recursion" * doctest::timeout(60)) {
    const NDArray data = sample({100}, 16, false);
    ts::Array x = ts::from_array(data, 30);
    for (int k = 0; k < 5000; ++k) x = x + 1;
    const auto ref = xt::xarray<double>(xd(data));
    const NDArray r = x.compute();
    xt::xarray<double> expected = ref;
    for (int k = 0; k < 5000; ++k) expected = expected + 1.0;
    CHECK(same(xd(r), expected));
}

TEST_CASE("fused programs survive encoding; malformed programs are rejected") {
    CHECK_THROWS_AS(ts::detail::run_fused_kernel("not a program", {}), ts::ProtocolError);
    CHECK(ts::has_op("tessera.fused"));
    // The graph carries only serialized programs: running a copy of a task from the graph in
    // isolation (as a remote worker would) gives the same block.
    const NDArray data = sample({6, 6}, 17);
    const ts::Array x = ts::from_array(data, 3);
    const ts::Array y = ts::exp(x) * 2 - 1;
    const ts::Graph g = y.graph();
    const NDArray whole = y.compute();
    for (const auto& t : g.tasks()) {
        if (ts::op_name(t.op) != "tessera.fused") continue;
        std::vector<ts::Value> inputs;
        for (const auto& dep : t.deps) inputs.push_back(ts::compute_graph(g, std::vector<ts::Key>{dep})[0]);
        std::vector<const ts::Value*> ptrs;
        for (const auto& v : inputs) ptrs.push_back(&v);
        const NDArray block = ts::detail::run_fused_kernel(t.params, ptrs);
        const auto& idx = t.key.index();
        CHECK(block.equals(whole.slice(0, idx[0] * 3, idx[0] * 3 + 3).slice(1, idx[1] * 3, idx[1] * 3 + 3)));
    }
}
