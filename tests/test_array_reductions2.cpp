// Tests of include/tessera/reductions.hpp beyond the NumPy fixture matrix
// (tests/array_reductions2/matrix.cpp): exact errors, graph shapes (trees, scans without
// rechunk, quantile's rechunk), determinism across schedulers, and closed-form values.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "array_reductions2/fixtures.hpp"
#include "tessera/tessera.hpp"

using namespace red_test;
using ts::NDArray;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

NDArray vec(std::vector<double> v) { return NDArray::from_vector(v); }

std::int64_t count_ops(const ts::Graph& g, std::string_view op) {
    std::int64_t n = 0;
    for (const auto& t : g.tasks()) n += ts::op_name(t.op) == op ? 1 : 0;
    return n;
}

std::string task_prefix(const ts::Array& r, std::vector<std::int64_t> index) {
    return "task " + ts::Key(r.name(), std::move(index)).str() + ": ";
}

}  // namespace

// ------------------------------------------------------------------------------ arg reductions

TEST_CASE("argmin/argmax: NaN wins, ties give the first index, flattened indices are global") {
    const NDArray data = vec({3, 1, kNaN, 1, kNaN, 0});
    for (const auto& [label, spec] : chunkings(data.shape())) {
        INFO(label);
        const ts::Array x = ts::from_array(data, spec);
        CHECK(ts::argmin(x).compute().item<std::int64_t>() == 2);
        CHECK(ts::argmax(x).compute().item<std::int64_t>() == 2);
        CHECK(ts::nanargmin(x).compute().item<std::int64_t>() == 5);
        CHECK(ts::nanargmax(x).compute().item<std::int64_t>() == 0);
    }
    // Ties across blocks of a 2-d array: the first in C order wins.
    NDArray m = NDArray::zeros(ts::int32, {4, 5});
    m.set({3, 0}, 7);
    m.set({1, 4}, 7);
    for (const auto& [label, spec] : chunkings(m.shape())) {
        INFO(label);
        const ts::Array x = ts::from_array(m, spec);
        CHECK(ts::argmax(x, std::nullopt, {.split_every = 2}).compute().item<std::int64_t>() == 9);
        CHECK(ts::argmin(x).compute().item<std::int64_t>() == 0);
        const NDArray cols = ts::argmax(x, 0, {.keepdims = true}).compute();
        CHECK(cols.shape() == ts::Shape{1, 5});
        CHECK(cols.at<std::int64_t>({0, 0}) == 3);
        CHECK(cols.at<std::int64_t>({0, 4}) == 1);
        CHECK(cols.at<std::int64_t>({0, 2}) == 0);
    }
    // 0-d: index 0.
    CHECK(ts::argmax(ts::from_array(NDArray::scalar(2.5))).compute().item<std::int64_t>() == 0);
}

TEST_CASE("arg reductions: errors") {
    const ts::Array empty = ts::from_array(NDArray::zeros(ts::float64, {0, 3}), 2);
    CHECK_THROWS_WITH_AS(ts::argmin(empty, 0), "attempt to get argmin of an empty sequence along axis 0", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::nanargmax(empty), "attempt to get nanargmax of an empty sequence", ts::ValueError);
    CHECK(ts::argmax(empty, 1).compute().shape() == ts::Shape{0});
    const ts::Array x = ts::from_array(NDArray::zeros(ts::float64, {2, 3}), 1);
    CHECK_THROWS_WITH_AS(ts::argmin(x, 2), "axis 2 is out of bounds for array of dimension 2", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::argmin(x, -3), "axis -3 is out of bounds for array of dimension 2", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::argmin(x, 0, {.dtype = ts::int64}), "the dtype option of argmin is not supported",
                         ts::NotImplemented);
    CHECK_THROWS_WITH_AS(ts::argmin(x, 0, {.split_every = 1}), "split_every must be at least 2, got 1", ts::ValueError);
    const ts::Array c = ts::from_array(NDArray::zeros(ts::complex128, {2}), 1);
    CHECK_THROWS_WITH_AS(ts::argmax(c), "argmax of complex dtype complex128 is not supported", ts::NotImplemented);
}

