// Tests of the custom block-wise operations (include/tessera/custom.hpp): map_blocks,
// map_overlap, blockwise, reduction and apply_along_axis, each against a whole-array xtensor
// reference over four chunkings (single block, regular, ragged, size-1 blocks along one axis)
// and the sync and threads schedulers; exact errors; registered kernels on a LocalCluster.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xio.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "array_custom/kernels.hpp"
#include "tessera/xtensor.hpp"

using namespace custom_test;
using ts::NDArray;

// ------------------------------------------------------------------------------ map_blocks

TEST_CASE("map_blocks: a registered kernel with params over every chunking and scheduler" * doctest::timeout(60)) {
    const xt::xarray<double> data = make_data({7, 5}, 1);
    for (const auto& [label, spec] : chunkings_2d()) {
        const ts::Array x = ts::from_array(to_nd(data), spec);
        const ts::Array y = ts::map_blocks("tests.add_scaled", {x}, {.params = ts::Value::from(2.5)});
        CHECK(y.chunks() == x.chunks());
        CHECK(y.dtype() == ts::float64);
        CHECK(y.name().rfind("add_scaled-", 0) == 0);
        for (const char* s : kSchedulers) {
            INFO(label << " " << s);
            check_close(y.compute(on(s)), data * 2.5);
        }
    }
}

TEST_CASE("map_blocks: inputs that are elementwise expressions and shape operations" * doctest::timeout(60)) {
    const xt::xarray<double> data = make_data({7, 5}, 12);
    xt::xarray<double> root = data;
    for (auto& v : root) v = std::sqrt(std::abs(v)) + 1.0;
    for (const auto& [label, spec] : chunkings_2d()) {
        const ts::Array x = ts::from_array(to_nd(data), spec);
        const ts::Array y = ts::map_blocks("tests.add_scaled", {x * 2.0 + 1.0, ts::transpose(ts::transpose(x))});
        const ts::Array z = ts::map_blocks("tests.identity", {ts::sqrt(ts::abs(x))}) + 1.0;
        for (const char* s : kSchedulers) {
            INFO(label << " " << s);
            check_close(y.compute(on(s)), data * 3.0 + 1.0);
            check_close(z.compute(on(s)), root);
        }
    }
}

TEST_CASE("custom graphs give identical answers fused and unfused" * doctest::timeout(60)) {
    const xt::xarray<double> data = make_data({7, 5}, 13);
    const ts::Array x = ts::from_array(to_nd(data), ts::ChunkSpec{3, 2});
    const std::vector<ts::Array> graphs{
        ts::map_blocks("tests.add_scaled", {x * 2.0 - 1.0}),
        ts::map_overlap("tests.laplacian", x + 1.0, {1, 1}, {.boundary = {ts::Boundary::periodic()}}) * 2.0,
        ts::blockwise("tests.matmul", "ik,kj->ij", {x * 1.5, ts::transpose(x)}),
        ts::reduction(x - 0.5, "tests.sum_squares", "tests.sqrt_sum", std::nullopt, 1, {.split_every = 2}),
        ts::apply_along_axis("tests.cumsum", 0, ts::abs(x))};
    for (const auto& g : graphs) {
        for (const char* s : kSchedulers) {
            INFO(g.name() << " " << s);
            const NDArray fused = g.compute(on(s));
            ts::config::Scoped unfused({.optimize = false});
            CHECK(g.compute(on(s)).equals(fused));
        }
    }
}

TEST_CASE("map_blocks: params of arrays and lists reach the kernel intact" * doctest::timeout(60)) {
    const ts::Value params(ts::ValueList{ts::Value::from(2.0), ts::Value(NDArray::from_vector(std::vector<std::int32_t>{1, 2, 3})),
                                         ts::Value(), ts::Value(ts::ValueList{ts::Value::from(true)})});
    auto kernel = [](std::span<const NDArray> b, const ts::BlockInfo&, const ts::Value& p) {
        const auto& l = p.list();
        REQUIRE(l.size() == 4);
        const double k = l[0].as<double>() + static_cast<double>(l[1].array().at<std::int32_t>({2})) +
                         (l[2].is_none() ? 10.0 : 0.0) + (l[3].list()[0].as<bool>() ? 100.0 : 0.0);
        return to_nd(to_xt(b[0]) * k);
    };
    const xt::xarray<double> data = make_data({4, 3}, 14);
    const ts::Array y = ts::map_blocks(kernel, {ts::from_array(to_nd(data), 2)}, {.params = params});
    check_close(y.compute(on("threads")), data * 115.0);
}

