// reduction and apply_along_axis against whole-array xtensor references, and registered
// kernels on a LocalCluster whose workers are this test binary.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>

#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "kernels.hpp"

using namespace custom_test;
using ts::NDArray;

namespace {

xt::xarray<double> norm(const xt::xarray<double>& x, const std::vector<std::int64_t>& axes, bool keepdims) {
    xt::xarray<double> s = sum_axes(x * x, axes, keepdims);
    for (auto& v : s) v = std::sqrt(v);
    return s;
}

}  // namespace

// ------------------------------------------------------------------------------ reduction

TEST_CASE("reduction: chunk / combine / aggregate tree equals the whole-array norm" * doctest::timeout(60)) {
    const xt::xarray<double> data = make_data({7, 5}, 40);
    struct Case {
        ts::Axes axis;
        std::vector<std::int64_t> axes;
    };
    const Case cases[] = {{ts::Axes(), {0, 1}}, {ts::Axes(0), {0}}, {ts::Axes(-1), {1}}, {ts::Axes({1, 0}), {0, 1}}};
    for (const auto& [label, spec] : chunkings_2d()) {
        const ts::Array x = ts::from_array(to_nd(data), spec);
        for (const auto& c : cases) {
            for (bool keepdims : {false, true}) {
                for (int split_every : {2, 8}) {
                    const ts::Array n = ts::reduction(x, "tests.sum_squares", "tests.sqrt_sum", ts::BlockKernel("tests.sum_keep"),
                                                      c.axis, {.keepdims = keepdims, .split_every = split_every});
                    const xt::xarray<double> want = norm(data, c.axes, keepdims);
                    CHECK(n.shape() == ts::Shape(want.shape().begin(), want.shape().end()));
                    for (const char* s : kSchedulers) {
                        INFO(label << " axes " << c.axes.size() << " keepdims " << keepdims << " split "
                                   << split_every << " " << s);
                        check_close(n.compute(on(s)), want);
                    }
                }
            }
        }
    }
}

TEST_CASE("reduction: combine defaults to aggregate; 0-d and empty inputs; local callables" * doctest::timeout(60)) {
    const xt::xarray<double> data = make_data({7, 5}, 41);
    const ts::Array x = ts::from_array(to_nd(data), ts::ChunkSpec{1, 2});
    // Without combine, sum_keep merges the partials at every level: the sum of squares.
    const ts::Array ss = ts::reduction(x, "tests.sum_squares", "tests.sum_keep", std::nullopt, 0, {.split_every = 3});
    check_close(ss.compute(on("threads")), sum_axes(data * data, {0}, false));
    CHECK(ss.name().rfind("sum_keep-", 0) == 0);
    // The tree over 7 blocks with split_every 2: 7 chunk tasks, 4 + 2 combine tasks, 1 aggregate.
    const ts::Array tree = ts::reduction(ts::from_array(to_nd(data), ts::ChunkSpec{1, -1}), "tests.sum_squares",
                                         "tests.sum_keep", std::nullopt, 0, {.split_every = 2});
    std::map<std::string, int> groups;
    const ts::Graph graph = tree.graph();
    for (const auto& task : graph.tasks()) ++groups[std::string(task.key.group())];
    CHECK(groups["sum_keep_chunk"] == 7);
    CHECK(groups["sum_keep_combine"] == 6);
    CHECK(groups["sum_keep"] == 1);
    check_close(tree.compute(on("threads")), sum_axes(data * data, {0}, false));

    const ts::Array scalar = ts::from_array(NDArray::scalar(ts::Scalar(-3.0)));
    CHECK(ts::reduction(scalar, "tests.sum_squares", "tests.sqrt_sum").compute().item<double>() == 3.0);

    const ts::Array empty = ts::zeros({0, 5}, {.chunks = ts::ChunkSpec{2, 2}});
    check_close(ts::reduction(empty, "tests.sum_squares", "tests.sum_keep", std::nullopt, 0).compute(),
                xt::zeros<double>({5}));

    auto count = [](std::span<const NDArray> b, const ts::BlockInfo& info, const ts::Value&) {
        return to_nd(sum_axes(xt::ones_like(to_xt(b[0])), info.axis, true));
    };
    check_close(ts::reduction(x, count, "tests.sum_keep", std::nullopt, 1, {.split_every = 2}).compute(on("threads")),
                xt::xarray<double>({5, 5, 5, 5, 5, 5, 5}));
}

TEST_CASE("reduction: errors" * doctest::timeout(60)) {
    const ts::Array x = ts::from_array(to_nd(make_data({4, 3}, 42)), ts::ChunkSpec{2, 2});
    CHECK_THROWS_AS(ts::reduction(x, "tests.sum_squares", "tests.sum_keep", std::nullopt, 2), ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::reduction(x, "tests.sum_squares", "tests.sum_keep", std::nullopt, 0, {.split_every = 1}),
                         "split_every must be at least 2, got 1", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::reduction(x, "tests.sum_squares", "tests.nope"), "unknown block kernel 'tests.nope'",
                         ts::GraphError);
    const ts::Array wrong = ts::reduction(x, "tests.sum_squares", "tests.sum_keep", std::nullopt, 0,
                                          {.dtype = ts::float32});
    CHECK_THROWS_WITH_AS(wrong.compute(on("sync")),
                         fmt::format("task ('{}', 0): block kernel 'tests.sum_keep' returned dtype float64, but "
                                     "reduction declared dtype float32",
                                     wrong.name())
                             .c_str(),
                         ts::ValueError);
}

// ------------------------------------------------------------------------------ apply_along_axis