TEST_CASE("nanargmin of an all-NaN slice fails at compute time naming the axis" * doctest::timeout(60)) {
    NDArray data = NDArray::from_vector(std::vector<double>{1, kNaN, 2, kNaN, 3, kNaN}, {3, 2});
    for (const char* scheduler : {"sync", "threads"}) {
        INFO(scheduler);
        const ts::Array x = ts::from_array(data, {1, 1});
        const ts::Array r = ts::nanargmin(x, 0);
        CHECK_THROWS_WITH_AS(r.compute({.scheduler = scheduler}),
                             (task_prefix(r, {1}) + "All-NaN slice encountered in nanargmin along axis 0").c_str(),
                             ts::ValueError);
        const ts::Array all = ts::nanargmax(ts::from_array(vec({kNaN, kNaN, kNaN}), 2));
        CHECK_THROWS_WITH_AS(all.compute({.scheduler = scheduler}),
                             (task_prefix(all, {}) + "All-NaN slice encountered in nanargmax").c_str(), ts::ValueError);
        // Slices with a value are fine.
        CHECK(ts::nanargmin(x, 1).compute({.scheduler = scheduler}).equals(
            NDArray::from_vector(std::vector<std::int64_t>{0, 0, 0})));
    }
}

TEST_CASE("arg reduction trees: chunk, combine levels and aggregate") {
    const ts::Array x = ts::from_array(NDArray::zeros(ts::float32, {16, 3}), {1, 3});
    const ts::Graph g = ts::argmin(x, 0, {.split_every = 2}).graph();
    CHECK(count_ops(g, "tessera.arg_chunk") == 16);
    CHECK(count_ops(g, "tessera.arg_combine") == 8 + 4 + 2);
    CHECK(count_ops(g, "tessera.arg_aggregate") == 1);
    CHECK(ts::argmin(x, 0).name() == ts::argmin(x, 0).name());
    CHECK(ts::argmin(x, 0).name() != ts::argmax(x, 0).name());
    CHECK(ts::argmin(x, 0).name() != ts::argmin(x, 1).name());
}

// ------------------------------------------------------------------------------ scans

TEST_CASE("cumsum carries block totals without rechunking") {
    const NDArray data = NDArray::from_vector(std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {4, 3});
    const ts::Array x = ts::from_array(data, {1, 2});
    const ts::Array c = ts::cumsum(x, 0);
    CHECK(c.chunks() == x.chunks());
    const ts::Graph g = c.graph();
    CHECK(count_ops(g, "tessera.scan_block") == 8);
    CHECK(count_ops(g, "tessera.scan_carry") == 6);
    CHECK(count_ops(g, "tessera.scan_apply") == 8);
    CHECK(count_ops(g, "tessera.rechunk") == 0);
    const NDArray r = c.compute();
    CHECK(r.at<std::int64_t>({3, 0}) == 1 + 4 + 7 + 10);
    CHECK(r.at<std::int64_t>({3, 2}) == 3 + 6 + 9 + 12);
    // Flattened: C order of the whole array.
    const NDArray flat = ts::cumsum(x).compute();
    CHECK(flat.shape() == ts::Shape{12});
    CHECK(flat.at<std::int64_t>({11}) == 78);
    CHECK(flat.at<std::int64_t>({3}) == 10);
}

