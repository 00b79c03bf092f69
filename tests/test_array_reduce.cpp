// Tests of the Array core (from_array, compute, persist, graph, the collection protocol) and of
// the reductions beyond the verification matrix (tests/array_reduce/matrix.cpp): dtypes,
// integer exactness, NumPy edge cases, exact error messages, tree shapes and fusion.
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>

#include "array/reduction_kernels.hpp"
#include "array_reduce/helpers.hpp"
#include "tessera/tessera.hpp"
#include "tessera/xtensor.hpp"

using namespace reduce_test;
using ts::NDArray;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

const ts::DType kAllDTypes[] = {ts::bool_,  ts::int8,    ts::int16,     ts::int32,     ts::int64,
                                ts::uint8,  ts::uint16,  ts::uint32,    ts::uint64,    ts::float32,
                                ts::float64, ts::complex64, ts::complex128};

NDArray vec(std::vector<double> v) { return NDArray::from_vector(v); }

double item(const ts::Array& a) { return a.compute().item<double>(); }

std::int64_t count_ops(const ts::Graph& g, std::string_view op) {
    std::int64_t n = 0;
    for (const auto& t : g.tasks()) n += ts::op_name(t.op) == op ? 1 : 0;
    return n;
}

}  // namespace

// ------------------------------------------------------------------------------ Array core

TEST_CASE("from_array round trip for every dtype, 0-d and empty") {
    for (ts::DType dtype : kAllDTypes) {
        for (const ts::Shape& shape : {ts::Shape{}, ts::Shape{0}, ts::Shape{11}, ts::Shape{5, 4}, ts::Shape{3, 0, 2}}) {
            NDArray data = make_data(dtype, shape, 42);
            for (const auto& [label, spec] : chunkings(shape)) {
                INFO(dtype << " " << ts::shape_str(shape) << " " << label);
                ts::Array a = ts::from_array(data, spec);
                CHECK(a.dtype() == dtype);
                CHECK(a.shape() == shape);
                CHECK(a.ndim() == static_cast<std::int64_t>(shape.size()));
                CHECK(a.size() == data.size());
                CHECK(a.nbytes() == data.nbytes());
                CHECK(a.numblocks() == a.chunks().numblocks());
                CHECK(a.n_keys() == static_cast<std::size_t>(a.chunks().nblocks()));
                NDArray back = a.compute({.scheduler = "sync"});
                CHECK(back.equals(data));
                CHECK(back.is_contiguous());
            }
        }
    }
}

TEST_CASE("from_array copies the data and results belong to the caller") {
    NDArray data = vec({1, 2, 3, 4, 5});
    ts::Array whole = ts::from_array(data, -1);
    ts::Array split = ts::from_array(data, 2);
    data.set({0}, 100.0);  // later changes to the source do not reach the graph
    for (const ts::Array& a : {whole, split}) {
        NDArray r = a.compute();
        CHECK(r.at<double>({0}) == 1.0);
        r.set({1}, -7.0);  // nor do changes to a result
        CHECK(a.compute().at<double>({1}) == 2.0);
    }
    // A strided view is chunked by value.
    NDArray m = make_data(ts::int32, {6, 4}, 3);
    NDArray t = m.transpose();
    CHECK(ts::from_array(t, {2, 3}).compute().equals(t));
}

TEST_CASE("default Array, accessors and deterministic names") {
    ts::Array empty;
    CHECK(empty.dtype() == ts::float64);
    CHECK(empty.shape() == ts::Shape{0});
    CHECK(empty.compute().shape() == ts::Shape{0});
    CHECK(ts::sum(empty).compute().item<double>() == 0.0);

    NDArray data = make_data(ts::float64, {6, 4}, 1);
    ts::Array a = ts::from_array(data, {4, 3});
    ts::Array b = ts::from_array(data, {4, 3});
    ts::Array c = ts::from_array(make_data(ts::float64, {6, 4}, 2), {4, 3});
    CHECK(a.name() == b.name());
    CHECK(a.name() != c.name());
    CHECK(a.name().rfind("array-", 0) == 0);
    CHECK(a.name().size() == std::string("array-").size() + 16);
    CHECK(a.chunks() == ts::Chunks(std::vector<ts::BlockSizes>{{4, 2}, {3, 1}}));
    CHECK(a.shape(-1) == 4);
    CHECK_THROWS_WITH_AS(a.shape(2), "axis 2 is out of bounds for array of dimension 2", ts::AxisError);
    const std::int64_t block[] = {1, 0};
    CHECK(a.block_key(block) == ts::Key(a.name(), {1, 0}));
    CHECK(ts::sum(a, 0).name() == ts::sum(b, 0).name());
    CHECK(ts::sum(a, 0).name() != ts::sum(a, 1).name());
    CHECK(ts::sum(a, 0).name() != ts::nansum(a, 0).name());
    CHECK(ts::sum(a, 0).name().rfind("sum-", 0) == 0);
}

