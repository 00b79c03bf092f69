// rechunk: every pair of source/target chunkings of a 2-d array (values unchanged, chunks as
// normalize_chunks says), ragged round trips, the "-1"/"auto" forms, empty and 0-d arrays,
// Dask's plan_rechunk fixtures, and the graph of a large transposing rechunk.
#include <doctest/doctest.h>

#include <algorithm>

#include "array/shape_ops.hpp"
#include "helpers.hpp"

using namespace shape_test;
using ts::NDArray;

namespace {

std::vector<std::pair<std::string, ts::ChunkSpec>> rechunk_specs(const ts::Shape& shape) {
    auto specs = chunkings(shape, 0);
    auto more = chunkings(shape, 1);
    specs.push_back(more.back());
    specs.emplace_back("(3, 4)", ts::ChunkSpec({3, 4}));
    specs.emplace_back("explicit irregular", ts::ChunkSpec({ts::AxisChunks({4, 1, 2}), ts::AxisChunks({2, 5, 2})}));
    specs.emplace_back("(-1, 2)", ts::ChunkSpec({-1, 2}));
    specs.emplace_back("with empty blocks", ts::ChunkSpec({ts::AxisChunks({0, 7}), ts::AxisChunks({4, 0, 5})}));
    return specs;
}

ts::Chunks normalized(const ts::ChunkSpec& spec, const ts::Array& x, std::int64_t limit) {
    return ts::normalize_chunks(spec, x.shape(), x.dtype(), x.chunks(), limit);
}

std::vector<ts::BlockSizes> repeat(std::int64_t size, std::int64_t count) {
    return {ts::BlockSizes(static_cast<std::size_t>(count), size)};
}

// Dask's test_plan_rechunk helper: the chunkings of every step.
std::vector<std::vector<ts::BlockSizes>> plan(const std::vector<ts::BlockSizes>& old_chunks,
                                              const std::vector<ts::BlockSizes>& new_chunks, std::int64_t itemsize = 1,
                                              std::int64_t block_size_limit = 10'000'000, double threshold = 4) {
    std::vector<std::vector<ts::BlockSizes>> out;
    for (const auto& step : ts::detail::plan_rechunk(ts::Chunks(old_chunks), ts::Chunks(new_chunks), itemsize,
                                                     threshold, block_size_limit))
        out.push_back(step.axes());
    return out;
}

}  // namespace

TEST_CASE("rechunk between every pair of chunkings of a 2-d array" * doctest::timeout(60)) {
    const ts::Shape shape{7, 9};
    const NDArray data = sample(shape);
    const auto specs = rechunk_specs(shape);
    for (const auto& [from_label, from] : specs) {
        const ts::Array x = ts::from_array(data, from);
        for (const auto& [to_label, to] : specs) {
            INFO(from_label << " -> " << to_label);
            const ts::Array y = ts::rechunk(x, to);
            CHECK(y.chunks() == ts::normalize_chunks(to, shape, ts::float64));
            CHECK(same(compute_all(y), data));
            if (y.chunks() == x.chunks()) CHECK(y.name() == x.name());
            // Round trip back to the source chunks.
            const ts::Array back = ts::rechunk(y, ts::ChunkSpec(x.chunks()));
            CHECK(back.chunks() == x.chunks());
            CHECK(same(compute_all(back), data));
        }
    }
}

TEST_CASE("rechunk with -1 and auto, of other dtypes, 0-d and empty arrays" * doctest::timeout(60)) {
    const NDArray data = sample_ints({30, 20}, ts::int16);
    const ts::Array x = ts::from_array(data, {7, 3});
    const std::int64_t limit = 200 * 2;  // 200 int16 elements per block
    const ts::RechunkOptions options{.block_size_limit = limit};
    for (const ts::ChunkSpec& spec : {ts::ChunkSpec("auto"), ts::ChunkSpec({-1, "auto"}), ts::ChunkSpec({"auto", 3}),
                                      ts::ChunkSpec(-1), ts::ChunkSpec({5, -1})}) {
        const ts::Array y = ts::rechunk(x, spec, options);
        CHECK(y.chunks() == normalized(spec, x, limit));
        CHECK(same(compute_all(y), data));
    }
    // "auto" keeps to the previous chunks' multiples: 200 elements over (7, 3) blocks.
    CHECK(ts::rechunk(x, {-1, "auto"}, options).chunks().sizes(0) == ts::BlockSizes{30});
    CHECK(ts::rechunk(x, -1).chunks() == ts::Chunks({{30}, {20}}));

    const ts::Array s = ts::from_array(NDArray::scalar(ts::Scalar(4.0)));
    CHECK(ts::rechunk(s, "auto").name() == s.name());
    CHECK(ts::rechunk(s, ts::ChunkSpec(std::vector<ts::AxisChunks>{})).name() == s.name());

    const NDArray empty_data = NDArray::zeros(ts::float64, {0, 5});
    const ts::Array e = ts::from_array(empty_data, {1, 2});
    for (const ts::ChunkSpec& spec : {ts::ChunkSpec({-1, 1}), ts::ChunkSpec({1, ts::AxisChunks({4, 1})})}) {
        const ts::Array y = ts::rechunk(e, spec);
        CHECK(y.chunks() == ts::normalize_chunks(spec, {0, 5}, ts::float64));
        CHECK(same(compute_all(y), empty_data));
        CHECK(count_deps(y.graph(), "tessera.assemble") == 0);
    }

    CHECK_THROWS_WITH_AS(ts::rechunk(x, {ts::AxisChunks({3, 3}), -1}),
                         "chunks (3, 3) for axis 0 sum to 6 but the axis has length 30", ts::ChunkError);
}