TEST_CASE("scans: dtypes, wrapping, 0-d and errors") {
    const ts::Array i8 = ts::from_array(NDArray::full(ts::int8, {300}, ts::Scalar(100)), 7);
    const NDArray s = ts::cumsum(i8).compute();
    CHECK(s.dtype() == ts::int64);
    CHECK(s.at<std::int64_t>({299}) == 30000);  // no int8 wrapping: accumulated in int64
    CHECK(ts::cumsum(i8, 0, ts::int8).compute().at<std::int64_t>({2}) == 44);  // 300 wraps to 44
    CHECK(ts::cumprod(ts::from_array(NDArray::full(ts::uint8, {3}, ts::Scalar(2)))).dtype() == ts::uint64);
    CHECK(ts::cumsum(ts::from_array(NDArray::full(ts::float32, {3}, ts::Scalar(2.0)))).dtype() == ts::float32);
    const NDArray z = ts::cumsum(ts::from_array(NDArray::scalar(2.5))).compute();
    CHECK(z.shape() == ts::Shape{1});
    CHECK(z.at<double>({0}) == 2.5);
    const ts::Array x = ts::from_array(NDArray::zeros(ts::float64, {2, 3}), 1);
    CHECK_THROWS_WITH_AS(ts::cumsum(x, 2), "axis 2 is out of bounds for array of dimension 2", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::cumprod(x, 0, ts::bool_), "cumprod with dtype bool is not supported", ts::NotImplemented);
    CHECK_THROWS_WITH_AS(ts::cumsum(ts::from_array(NDArray::scalar(1.0)), 0),
                         "axis 0 is out of bounds for array of dimension 0", ts::AxisError);
}

TEST_CASE("scans give identical bits on every scheduler" * doctest::timeout(60)) {
    const ts::Array x = ts::random::normal(0, 1, {57, 13}, {.chunks = {5, 4}, .seed = 3});
    for (auto fn : {&ts::cumsum, &ts::cumprod, &ts::nancumsum, &ts::nancumprod}) {
        const ts::Array c = fn(x, 0, std::nullopt);
        CHECK(c.compute({.scheduler = "sync"}).equals(c.compute({.scheduler = "threads", .num_threads = 3})));
    }
    // And agree with the same scan of a single block, within rounding.
    const NDArray whole = ts::cumsum(ts::rechunk(x, -1), 0).compute();
    const NDArray chunked = ts::cumsum(x, 0).compute();
    CHECK(compare(chunked, whole, 1e-12, 1e-12) == "");
}

// ------------------------------------------------------------------------------ order statistics

TEST_CASE("quantile rechunks only the reduced axes to one block") {
    const ts::Array x = ts::from_array(NDArray::zeros(ts::float64, {6, 8, 5}), {2, 3, 2});
    const ts::Array q = ts::quantile(x, {0.25, 0.5, 0.75}, {0, 2});
    CHECK(q.shape() == ts::Shape{3, 8});
    CHECK(q.chunks() == ts::Chunks({{3}, {3, 3, 2}}));
    CHECK(count_ops(q.graph(), "tessera.quantile") == 3);
    const ts::Array m = ts::median(x, 1, {.keepdims = true});
    CHECK(m.shape() == ts::Shape{6, 1, 5});
    CHECK(m.chunks() == ts::Chunks({{2, 2, 2}, {1}, {2, 2, 1}}));
    // A q list of length 0 gives a leading axis of length 0.
    CHECK(ts::quantile(x, std::vector<double>{}, 1).compute().shape() == ts::Shape{0, 6, 5});
}

TEST_CASE("quantile: closed forms, NaN and empty slices") {
    const ts::Array x = ts::from_array(vec({4, 1, 3, 2}), 1);
    CHECK(ts::median(x).compute().item<double>() == 2.5);
    CHECK(ts::quantile(x, 0.5).compute().item<double>() == 2.5);
    CHECK(ts::quantile(x, 1.0 / 3).compute().item<double>() == doctest::Approx(2.0).epsilon(1e-15));
    CHECK(ts::percentile(x, 100.0).compute().item<double>() == 4.0);
    const ts::Array y = ts::from_array(vec({4, kNaN, 3, 2}), 2);
    CHECK(std::isnan(ts::median(y).compute().item<double>()));
    CHECK(std::isnan(ts::quantile(y, 0.1).compute().item<double>()));
    CHECK(ts::nanmedian(y).compute().item<double>() == 3.0);
    CHECK(ts::nanpercentile(y, 50.0).compute().item<double>() == 3.0);
    const ts::Array all_nan = ts::from_array(vec({kNaN, kNaN}), 1);
    CHECK(std::isnan(ts::nanmedian(all_nan).compute().item<double>()));
    CHECK(std::isnan(ts::nanquantile(all_nan, 0.3).compute().item<double>()));
    const ts::Array empty = ts::from_array(NDArray::zeros(ts::float64, {0, 2}), 1);
    CHECK(std::isnan(ts::median(empty).compute().item<double>()));
    CHECK(ts::median(empty, 0).compute().shape() == ts::Shape{2});
    CHECK(ts::median(ts::from_array(NDArray::full(ts::float32, {3}, ts::Scalar(1.5)))).dtype() == ts::float32);
    CHECK(ts::quantile(ts::from_array(NDArray::full(ts::float32, {3}, ts::Scalar(1.5))), 0.5).dtype() == ts::float64);
    CHECK(ts::median(ts::from_array(NDArray::scalar(7.0))).compute().item<double>() == 7.0);
}