TEST_CASE("persist keeps the chunks and the values" * doctest::timeout(60)) {
    NDArray data = make_data(ts::float64, {9, 4}, 5);
    ts::Array a = ts::from_array(data, {2, 3});
    ts::Array m = ts::mean(a, 1, {.keepdims = true});
    ts::Array p = m.persist({.scheduler = "threads"});
    CHECK(p.chunks() == m.chunks());
    CHECK(p.dtype() == m.dtype());
    CHECK(same_bits(p.compute(), m.compute()));
    // Reducing the persisted array runs no task of the original expression.
    ts::Array total = ts::sum(p);
    ts::Graph g = total.graph();
    CHECK(count_ops(g, "tessera.reduce_chunk") == 5);
    CHECK(count_ops(g, "tessera.constant") == 5);
    CHECK(item(total) == doctest::Approx(item(ts::sum(m))).epsilon(1e-14));
    // persist of a plain array, then reductions of it.
    ts::Array q = a.persist();
    CHECK(q.chunks() == a.chunks());
    CHECK(same_bits(ts::var(q, 0).compute(), ts::var(a, 0).compute()));
}

TEST_CASE("compute(a, b) runs one graph; shared blocks once" * doctest::timeout(60)) {
    NDArray data = make_data(ts::float64, {1000}, 8);
    ts::Array x = ts::from_array(data, 100);
    ts::Array mu = ts::mean(x), sd = ts::std(x);
    auto [m, s] = ts::compute(mu, sd);
    CHECK(same_bits(m, mu.compute()));
    CHECK(same_bits(s, sd.compute()));
    const Ref rm = reference(Kind::Mean, data, std::vector<std::int64_t>{0}, false);
    const Ref rs = reference(Kind::Std, data, std::vector<std::int64_t>{0}, false);
    CHECK(compare(m, rm, ts::float64, 1e-12) == "");
    CHECK(compare(s, rs, ts::float64, 1e-12) == "");
    // An Array together with a Delayed, and the same array twice.
    auto twice = ts::delayed([](double v) { return 2 * v; });
    auto [whole, again, doubled] = ts::compute(x, x, twice(ts::Delayed::from_value(ts::Value(m))));
    CHECK(whole.equals(data));
    CHECK(again.equals(data));
    CHECK(doubled.as<double>() == 2 * m.item<double>());
    // Counting: the graph of both holds the 10 constants once.
    ts::Graph g;
    std::vector<ts::Key> keys;
    mu.add_to_graph(g, keys);
    sd.add_to_graph(g, keys);
    CHECK(keys.size() == 2);
    CHECK(count_ops(g, "tessera.constant") == 10);
}

