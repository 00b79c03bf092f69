// The optimizer at lowering time: fusion of elementwise chains into reductions, streaming of
// fused blocks into reducers, and sharing of common work between outputs computed together.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "tessera/tessera.hpp"

namespace ts = tessera;

namespace {

std::int64_t count_op(const ts::Graph& g, std::string_view op) {
    std::int64_t n = 0;
    for (const auto& task : g.tasks()) n += ts::op_name(task.op) == op ? 1 : 0;
    return n;
}

ts::Graph joint_graph(std::initializer_list<const ts::Array*> arrays, std::vector<ts::Key>& keys) {
    ts::Graph g;
    ts::GraphBatch batch(g);
    for (const auto* a : arrays) a->add_to_graph(g, keys);
    batch.finish();
    return g;
}

bool bitwise_equal(const ts::NDArray& a, const ts::NDArray& b) {
    return a.dtype() == b.dtype() && a.shape() == b.shape() &&
           std::memcmp(a.raw_data(), b.raw_data(), static_cast<std::size_t>(a.nbytes())) == 0;
}

}  // namespace

TEST_CASE("an elementwise chain used by one reduction is fused into its chunk tasks") {
    auto x = ts::random::normal(0, 1, {1000, 37}, {.chunks = {300, 10}, .seed = 7});
    auto y = (x + 1) * 2;
    auto s = y.sum(0);
    ts::Graph g = s.graph();
    CHECK(count_op(g, "tessera.reduce_fused") == 4 * 4);
    CHECK_FALSE(g.contains(y.block_key(std::vector<std::int64_t>{0, 0})));
}

TEST_CASE("compute(a, b) computes an expression shared by both outputs once") {
    auto x = ts::random::normal(0, 1, {1000, 37}, {.chunks = {300, 10}, .seed = 7});
    auto y = ts::sqrt(ts::abs(x + 1)) * 2;
    auto a = y.sum(0);
    auto b = y.max(1);
    std::vector<ts::Key> keys;
    ts::Graph g = joint_graph({&a, &b}, keys);
    // y is materialized once and both reductions read it; nothing fuses y twice.
    CHECK(g.contains(y.block_key(std::vector<std::int64_t>{3, 3})));
    CHECK(count_op(g, "tessera.reduce_fused") == 0);
    CHECK(count_op(g, "tessera.reduce_chunk") == 2 * 16);
    CHECK(keys.size() == a.n_keys() + b.n_keys());

    // Same results, bit for bit, as computing each alone (the reducer sees the same stream).
    auto [ja, jb] = ts::compute(a, b);
    CHECK(bitwise_equal(ja, a.compute()));
    CHECK(bitwise_equal(jb, b.compute()));
    // And against the whole array.
    ts::NDArray whole = y.compute();
    for (std::int64_t j = 0; j < 37; ++j) {
        double total = 0;
        for (std::int64_t i = 0; i < 1000; ++i) total += whole.at<double>({i, j});
        CHECK(ja.at<double>({j}) == doctest::Approx(total).epsilon(1e-12));
    }
}

TEST_CASE("the same expression built twice is one computation") {
    auto x = ts::random::uniform(-1, 1, {500}, {.chunks = {128}, .seed = 3});
    auto a = ts::exp(x * 3).mean();
    auto b = ts::exp(x * 3).std();  // a new node with the same name
    std::vector<ts::Key> keys;
    ts::Graph g = joint_graph({&a, &b}, keys);
    auto y = ts::exp(x * 3);
    // One node, read by two reductions sharing their chunk stage: y is evaluated once per block
    // inside the shared chunk tasks (array/reduction_share.hpp).
    CHECK_FALSE(g.contains(y.block_key(std::vector<std::int64_t>{0})));
    CHECK(count_op(g, "tessera.reduce_fused") == 4);
    auto [ma, sb] = ts::compute(a, b);
    CHECK(bitwise_equal(ma, a.compute()));
    CHECK(bitwise_equal(sb, b.compute()));
}