TEST_CASE("apply_along_axis: same-length, vector and scalar results along either axis" * doctest::timeout(60)) {
    const xt::xarray<double> data = make_data({7, 5}, 50);
    for (const auto& [label, spec] : chunkings_2d()) {
        const ts::Array x = ts::from_array(to_nd(data), spec);
        const ts::Array c0 = ts::apply_along_axis("tests.cumsum", 0, x);
        const ts::Array c1 = ts::apply_along_axis("tests.cumsum", -1, x);
        CHECK(c0.chunks() == ts::Chunks({{7}, x.chunks().sizes(1)}));
        const ts::Array mm = ts::apply_along_axis("tests.min_max", 1, x, {.shape = ts::Shape{2}});
        CHECK(mm.chunks() == ts::Chunks({x.chunks().sizes(0), {2}}));
        const ts::Array s0 = ts::apply_along_axis("tests.sum_1d", 0, x, {.shape = ts::Shape{}});
        CHECK(s0.shape() == ts::Shape{5});
        xt::xarray<double> want_mm = xt::zeros<double>({7, 2});
        for (std::size_t i = 0; i < 7; ++i) {
            want_mm(i, 0) = xt::amin(xt::row(data, static_cast<std::ptrdiff_t>(i)))();
            want_mm(i, 1) = xt::amax(xt::row(data, static_cast<std::ptrdiff_t>(i)))();
        }
        for (const char* s : kSchedulers) {
            INFO(label << " " << s);
            check_close(c0.compute(on(s)), xt::cumsum(data, 0));
            check_close(c1.compute(on(s)), xt::cumsum(data, 1));
            check_close(mm.compute(on(s)), want_mm);
            check_close(s0.compute(on(s)), sum_axes(data, {0}, false));
        }
    }
    // Empty: no slices to call the kernel on.
    const ts::Array empty = ts::zeros({0, 4}, {.chunks = ts::ChunkSpec{2, 2}});
    CHECK(ts::apply_along_axis("tests.cumsum", 1, empty).compute().shape() == ts::Shape{0, 4});
    // The slice's location.
    std::vector<ts::Shape> starts;
    auto where = [&starts](std::span<const NDArray> b, const ts::BlockInfo& info, const ts::Value&) {
        starts.push_back(info.output.start);
        return b[0];
    };
    ts::apply_along_axis(where, 0, ts::zeros({2, 3}, {.chunks = ts::ChunkSpec{1, 2}})).compute(on("sync"));
    // One call per slice, in order; with TESSERA_VERIFY=1 the unfused rerun calls them once more.
    const std::vector<ts::Shape> expected{{0, 0}, {0, 1}, {0, 2}};
    REQUIRE(!starts.empty());
    REQUIRE(starts.size() % expected.size() == 0);
    for (std::size_t run = 0; run < starts.size() / expected.size(); ++run)
        CHECK(std::vector<ts::Shape>(starts.begin() + static_cast<std::ptrdiff_t>(run * expected.size()),
                                     starts.begin() + static_cast<std::ptrdiff_t>((run + 1) * expected.size())) ==
              expected);
}

TEST_CASE("apply_along_axis: errors" * doctest::timeout(60)) {
    const ts::Array x = ts::from_array(to_nd(make_data({4, 3}, 51)), ts::ChunkSpec{2, 2});
    CHECK_THROWS_AS(ts::apply_along_axis("tests.cumsum", 2, x), ts::AxisError);
    const ts::Array wrong = ts::apply_along_axis("tests.min_max", 0, x);
    CHECK_THROWS_WITH_AS(wrong.compute(on("sync")),
                         fmt::format("task ('{}', 0, 0): block kernel 'tests.min_max' returned shape (2,), but "
                                     "apply_along_axis expected shape (4,)",
                                     wrong.name())
                             .c_str(),
                         ts::ValueError);
}

// ------------------------------------------------------------------------------ distributed

TEST_CASE("registered block kernels run on distributed workers; local callables are refused" *
          doctest::timeout(60)) {
    const xt::xarray<double> data = make_data({7, 5}, 60);
    const ts::Array x = ts::from_array(to_nd(data), ts::ChunkSpec{3, 2});
    const ts::Array lap = ts::map_overlap("tests.laplacian", x, {1, 1}, {.boundary = {ts::Boundary::reflect()}});
    const ts::Array mm = ts::blockwise("tests.matmul", "ik,kj->ij", {x, ts::transpose(x)});
    const ts::Array n = ts::reduction(x, "tests.sum_squares", "tests.sqrt_sum", ts::BlockKernel("tests.sum_keep"), 0,
                                      {.split_every = 2});
    const NDArray lap_local = lap.compute(on("threads")), n_local = n.compute(on("threads"));
    const NDArray mm_local = mm.compute(on("threads"));
    const ts::Array single = ts::from_array(to_nd(data));
    auto kernel = [](std::span<const NDArray> b, const ts::BlockInfo&, const ts::Value&) { return b[0]; };
    const ts::Array local = ts::map_blocks(kernel, {single});

    ts::LocalCluster cluster(self_workers(2));
    ts::Client client(cluster);
    CHECK(lap.compute().equals(lap_local));
    CHECK(n.compute().equals(n_local));
    CHECK(mm.compute().equals(mm_local));
    CHECK_THROWS_WITH_AS(local.compute(),
                         fmt::format("task ('{}', 0, 0) carries a C++ payload (operation 'tessera.block_call') and "
                                     "cannot run on a distributed cluster; use a registered operation",
                                     local.name())
                             .c_str(),
                         ts::GraphError);
}