TEST_CASE("quantile: errors") {
    const ts::Array x = ts::from_array(vec({1, 2, 3}), 2);
    CHECK_THROWS_WITH_AS(ts::quantile(x, 1.5), "Quantiles must be in the range [0, 1]", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::quantile(x, {0.5, -0.1}), "Quantiles must be in the range [0, 1]", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::nanquantile(x, kNaN), "Quantiles must be in the range [0, 1]", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::percentile(x, 101.0), "Percentiles must be in the range [0, 100]", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::nanpercentile(x, {-1.0}), "Percentiles must be in the range [0, 100]", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::quantile(x, 0.5, 1), "axis 1 is out of bounds for array of dimension 1", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::median(x, {0, 0}), "repeated axis 0 in (0, 0)", ts::AxisError);
    const ts::Array empty = ts::from_array(NDArray::zeros(ts::float64, {0}), 1);
    CHECK_THROWS_WITH_AS(ts::quantile(empty, 0.5), "cannot do a non-empty take from an empty axes.", ts::IndexError);
    const ts::Array b = ts::from_array(NDArray::zeros(ts::bool_, {3}), 1);
    CHECK_THROWS_WITH_AS(ts::median(b), "median of dtype bool is not supported", ts::DTypeError);
    const ts::Array c = ts::from_array(NDArray::zeros(ts::complex64, {3}), 1);
    CHECK_THROWS_WITH_AS(ts::nanpercentile(c, 5.0), "nanpercentile of dtype complex64 is not supported", ts::DTypeError);
}

// ------------------------------------------------------------------------------ composed

TEST_CASE("count_nonzero, nanprod, ptp: dtypes and errors") {
    const ts::Array i8 = ts::from_array(NDArray::from_vector(std::vector<std::int8_t>{-100, 100, 0}), 2);
    CHECK(ts::count_nonzero(i8).compute().item<std::int64_t>() == 2);
    CHECK(ts::count_nonzero(i8).dtype() == ts::int64);
    const NDArray p = ts::ptp(i8).compute();
    CHECK(p.dtype() == ts::int8);
    CHECK(p.item<std::int64_t>() == -56);  // 100 - (-100) wraps in int8, like NumPy
    CHECK(ts::nanprod(ts::from_array(vec({kNaN, 2, 3, kNaN}), 1)).compute().item<double>() == 6.0);
    CHECK(ts::nanprod(ts::from_array(vec({kNaN, kNaN}), 1)).compute().item<double>() == 1.0);
    CHECK_THROWS_WITH_AS(ts::nanprod(ts::from_array(NDArray::zeros(ts::complex64, {3}), 1)),
                         "nanprod of complex dtype complex64 is not supported", ts::NotImplemented);
    const ts::Array b = ts::from_array(NDArray::zeros(ts::bool_, {3}), 1);
    CHECK_THROWS_WITH_AS(ts::ptp(b),
                         "numpy boolean subtract, the `-` operator, is not supported, use the bitwise_xor, the `^` "
                         "operator, or the logical_xor function instead.",
                         ts::DTypeError);
    CHECK_THROWS_WITH_AS(ts::ptp(ts::from_array(NDArray::zeros(ts::float64, {0}), 1)),
                         "zero-size array to reduction operation maximum which has no identity", ts::ValueError);
}