TEST_CASE("ragged rechunk round trips keep every value" * doctest::timeout(60)) {
    const NDArray data = sample({23, 17});
    const ts::Array x = ts::from_array(data, {5, 4});
    const ts::Array a = ts::rechunk(x, {ts::AxisChunks({1, 9, 2, 11}), ts::AxisChunks({16, 1})});
    const ts::Array b = ts::rechunk(a, {ts::AxisChunks({23}), ts::AxisChunks({3, 3, 3, 3, 3, 2})});
    const ts::Array c = ts::rechunk(b, {5, 4});
    CHECK(c.chunks() == x.chunks());
    CHECK(same(compute_all(a), data));
    CHECK(same(compute_all(b), data));
    CHECK(same(compute_all(c), data));
}

TEST_CASE("plan_rechunk matches Dask's planner" * doctest::timeout(60)) {
    const auto c = repeat(20, 2)[0];   // coarse
    const auto f = repeat(2, 20)[0];   // fine
    const auto m = repeat(10, 4)[0];   // mid
    using Plan = std::vector<std::vector<ts::BlockSizes>>;
    // No intermediate needed.
    CHECK(plan({c}, {f}) == Plan{{f}});
    CHECK(plan({c, c}, {f, f}) == Plan{{f, f}});
    CHECK(plan({f, f}, {c, c}) == Plan{{c, c}});
    CHECK(plan({f, c}, {c, c}) == Plan{{c, c}});
    CHECK(plan({c, c, c, c}, {c, f, c, c}) == Plan{{c, f, c, c}});
    CHECK(plan({c, c}, {f, f}, 1, 10'000'000, 1) == Plan{{f, f}});
    // An intermediate reduces the graph size.
    CHECK(plan({f, c}, {c, f}) == Plan{{c, c}, {c, f}});
    auto cat = [](ts::BlockSizes a, const ts::BlockSizes& b) {
        a.insert(a.end(), b.begin(), b.end());
        return a;
    };
    CHECK(plan({cat(c, c), cat(c, f)}, {cat(f, f), cat(c, c)}) ==
          Plan{{cat(c, c), cat(c, c)}, {cat(f, f), cat(c, c)}});
    // Just at the memory limit: an intermediate; just above it: a partial merge.
    CHECK(plan({f, c}, {c, f}, 1, 400) == Plan{{c, c}, {c, f}});
    CHECK(plan({f, c}, {c, f}, 1, 399) == Plan{{m, c}, {c, f}});
    CHECK(plan({f, c}, {c, f}, 10, 3999) == Plan{{m, c}, {c, f}});

    // A larger problem: more intermediates, each merging along the first axis and splitting
    // along the second.
    const auto cc = repeat(1000, 2)[0];
    const auto ff = repeat(2, 1000)[0];
    const Plan steps = plan({ff, cc}, {cc, ff}, 1, 99999);
    REQUIRE(steps.size() == 3);
    CHECK(steps.back() == std::vector<ts::BlockSizes>{cc, ff});
    for (std::size_t k = 0; k + 1 < steps.size(); ++k) {
        CHECK(static_cast<double>(steps[k + 1][0].size()) <= static_cast<double>(steps[k][0].size()) / 2.0);
        CHECK(static_cast<double>(steps[k + 1][1].size()) >= static_cast<double>(steps[k][1].size()) * 2.0);
    }
}