TEST_CASE("graph() and visualize()") {
    ts::Array a = ts::from_array(make_data(ts::float64, {64}, 1), 1);
    // 64 chunk tasks, split_every 8: one combine level of 8, then the aggregate.
    ts::Graph g = ts::sum(a).graph();
    CHECK(count_ops(g, "tessera.reduce_chunk") == 64);
    CHECK(count_ops(g, "tessera.reduce_combine") == 8);
    CHECK(count_ops(g, "tessera.reduce_aggregate") == 1);
    // split_every 4: 64 → 16 → 4 → aggregate.
    ts::Graph g4 = ts::sum(a, {}, {.split_every = 4}).graph();
    CHECK(count_ops(g4, "tessera.reduce_combine") == 20);
    CHECK(g4.contains(ts::Key(ts::sum(a, {}, {.split_every = 4}).name())));
    // Keys are grouped like Dask's: sum_chunk, sum_combine, sum.
    for (const auto& t : g4.tasks()) {
        std::string group(t.key.group());
        CHECK((group == "sum_chunk" || group == "sum_combine" || group == "sum" || group == "array"));
    }
    // Task parameters are plain serialized data: no task of a reduction has a local payload.
    for (const auto& t : g4.tasks())
        if (ts::op_name(t.op) != "tessera.constant") CHECK(t.local == nullptr);
    { ts::config::Scoped s({.split_every = 2}); CHECK(count_ops(ts::sum(a).graph(), "tessera.reduce_combine") == 62); }
    const std::string path = std::string(TESSERA_BINARY_DIR) + "/test_array_reduce_graph.dot";
    ts::sum(ts::from_array(vec({1, 2, 3}), 1)).visualize(path);
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text.find("sum_chunk") != std::string::npos);
}

// ------------------------------------------------------------------------------ dtypes

TEST_CASE("result dtypes follow NumPy 1.24 (fixture)") {
    std::ifstream in(std::string(TESSERA_TEST_DATA) + "/reduction_dtypes_numpy124.txt");
    REQUIRE(in.good());
    std::string line;
    int rows = 0;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream ls(line);
        std::string in_name, sum_name, mean_name;
        ls >> in_name >> sum_name >> mean_name;
        ts::DType dtype = ts::DType::from_name(in_name);
        INFO(in_name);
        ts::Array a = ts::from_array(make_data(dtype, {6}, 1), 4);
        CHECK(ts::sum(a).dtype() == ts::DType::from_name(sum_name));
        CHECK(ts::prod(a).dtype() == ts::DType::from_name(sum_name));
        CHECK(ts::sum(a).compute().dtype() == ts::DType::from_name(sum_name));
        CHECK(ts::mean(a).compute().dtype() == ts::DType::from_name(mean_name));
        ++rows;
    }
    CHECK(rows == 13);
}

TEST_CASE("integer reductions are exact and promoted" * doctest::timeout(60)) {
    // 3000 int8 values of 100: int8 would overflow, NumPy's int64 does not.
    NDArray big = NDArray::full(ts::int8, {3000}, ts::Scalar(100));
    ts::Array a = ts::from_array(big, 7);
    CHECK(ts::sum(a).dtype() == ts::int64);
    CHECK(ts::sum(a).compute().item<std::int64_t>() == 300000);
    CHECK(ts::nansum(a).compute().item<std::int64_t>() == 300000);
    CHECK(ts::mean(a).compute().item<double>() == 100.0);
    // uint16 → uint64; int64 near the top stays exact (no float accumulation).
    NDArray u = NDArray::full(ts::uint16, {5, 7}, ts::Scalar(65535));
    CHECK(ts::sum(ts::from_array(u, 2)).dtype() == ts::uint64);
    CHECK(ts::sum(ts::from_array(u, 2)).compute().item<std::uint64_t>() == 35u * 65535u);
    const std::int64_t big64 = (std::int64_t{1} << 62) + 1;
    NDArray i64 = NDArray::from_vector(std::vector<std::int64_t>{big64, 1, -1, 1});
    CHECK(ts::sum(ts::from_array(i64, 1)).compute().item<std::int64_t>() == big64 + 1);
    // Bool sums count; prod of bools is all().
    NDArray flags = make_data(ts::bool_, {8, 9}, 4);
    std::int64_t trues = 0;
    for (std::int64_t i = 0; i < 8; ++i)
        for (std::int64_t j = 0; j < 9; ++j) trues += flags.at<bool>({i, j}) ? 1 : 0;
    CHECK(ts::sum(ts::from_array(flags, 3)).compute().item<std::int64_t>() == trues);
    // Integer sums along axes against the reference, every chunking, exactly.
    NDArray ints = make_data(ts::int32, {6, 5}, 9);
    for (const auto& [label, spec] : chunkings(ints.shape())) {
        ts::Array x = ts::from_array(ints, spec);
        for (const auto& axis : axis_choices(2)) {
            INFO(label << " axis " << axis.label);
            CHECK(compare(ts::sum(x, axis.axes).compute(), reference(Kind::Sum, ints, axis.normalized, false),
                          ts::int64, 0) == "");
            CHECK(compare(ts::min(x, axis.axes).compute(), reference(Kind::Min, ints, axis.normalized, false),
                          ts::int32, 0) == "");
            CHECK(compare(ts::nanmax(x, axis.axes).compute(), reference(Kind::Max, ints, axis.normalized, false),
                          ts::int32, 0) == "");
            CHECK(compare(ts::mean(x, axis.axes).compute(), reference(Kind::Mean, ints, axis.normalized, false),
                          ts::float64, 1e-15) == "");
            CHECK(compare(ts::var(x, axis.axes).compute(), reference(Kind::Var, ints, axis.normalized, false),
                          ts::float64, 1e-13) == "");
            CHECK(compare(ts::all(x, axis.axes).compute(), reference(Kind::All, ints, axis.normalized, false),
                          ts::bool_, 0) == "");
        }
    }
    // Products of small integers, and wrapping in the requested dtype like NumPy.
    NDArray small = NDArray::from_vector(std::vector<std::int16_t>{2, -3, 4, 5, -1, 7});
    CHECK(ts::prod(ts::from_array(small, 4)).compute().item<std::int64_t>() == 840);
    NDArray wraps = NDArray::full(ts::int8, {4}, ts::Scalar(100));
    CHECK(ts::sum(ts::from_array(wraps, 1), {}, {.dtype = ts::int8}).compute().item<std::int64_t>() == -112);
    CHECK(ts::sum(ts::from_array(wraps, 1), {}, {.dtype = ts::uint8}).compute().item<std::int64_t>() == 144);
}