TEST_CASE("moment: closed forms and errors") {
    const ts::Array x = ts::from_array(vec({1, 2, 3, 4, 5}), 2);
    CHECK(ts::moment(x, 2).compute().item<double>() == doctest::Approx(2.0).epsilon(1e-15));
    CHECK(ts::moment(x, 2, {}, {.ddof = 1}).compute().item<double>() == doctest::Approx(2.5).epsilon(1e-15));
    CHECK(ts::moment(x, 3).compute().item<double>() == doctest::Approx(0.0));
    CHECK(ts::moment(x, 4).compute().item<double>() == doctest::Approx(6.8).epsilon(1e-15));
    CHECK(ts::moment(x, 0).compute().item<double>() == 1.0);
    CHECK(ts::moment(x, 1).compute().item<double>() == 0.0);
    CHECK_THROWS_WITH_AS(ts::moment(x, -1), "Order must be an integer >= 0", ts::ValueError);
}

TEST_CASE("average: weights, shapes and the zero-sum error" * doctest::timeout(60)) {
    const ts::Array x = ts::from_array(NDArray::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}), {1, 2});
    const ts::Array w1 = ts::from_array(vec({1, 0, 1}), 2);
    const NDArray r = ts::average(x, 1, w1).compute();
    CHECK(r.equals(vec({2, 5})));
    CHECK(ts::average(x).compute().item<double>() == 3.5);
    CHECK_THROWS_WITH_AS(ts::average(x, {}, w1), "Axis must be specified when shapes of a and weights differ.",
                         ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::average(x, 0, ts::from_array(NDArray::zeros(ts::float64, {2, 1}), 1)),
                         "1D weights expected when shapes of a and weights differ.", ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::average(x, 0, w1), "Length of weights not compatible with specified axis.",
                         ts::ShapeError);
    const ts::Array zero = ts::from_array(vec({1, -1, 0}), 1);
    for (const char* scheduler : {"sync", "threads"}) {
        const ts::Array bad = ts::average(x, 1, zero);
        try {
            bad.compute({.scheduler = scheduler});
            FAIL("average with zero-sum weights did not throw");
        } catch (const ts::ValueError& e) {
            const std::string what = e.what();
            CHECK(what.size() > 0);
            CHECK(what.find("): Weights sum to zero, can't be normalized") != std::string::npos);
            CHECK(what.rfind("task ('average_weights-", 0) == 0);
        }
    }
}

// ------------------------------------------------------------------------------ composition

TEST_CASE("inputs may be elementwise expressions; results feed other operations" * doctest::timeout(60)) {
    const NDArray data = NDArray::from_vector(std::vector<double>{3, -1, 4, -1, 5, -9, 2, 6}, {2, 4});
    const ts::Array x = ts::from_array(data, {1, 3});
    const ts::Array neg = -x * 2.0;  // argmin of -2x is argmax of x
    CHECK(ts::argmin(neg, 1).compute().equals(NDArray::from_vector(std::vector<std::int64_t>{2, 3})));
    CHECK(ts::argmin(neg).compute().item<std::int64_t>() == 7);
    const NDArray c = ts::cumsum(x + 1.0, 1).compute();
    CHECK(c.at<double>({1, 3}) == 5 + 1 - 9 + 1 + 2 + 1 + 6 + 1);
    CHECK(ts::median(x * 2.0, 1).compute().equals(vec({2.0 * 1.0, 2.0 * 3.5})));
    // A reduction of a scan, and a scan of a reduction.
    CHECK(ts::max(ts::cumsum(x, 1)).compute().item<double>() == 6.0);
    CHECK(ts::cumsum(ts::sum(x, 0)).compute().equals(vec({8, -2, 4, 9})));
    // Persisted inputs, on both schedulers, bitwise equal.
    const ts::Array p = (x * 3.0).persist();
    for (const ts::Array& r : {ts::argmax(p, 0), ts::cumprod(p, 0), ts::quantile(p, {0.2, 0.8}, 1),
                               ts::moment(p, 3, 1), ts::count_nonzero(p, 0)}) {
        CHECK(r.compute({.scheduler = "sync"}).equals(r.compute({.scheduler = "threads", .num_threads = 3})));
    }
}