TEST_CASE("map_blocks: several inputs are broadcast and their chunks unified" * doctest::timeout(60)) {
    const xt::xarray<double> a = make_data({7, 5}, 2), b = make_data({5}, 3), c = make_data({1, 5}, 4);
    const ts::Array vb = ts::from_array(to_nd(b), 2);
    const ts::Array vc = ts::from_array(to_nd(c), ts::ChunkSpec{1, 4});
    for (const auto& [label, spec] : chunkings_2d()) {
        const ts::Array x = ts::from_array(to_nd(a), spec);
        const ts::Array y = ts::map_blocks("tests.add_scaled", {x, vb, vc});
        CHECK(y.shape() == ts::Shape{7, 5});
        for (const char* s : kSchedulers) {
            INFO(label << " " << s);
            check_close(y.compute(on(s)), a + b + c);
        }
    }
    // Boundaries of ((3, 2), (4, 1), (2, 2, 1)) refined: (2, 1, 1, 1).
    const ts::Array x = ts::from_array(to_nd(make_data({5}, 5)), ts::ChunkSpec{ts::AxisChunks(ts::BlockSizes{3, 2})});
    const ts::Array z = ts::from_array(to_nd(make_data({5}, 6)), 4);
    const ts::Array w = ts::from_array(to_nd(make_data({5}, 7)), 2);
    CHECK(ts::map_blocks("tests.add_scaled", {x, z, w}).chunks() == ts::Chunks({{2, 1, 1, 1}}));
}

TEST_CASE("map_blocks: BlockInfo gives every block its global location, 0-d and empty included" * doctest::timeout(60)) {
    for (const auto& [label, spec] : chunkings_2d()) {
        INFO(label);
        const ts::Array x = ts::zeros({7, 5}, {.chunks = spec});
        const ts::Array y = ts::map_blocks("tests.global_index", {x}, {.dtype = ts::int64});
        const xt::xarray<std::int64_t> want = xt::arange<std::int64_t>(35).reshape({7, 5});
        CHECK(ts::to_xarray<std::int64_t>(y.compute(on("threads"))) == want);
    }
    const ts::Array scalar = ts::from_array(NDArray::scalar(ts::Scalar(3.0)));
    const NDArray s = ts::map_blocks("tests.global_index", {scalar}, {.dtype = ts::int64}).compute();
    CHECK(s.ndim() == 0);
    CHECK(s.item<std::int64_t>() == 0);
    const ts::Array empty = ts::zeros({0, 5}, {.chunks = ts::ChunkSpec{2, 2}});
    const NDArray e = ts::map_blocks("tests.add_scaled", {empty}).compute();
    CHECK(e.shape() == ts::Shape{0, 5});
}

TEST_CASE("map_blocks: drop_axis concatenates the dropped axis, new_axis and chunks reshape blocks" *
          doctest::timeout(60)) {
    const xt::xarray<double> data = make_data({7, 5}, 8);
    for (const auto& [label, spec] : chunkings_2d()) {
        const ts::Array x = ts::from_array(to_nd(data), spec);
        const ts::Array sums = ts::map_blocks("tests.row_sums", {x}, {.drop_axis = {1}});
        CHECK(sums.chunks() == ts::Chunks({x.chunks().sizes(0)}));

        const ts::Array both = ts::map_blocks(
            "tests.with_negation", {x}, {.chunks = {x.chunks().sizes(0), x.chunks().sizes(1), {2}}, .new_axis = {2}});
        CHECK(both.shape() == ts::Shape{7, 5, 2});

        ts::BlockSizes doubled;
        for (auto n : x.chunks().sizes(0)) doubled.push_back(2 * n);
        const ts::Array rep = ts::map_blocks("tests.repeat_rows", {x}, {.chunks = {doubled, x.chunks().sizes(1)}});
        CHECK(rep.shape() == ts::Shape{14, 5});

        xt::xarray<double> repeated = xt::zeros<double>({14, 5});
        for (std::size_t i = 0; i < 14; ++i) xt::row(repeated, static_cast<std::ptrdiff_t>(i)) = xt::row(data, static_cast<std::ptrdiff_t>(i / 2));
        for (const char* s : kSchedulers) {
            INFO(label << " " << s);
            check_close(sums.compute(on(s)), sum_axes(data, {1}, false));
            check_close(both.compute(on(s)), stack_last(data, -data));
            check_close(rep.compute(on(s)), repeated);
        }
    }
    // One size per axis stands for every block along it.
    const ts::Array x = ts::from_array(to_nd(data), ts::ChunkSpec{3, 5});
    CHECK(ts::map_blocks("tests.repeat_rows", {x}, {.chunks = {{6}, {5}}}).chunks() == ts::Chunks({{6, 6, 6}, {5}}));
}