TEST_CASE("explicit dtype= options") {
    NDArray f = vec({1.5, 2.5, kNaN, -0.75});
    ts::Array a = ts::from_array(f, 3);
    ts::Array s32 = ts::nansum(a, {}, {.dtype = ts::float32});
    CHECK(s32.dtype() == ts::float32);
    CHECK(s32.compute().item<float>() == 3.25f);
    // nansum replaces NaN by 0 before converting to the integer dtype (np.nansum).
    CHECK(ts::nansum(a, {}, {.dtype = ts::int64}).compute().item<std::int64_t>() == 3);  // 1 + 2 + 0 + 0
    // mean with an integer dtype: integer sum, truncated quotient (np.mean([1,2,4], dtype=int) == 2).
    NDArray i = NDArray::from_vector(std::vector<std::int64_t>{1, 2, 4});
    ts::Array im = ts::mean(ts::from_array(i, 2), {}, {.dtype = ts::int64});
    CHECK(im.dtype() == ts::int64);
    CHECK(im.compute().item<std::int64_t>() == 2);
    CHECK(ts::mean(ts::from_array(i, 2), {}, {.dtype = ts::float32}).compute().dtype() == ts::float32);
    CHECK(ts::var(ts::from_array(i, 2), {}, {.dtype = ts::float32}).compute().item<float>() ==
          doctest::Approx(14.0 / 9.0).epsilon(1e-6));
    CHECK_THROWS_WITH_AS(ts::var(a, {}, {.dtype = ts::int64}), "var with dtype int64 is not supported",
                         ts::NotImplemented);
    CHECK_THROWS_WITH_AS(ts::mean(a, {}, {.dtype = ts::bool_}), "mean with dtype bool is not supported",
                         ts::NotImplemented);
    CHECK_THROWS_WITH_AS(ts::nanmean(a, {}, {.dtype = ts::int64}), "If a is inexact, then dtype must be inexact",
                         ts::DTypeError);
    CHECK_THROWS_WITH_AS(ts::max(a, {}, {.dtype = ts::float32}), "the dtype option of max is not supported",
                         ts::NotImplemented);
    CHECK_THROWS_WITH_AS(ts::any(a, {}, {.dtype = ts::bool_}), "the dtype option of any is not supported",
                         ts::NotImplemented);
}

