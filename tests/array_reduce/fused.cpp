// Reductions of elementwise expressions and random sources: the first stage evaluates the fused
// program itself (nothing is materialized), and fused and unfused graphs agree bitwise.
#include <doctest/doctest.h>

#include <cmath>
#include <string_view>

#include "helpers.hpp"

using namespace reduce_test;
using ts::NDArray;

namespace {

std::int64_t count_ops(const ts::Graph& g, std::string_view op) {
    std::int64_t n = 0;
    for (const auto& t : g.tasks()) n += ts::op_name(t.op) == op ? 1 : 0;
    return n;
}

// y = x * 2 + 1 computed elementwise on the materialized data (the independent reference input).
NDArray affine(const NDArray& x) {
    NDArray y = x.astype(ts::float64);
    for (std::int64_t i = 0; i < y.size(); ++i) {
        std::vector<std::int64_t> idx(static_cast<std::size_t>(y.ndim()));
        std::int64_t rest = i;
        for (std::size_t axis = idx.size(); axis-- > 0;) idx[axis] = rest % y.shape(static_cast<std::int64_t>(axis)), rest /= y.shape(static_cast<std::int64_t>(axis));
        y.set(idx, ts::Scalar(y.at<double>(idx) * 2 + 1));
    }
    return y;
}

}  // namespace

TEST_CASE("mean and std of 10^6 normal(1, 2) values" * doctest::timeout(60)) {
    const std::int64_t n = 1000000;
    ts::Array x = ts::random::normal(1.0, 2.0, {n}, {.chunks = {62500}, .seed = 7});
    ts::Array mu = ts::mean(x), sd = ts::std(x);
    auto [m, s] = ts::compute(mu, sd);
    const double sigma = 2.0 / std::sqrt(static_cast<double>(n));
    CHECK(std::abs(m.item<double>() - 1.0) < 5 * sigma);
    // The sample std of n normals has standard error scale / sqrt(2n).
    CHECK(std::abs(s.item<double>() - 2.0) < 5 * 2.0 / std::sqrt(2.0 * static_cast<double>(n)));

    // The random source is evaluated inside the reduction's chunk tasks (when optimizing, the
    // default; TESSERA_OPTIMIZE=0 in the environment turns fusion off).
    ts::Graph fused;
    {
        ts::config::Scoped on({.optimize = true});
        fused = mu.graph();
    }
    CHECK(count_ops(fused, "tessera.reduce_fused") == 16);
    CHECK(count_ops(fused, "tessera.fused") == 0);
    CHECK(count_ops(fused, "tessera.reduce_chunk") == 0);
    ts::Graph unfused = mu.graph(false);
    CHECK(count_ops(unfused, "tessera.fused") == 16);
    CHECK(count_ops(unfused, "tessera.reduce_chunk") == 16);

    // Same chunking: fused/unfused and sync/threads give identical bits.
    NDArray reference = mu.compute({.scheduler = "sync"});
    CHECK(same_bits(reference, m));
    {
        ts::config::Scoped off({.optimize = false});
        CHECK(same_bits(mu.compute({.scheduler = "threads"}), reference));
        CHECK(same_bits(sd.compute({.scheduler = "sync"}), s));
    }
    // Another chunking of the same random numbers: the same mean up to rounding.
    ts::Array x2 = ts::random::normal(1.0, 2.0, {n}, {.chunks = {300000}, .seed = 7});
    CHECK(ts::mean(x2).compute().item<double>() == doctest::Approx(m.item<double>()).epsilon(1e-12));
}

TEST_CASE("reductions of fused arithmetic match the materialized reference" * doctest::timeout(60)) {
    NDArray data = make_data(ts::float64, {9, 8}, 51, 0.2);
    const NDArray y_data = affine(data);
    for (const auto& [label, spec] : chunkings(data.shape())) {
        ts::Array x = ts::from_array(data, spec);
        ts::Array y = x * 2 + 1;
        for (const auto& axis : axis_choices(2)) {
            for (const auto& info : all_kinds()) {
                INFO(info.name << " chunks " << label << " axis " << axis.label);
                ts::Array r = info.fn(y, axis.axes, {});
                const ts::DType dtype = (info.kind == Kind::Any || info.kind == Kind::All) ? ts::bool_ : ts::float64;
                NDArray got = r.compute({.scheduler = "threads"});
                CHECK(compare(got, reference(info.kind, y_data, axis.normalized, false), dtype, 1e-12) == "");
                ts::config::Scoped off({.optimize = false});
                CHECK(same_bits(r.compute({.scheduler = "sync"}), got));
            }
        }
    }
}

TEST_CASE("shared subexpressions in one compute" * doctest::timeout(60)) {
    NDArray data = make_data(ts::float64, {40, 6}, 61);
    ts::Array x = ts::from_array(data, {7, 4});
    ts::Array y = x * 2 + 1;
    auto [total, spread, whole] = ts::compute(ts::sum(y, 0), ts::var(y), y);
    const NDArray y_data = affine(data);
    CHECK(compare(total, reference(Kind::Sum, y_data, std::vector<std::int64_t>{0}, false), ts::float64, 1e-13) == "");
    CHECK(compare(spread, reference(Kind::Var, y_data, std::vector<std::int64_t>{0, 1}, false), ts::float64, 1e-12) == "");
    CHECK(whole.equals(y_data));
    // A reduction of a reduction and of an integer random source.
    ts::Array k = ts::random::integers(0, 10, {500, 4}, {.chunks = {64, 3}, .seed = 3});
    NDArray kd = k.compute();
    std::int64_t expect = 0;
    for (std::int64_t i = 0; i < 500; ++i)
        for (std::int64_t j = 0; j < 4; ++j) expect += kd.at<std::int64_t>({i, j});
    CHECK(ts::sum(ts::sum(k, 0)).compute().item<std::int64_t>() == expect);
    CHECK(ts::sum(k).compute().item<std::int64_t>() == expect);
    CHECK(ts::max(k).compute().item<std::int64_t>() <= 9);
    CHECK(ts::min(k).compute().item<std::int64_t>() >= 0);
}