TEST_CASE("map_blocks: a local callable runs on sync and threads and rides in Task::local" * doctest::timeout(60)) {
    const xt::xarray<double> data = make_data({7, 5}, 9);
    const double k = 3.0;
    auto kernel = [k](std::span<const NDArray> blocks, const ts::BlockInfo& info, const ts::Value&) {
        return to_nd(to_xt(blocks[0]) * k + static_cast<double>(info.block_index()[0]) * 0.0);
    };
    for (const auto& [label, spec] : chunkings_2d()) {
        const ts::Array y = ts::map_blocks(kernel, {ts::from_array(to_nd(data), spec)}, {.name = "triple"});
        CHECK(y.name().rfind("triple-", 0) == 0);
        for (const char* s : kSchedulers) {
            INFO(label << " " << s);
            check_close(y.compute(on(s)), data * 3.0);
        }
        const ts::Graph graph = y.graph();
        for (const auto& task : graph.tasks()) {
            if (task.key.name() != y.name()) continue;
            CHECK(ts::op_name(task.op) == "tessera.block_call");
            CHECK(task.local != nullptr);
        }
    }
    // Two calls with one callable never share keys (a callable cannot be hashed).
    const ts::Array x = ts::from_array(to_nd(data));
    CHECK(ts::map_blocks(kernel, {x}).name() != ts::map_blocks(kernel, {x}).name());
    // Registered kernels are pure: the same call gives the same keys.
    CHECK(ts::map_blocks("tests.identity", {x}).name() == ts::map_blocks("tests.identity", {x}).name());
}

TEST_CASE("map_blocks: errors" * doctest::timeout(60)) {
    const ts::Array x = ts::from_array(to_nd(make_data({4, 3}, 10)), ts::ChunkSpec{2, 3});
    CHECK_THROWS_WITH_AS(ts::map_blocks("tests.nope", {x}), "unknown block kernel 'tests.nope'", ts::GraphError);
    CHECK_THROWS_WITH_AS(ts::map_blocks("tests.raw_op", {x}),
                         "operation 'tests.raw_op' is not a block kernel (register it with "
                         "TESSERA_REGISTER_BLOCK_KERNEL)",
                         ts::GraphError);
    CHECK_THROWS_WITH_AS(ts::map_blocks("tests.identity", {}), "map_blocks needs at least one input array",
                         ts::ValueError);
    struct Opaque {
        int v = 1;
    };
    CHECK_THROWS_WITH_AS(ts::map_blocks("tests.identity", {x}, {.params = ts::Value::from(Opaque{})}),
                         "the params of map_blocks must hold only arrays, scalars and lists so it can be sent to "
                         "workers, not a C++ object",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::map_blocks("tests.identity", {x}, {.chunks = {{2}}}),
                         "chunks give 1 axes but the output has 2 dimensions", ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::map_blocks("tests.identity", {x}, {.chunks = {{1, 1, 2}, {3}}}),
                         "chunks for axis 0 give 3 blocks but the output has 2 blocks along it", ts::ChunkError);
    CHECK_THROWS_AS(ts::map_blocks("tests.identity", {x}, {.drop_axis = {2}}), ts::AxisError);
    const ts::Array other = ts::from_array(to_nd(make_data({4, 4}, 11)));
    CHECK_THROWS_WITH_AS(ts::map_blocks("tests.add_scaled", {x, other}),
                         "operand 1 has extent 4 along index 'b' but an earlier operand has 3", ts::ShapeError);

    // A result of the wrong dtype or shape names the task key.
    for (const char* s : kSchedulers) {
        const ts::Array f32 = ts::map_blocks("tests.to_float32", {x});
        CHECK_THROWS_WITH_AS(f32.compute(on(s)),
                             fmt::format("task ('{}', 0, 0): block kernel 'tests.to_float32' returned dtype float32, "
                                         "but map_blocks declared dtype float64",
                                         f32.name())
                                 .c_str(),
                             ts::ValueError);
        const ts::Array rows = ts::map_blocks("tests.first_row", {ts::from_array(to_nd(make_data({4, 3}, 10)))});
        CHECK_THROWS_WITH_AS(rows.compute(on(s)),
                             fmt::format("task ('{}', 0, 0): block kernel 'tests.first_row' returned shape (1, 3), "
                                         "but map_blocks expected shape (4, 3)",
                                         rows.name())
                                 .c_str(),
                             ts::ValueError);
    }
    auto bad = [](std::span<const NDArray> b, const ts::BlockInfo&, const ts::Value&) { return b[0].astype(ts::int8); };
    const ts::Array y = ts::map_blocks(bad, {x});
    CHECK_THROWS_WITH_AS(y.compute(on("sync")),
                         fmt::format("task ('{}', 0, 0): the block function returned dtype int8, but map_blocks "
                                     "declared dtype float64",
                                     y.name())
                             .c_str(),
                         ts::ValueError);
}