TEST_CASE("a multi-stage rechunk gives the same values" * doctest::timeout(60)) {
    const NDArray data = sample({64, 64});
    const ts::Array x = ts::from_array(data, {64, 1});
    // 256 elements per block at most: direct would be 64 x 64 overlaps.
    const ts::Array y = ts::rechunk(x, {1, 64}, {.block_size_limit = 256 * 8});
    CHECK(y.chunks() == ts::Chunks({ts::BlockSizes(64, 1), {64}}));
    const ts::Graph g = y.graph();
    // Two intermediate stages: ((64,), (4,) * 16) and ((16,) * 4, (16,) * 4), then the target.
    CHECK(count_op(g, "tessera.assemble") == 16 + 16 + 64);
    CHECK(count_deps(g, "tessera.assemble") == 64 + 16 * 4 + 64 * 4);
    CHECK(same(compute_all(y), data));
    // Without planning (a huge threshold) every output block reads all 64 input blocks.
    const ts::Array direct = ts::rechunk(x, {1, 64}, {.block_size_limit = 256 * 8, .threshold = 1e9});
    CHECK(count_deps(direct.graph(), "tessera.assemble") == 64 * 64);
    CHECK(same(compute_all(direct), data));
}

TEST_CASE("rechunk (4096, 256) -> (256, 16384) blocks of a (4096, 16384) array is not all-to-all" * doctest::timeout(60)) {
    // Without the optimizer a random array is read from its blocks like any stored array (with
    // it, see the next test, its pieces are computed where they are needed and there is no plan).
    ts::config::Scoped scoped({.chunk_size_bytes = std::int64_t{128} << 20, .optimize = false});
    const ts::Array x = ts::random::random({4096, 16384}, {.chunks = {4096, 256}, .seed = 1});
    REQUIRE(x.numblocks() == ts::Shape{1, 64});
    const ts::Array y = ts::rechunk(x, {256, 16384});
    CHECK(y.chunks() == ts::Chunks({ts::BlockSizes(16, 256), {16384}}));
    const ts::Graph g = y.graph();
    // One intermediate stage ((4096,), (4096,) * 4): 4 tasks of 16 input blocks (128 MiB each),
    // then 16 tasks of 4 pieces; a direct rechunk would be 16 tasks of 64 blocks (1024 pieces).
    CHECK(count_op(g, "tessera.assemble") == 4 + 16);
    CHECK(count_deps(g, "tessera.assemble") == 64 + 16 * 4);
    std::int64_t widest = 0;
    for (const auto& task : g.tasks()) {
        CHECK(task.local == nullptr);
        widest = std::max(widest, static_cast<std::int64_t>(task.deps.size()));
    }
    CHECK(widest == 16);
    CHECK(count_deps(ts::rechunk(x, {256, 16384}, {.threshold = 1e9}).graph(), "tessera.assemble") == 16 * 64);
}

TEST_CASE("rechunk of a generated array computes each output block's pieces: one stage, no input block" *
          doctest::timeout(60)) {
    const ts::Shape shape{40, 160};
    for (ts::DType dtype : {ts::float64, ts::float32}) {
        const ts::Array x = ts::random::random(shape, {.chunks = {{40}, {7, 3, 50, 100}}, .seed = 5, .dtype = dtype});
        const ts::Array e = x * 2 + ts::arange(160.0);  // an expression of sources only
        for (const ts::Array& input : {x, e}) {
            const NDArray values = compute_all(input);
            const std::vector<ts::ChunkSpec> targets = {ts::ChunkSpec(ts::Shape{10, 160}),
                                                        ts::ChunkSpec({ts::AxisChunks({1, 39}), ts::AxisChunks(160)}),
                                                        ts::ChunkSpec(ts::Shape{40, 1})};
            for (const ts::ChunkSpec& target : targets) {
                const ts::Array y = ts::rechunk(input, target);
                INFO(dtype.name() << " " << input.name() << " -> " << y.chunks().str());
                const ts::Graph g = y.graph(true);
                CHECK(count_name(g, input.name()) == 0);
                CHECK(count_name(g, x.name()) == 0);
                CHECK(count_op(g, "tessera.assemble") == ts::shape_size(y.numblocks()));
                CHECK(same(compute_all(y), values));
            }
        }
    }
    // A big one: (4096, 256) -> (256, 16384) blocks is one stage of 16 tasks without deps.
    const ts::Array big = ts::random::random({4096, 16384}, {.chunks = {4096, 256}, .seed = 1});
    const ts::Graph g = ts::rechunk(big, {256, 16384}).graph(true);
    CHECK(count_op(g, "tessera.assemble") == 16);
    CHECK(count_deps(g, "tessera.assemble") == 0);
}