TEST_CASE("complex reductions") {
    using C = std::complex<double>;
    std::vector<C> values{{1, 2}, {-3, 0.5}, {0, -1}, {2.5, 2}, {4, -4}};
    NDArray z = NDArray::from_vector(values);
    ts::Array a = ts::from_array(z, 2);
    C sum(0), prod(1);
    for (auto v : values) sum += v, prod *= v;
    const C mean = sum / 5.0;
    double m2 = 0;
    for (auto v : values) m2 += std::norm(v - mean);
    CHECK(ts::sum(a).compute().item<C>() == sum);
    const C got_prod = ts::prod(a).compute().item<C>();
    CHECK(std::abs(got_prod - prod) < 1e-12 * std::abs(prod));
    CHECK(std::abs(ts::mean(a).compute().item<C>() - mean) < 1e-15);
    CHECK(ts::var(a).dtype() == ts::float64);
    CHECK(ts::var(a).compute().item<double>() == doctest::Approx(m2 / 5).epsilon(1e-14));
    CHECK(ts::std(ts::from_array(z.astype(ts::complex64), 2)).dtype() == ts::float32);
    CHECK(ts::any(a).compute().item<bool>());
    CHECK_THROWS_WITH_AS(ts::min(a), "min of complex dtype complex128 is not supported", ts::NotImplemented);
    CHECK_THROWS_WITH_AS(ts::nanmax(ts::from_array(z.astype(ts::complex64))),
                         "nanmax of complex dtype complex64 is not supported", ts::NotImplemented);
}

// ------------------------------------------------------------------------------ NumPy edge cases

TEST_CASE("NumPy edge cases: empty, ddof, NaN, inf") {
    ts::Array empty = ts::from_array(NDArray::zeros(ts::float64, {0}));
    CHECK(item(ts::sum(empty)) == 0.0);
    CHECK(item(ts::prod(empty)) == 1.0);
    CHECK(std::isnan(item(ts::mean(empty))));
    CHECK(std::isnan(item(ts::var(empty))));
    CHECK(std::isnan(item(ts::nanmean(empty))));
    CHECK(item(ts::nansum(empty)) == 0.0);
    CHECK_FALSE(ts::any(empty).compute().item<bool>());
    CHECK(ts::all(empty).compute().item<bool>());
    // (0, 3) reduced along axis 1: an empty result, no error (the reduced axis is not empty).
    ts::Array e03 = ts::from_array(NDArray::zeros(ts::float64, {0, 3}));
    CHECK(ts::max(e03, 1).compute().shape() == ts::Shape{0});
    CHECK(ts::sum(e03, 0).compute().equals(vec({0, 0, 0})));

    // var with ddof >= n divides by max(n - ddof, 0) like NumPy: inf, or NaN when M2 == 0;
    // nanvar gives NaN.
    ts::Array two = ts::from_array(vec({1, 2}), 1);
    CHECK(item(ts::var(two, {}, {.ddof = 2})) == kInf);
    CHECK(item(ts::std(two, {}, {.ddof = 3})) == kInf);
    CHECK(std::isnan(item(ts::var(ts::from_array(vec({1, 1}), 1), {}, {.ddof = 2}))));
    CHECK(std::isnan(item(ts::nanvar(two, {}, {.ddof = 2}))));
    CHECK(item(ts::var(two, {}, {.ddof = 1})) == 0.5);
    CHECK(item(ts::var(two, {}, {.ddof = -1})) == doctest::Approx(0.5 / 3));

    // NaN propagation vs skipping, infinities.
    ts::Array with_nan = ts::from_array(vec({3, kNaN, -1, 7}), 1);
    CHECK(std::isnan(item(ts::min(with_nan))));
    CHECK(std::isnan(item(ts::max(with_nan))));
    CHECK(item(ts::nanmin(with_nan)) == -1);
    CHECK(item(ts::nanmax(with_nan)) == 7);
    CHECK(item(ts::nansum(with_nan)) == 9);
    CHECK(item(ts::nanmean(with_nan)) == 3);
    CHECK(ts::any(ts::from_array(vec({0, kNaN, 0}))).compute().item<bool>());  // NaN is truthy
    ts::Array all_nan = ts::from_array(vec({kNaN, kNaN, kNaN}), 2);
    CHECK(item(ts::nansum(all_nan)) == 0.0);
    for (auto fn : {&ts::nanmean, &ts::nanvar, &ts::nanstd, &ts::nanmin, &ts::nanmax})
        CHECK(std::isnan(item(fn(all_nan, {}, {}))));
    ts::Array infs = ts::from_array(vec({kInf, 1, -kInf}), 1);
    CHECK(std::isnan(item(ts::sum(infs))));
    CHECK(item(ts::max(infs)) == kInf);
    CHECK(item(ts::min(infs)) == -kInf);
    CHECK(std::isnan(item(ts::var(ts::from_array(vec({kInf, 1}), 1)))));
    // Variance is accurate for data far from zero (no naive sum of squares).
    std::vector<double> shifted;
    for (int i = 0; i < 1000; ++i) shifted.push_back(1e9 + (i % 10));
    ts::Array s = ts::from_array(vec(shifted), 37);
    CHECK(item(ts::var(s)) == doctest::Approx(8.25).epsilon(1e-9));
}