TEST_CASE("an output that is also an input of another output is computed once") {
    auto x = ts::arange(0.0, 100.0, 1.0, {.chunks = {30}});
    auto y = x * x;
    auto total = y.sum();
    auto [yv, tv] = ts::compute(y, total);
    double expected = 0;
    for (int i = 0; i < 100; ++i) {
        CHECK(yv.at<double>({i}) == i * i);
        expected += i * i;
    }
    CHECK(tv.item<double>() == expected);
    std::vector<ts::Key> keys;
    ts::Graph g = joint_graph({&y, &total}, keys);
    CHECK(count_op(g, "tessera.reduce_fused") == 0);
}

TEST_CASE("fused reductions stream: variance of a long fused chain is accurate") {
    // Values around 1e8 with unit spread: naive sums of squares lose everything here.
    const std::int64_t n = 1 << 20;
    auto x = ts::random::normal(0, 1, {n}, {.chunks = {1 << 18}, .seed = 11}) + 1e8;
    double v = x.var().compute().item<double>();
    ts::NDArray whole = x.compute();
    double mean = 0;
    for (std::int64_t i = 0; i < n; ++i) mean += whole.data<double>()[i] - 1e8;
    mean = mean / static_cast<double>(n) + 1e8;
    double m2 = 0;
    for (std::int64_t i = 0; i < n; ++i) m2 += (whole.data<double>()[i] - mean) * (whole.data<double>()[i] - mean);
    CHECK(v == doctest::Approx(m2 / static_cast<double>(n)).epsilon(1e-9));
    // Row layout (reduce the leading axis of 2-d blocks), shifted sums per row group.
    auto z = ts::reshape(x, {1 << 10, 1 << 10});
    ts::NDArray col_var = ts::rechunk(z, {300, 256}).var(0).compute();
    for (std::int64_t j = 0; j < 1024; j += 97) {
        double mu = 0, q = 0;
        for (std::int64_t i = 0; i < 1024; ++i) mu += whole.data<double>()[i * 1024 + j] - 1e8;
        mu = mu / 1024 + 1e8;
        for (std::int64_t i = 0; i < 1024; ++i) {
            double d = whole.data<double>()[i * 1024 + j] - mu;
            q += d * d;
        }
        CHECK(col_var.at<double>({j}) == doctest::Approx(q / 1024).epsilon(1e-9));
    }
}

TEST_CASE("wide blocks reduced over leading axes: column-block order, same bits fused or not") {
    // 300 rows (more than one row group of 128) of 3000 outputs (three column blocks of 1024):
    // the reducer takes each column block's rows before the next block.
    auto u = ts::random::uniform(-1, 1, {300, 3000}, {.chunks = {300, 3000}, .seed = 5});
    auto x = ts::where(u > 0.7, ts::nan, u * 10 + 3);
    ts::NDArray whole = x.compute();
    auto materialized = x.persist();  // reductions of this read a block from memory (unfused)
    for (int kind = 0; kind < 3; ++kind) {
        auto reduce = [&](const ts::Array& a) {
            return kind == 0 ? ts::nanmean(a, {0}) : kind == 1 ? ts::nanvar(a, {0}) : ts::nanmax(a, {0});
        };
        ts::NDArray fused = reduce(x).compute();
        CHECK(bitwise_equal(fused, reduce(materialized).compute()));
        for (std::int64_t j = 0; j < 3000; j += 131) {
            double sum = 0, best = -ts::inf;
            std::int64_t n = 0;
            for (std::int64_t i = 0; i < 300; ++i) {
                const double v = whole.at<double>({i, j});
                if (std::isnan(v)) continue;
                sum += v, ++n, best = std::max(best, v);
            }
            const double mean = sum / static_cast<double>(n);
            double q = 0;
            for (std::int64_t i = 0; i < 300; ++i) {
                const double v = whole.at<double>({i, j});
                if (!std::isnan(v)) q += (v - mean) * (v - mean);
            }
            const double expected = kind == 0 ? mean : kind == 1 ? q / static_cast<double>(n) : best;
            CHECK(fused.at<double>({j}) == doctest::Approx(expected).epsilon(1e-12));
        }
    }
}