TEST_CASE("exact error messages") {
    ts::Array a = ts::from_array(make_data(ts::float64, {4, 3}, 1), 2);
    CHECK_THROWS_WITH_AS(ts::sum(a, 2), "axis 2 is out of bounds for array of dimension 2", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::mean(a, -3), "axis -3 is out of bounds for array of dimension 2", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::var(a, {1, -1}), "repeated axis 1 in (1, -1)", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::sum(a, {}, {.split_every = 1}), "split_every must be at least 2, got 1", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::sum(a, {}, {.split_every = -4}), "split_every must be at least 2, got -4", ts::ValueError);
    ts::Array e = ts::from_array(NDArray::zeros(ts::int16, {0, 3}));
    CHECK_THROWS_WITH_AS(ts::min(e), "zero-size array to reduction operation minimum which has no identity",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(e.max(0), "zero-size array to reduction operation maximum which has no identity",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::nanmin(e, {0}), "zero-size array to reduction operation fmin which has no identity",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::nanmax(e), "zero-size array to reduction operation fmax which has no identity",
                         ts::ValueError);
    ts::Array s = ts::from_array(NDArray::scalar(ts::Scalar(2.0)));
    CHECK_THROWS_WITH_AS(ts::sum(s, 0), "axis 0 is out of bounds for array of dimension 0", ts::AxisError);
}

TEST_CASE("task parameters decode strictly") {
    using namespace ts::detail;
    ReduceParams p;
    p.kind = ReduceKind::NanVar;
    p.compute_dtype = ts::float32;
    p.out_dtype = ts::float32;
    p.ddof = 3;
    p.axes = {0, 2};
    p.program = std::string("\0\1prog", 6);
    ReduceParams q = decode_params(encode_params(p));
    CHECK(q.kind == p.kind);
    CHECK(q.compute_dtype == ts::float32);
    CHECK(q.ddof == 3);
    CHECK(q.axes == p.axes);
    CHECK(q.program == p.program);
    CHECK_THROWS_AS(decode_params("xy"), ts::ProtocolError);
}

// ------------------------------------------------------------------------------ chunking, trees

TEST_CASE("results do not depend on chunking or tree shape" * doctest::timeout(60)) {
    NDArray data = make_data(ts::float64, {20, 18}, 21, 0.1);
    const Ref ref_sum = reference(Kind::NanSum, data, std::vector<std::int64_t>{1}, false);
    const Ref ref_var = reference(Kind::NanVar, data, std::vector<std::int64_t>{0, 1}, true, 1);
    const Ref ref_max = reference(Kind::NanMax, data, std::vector<std::int64_t>{0}, false);
    NDArray first_max;
    for (ts::ChunkSpec spec : {ts::ChunkSpec(1), ts::ChunkSpec(3), ts::ChunkSpec({7, 5}), ts::ChunkSpec(-1)}) {
        for (int split : {2, 3, 8, 100}) {
            ts::Array a = ts::from_array(data, spec);
            INFO(a.chunks().str() << " split_every " << split);
            ts::ReduceOptions o{.split_every = split};
            CHECK(compare(ts::nansum(a, -1, o).compute(), ref_sum, ts::float64, 1e-13) == "");
            CHECK(compare(ts::nanvar(a, {}, {.keepdims = true, .split_every = split, .ddof = 1}).compute(), ref_var,
                          ts::float64, 1e-12) == "");
            NDArray mx = ts::nanmax(a, 0, o).compute();
            CHECK(compare(mx, ref_max, ts::float64, 0) == "");
            if (first_max.size() == 0) first_max = mx;
            CHECK(same_bits(mx, first_max));  // exact for every chunking
        }
    }
}

TEST_CASE("cross-check against xtensor" * doctest::timeout(60)) {
    NDArray data = make_data(ts::float64, {6, 5, 7}, 31);
    xt::xarray<double> x = ts::to_xarray<double>(data);
    ts::Array a = ts::from_array(data, {4, 2, 3});
    for (std::size_t axis = 0; axis < 3; ++axis) {
        INFO("axis " << axis);
        const auto ax = static_cast<std::int64_t>(axis);
        xt::xarray<double> s = xt::sum(x, {axis});
        xt::xarray<double> m = xt::mean(x, {axis});
        // (xt::variance with axes crashes in xtensor 0.24: the definition instead.)
        xt::xarray<double> mk = xt::mean(x, {axis}, xt::keep_dims);
        xt::xarray<double> v = xt::mean(xt::square(x - mk), {axis});
        xt::xarray<double> lo = xt::amin(x, {axis});
        CHECK(xt::allclose(ts::to_xarray<double>(ts::sum(a, ax).compute()), s, 1e-13, 1e-13));
        CHECK(xt::allclose(ts::to_xarray<double>(ts::mean(a, ax).compute()), m, 1e-13, 1e-13));
        CHECK(xt::allclose(ts::to_xarray<double>(ts::var(a, ax).compute()), v, 1e-12, 1e-13));
        CHECK(ts::to_xarray<double>(a.min(ax).compute()) == lo);
    }
    CHECK(item(a.sum()) == doctest::Approx(xt::sum(x)()).epsilon(1e-14));
    CHECK(item(a.std()) == doctest::Approx(xt::stddev(x)()).epsilon(1e-13));
}

TEST_CASE("pairwise summation keeps float32 data accurate" * doctest::timeout(60)) {
    // 2^21 float32 values of 0.1f: a float32 running sum drifts by percents.
    const std::int64_t n = std::int64_t{1} << 21;
    NDArray tenth = NDArray::full(ts::float32, {n}, ts::Scalar(0.1f));
    ts::Array a = ts::from_array(tenth, n / 4);
    const double exact = static_cast<double>(0.1f) * static_cast<double>(n);
    CHECK(ts::sum(a).compute().item<float>() == doctest::Approx(exact).epsilon(1e-7));
    CHECK(ts::mean(a).compute().item<float>() == 0.1f);
    CHECK(ts::var(a).compute().item<float>() == 0.0f);
}

TEST_CASE("schedulers agree bitwise via config::Scoped" * doctest::timeout(60)) {
    NDArray data = make_data(ts::float64, {300, 7}, 41, 0.05);
    ts::Array a = ts::from_array(data, {11, 3});
    std::vector<ts::Array> results{ts::nanmean(a, 0), ts::std(a, 1, {.keepdims = true}), ts::nanvar(a),
                                   ts::prod(a, 1), ts::nanmin(a, {0, 1})};
    std::vector<NDArray> sync;
    {
        ts::config::Scoped s({.scheduler = "sync"});
        for (const auto& r : results) sync.push_back(r.compute());
    }
    ts::config::Scoped t({.num_threads = 4, .scheduler = "threads"});
    for (int repeat = 0; repeat < 5; ++repeat)
        for (std::size_t k = 0; k < results.size(); ++k) CHECK(same_bits(results[k].compute(), sync[k]));
}
