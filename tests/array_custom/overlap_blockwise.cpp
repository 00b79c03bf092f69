// map_overlap and blockwise against whole-array xtensor references.
#include <doctest/doctest.h>

#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "kernels.hpp"

using namespace custom_test;
using ts::NDArray;

// ------------------------------------------------------------------------------ map_overlap

TEST_CASE("map_overlap: a Laplacian stencil equals the whole-array stencil for every boundary" *
          doctest::timeout(60)) {
    const xt::xarray<double> data = make_data({7, 5}, 20);
    for (const ts::Boundary& boundary : kBoundaries) {
        // The whole array padded by the same rule, the stencil, the padding cut off.
        const xt::xarray<double> padded = pad(data, {1, 1}, boundary);
        const xt::xarray<double> want = xt::view(laplacian(padded), xt::range(1, 8), xt::range(1, 6));
        for (const auto& [label, spec] : chunkings_2d()) {
            const ts::Array x = ts::from_array(to_nd(data), spec);
            const ts::Array y = ts::map_overlap("tests.laplacian", x, {1, 1}, {.boundary = {boundary}});
            CHECK(y.chunks() == x.chunks());
            // A halo deeper than the stencil needs changes nothing; size-1 blocks along axis 0
            // are merged to at least 2 elements first.
            const ts::Array deep = ts::map_overlap("tests.laplacian", x, {2, 1}, {.boundary = {boundary}});
            for (auto n : deep.chunks().sizes(0)) CHECK(n >= 2);
            for (const char* s : kSchedulers) {
                INFO(boundary_name(boundary) << " " << label << " " << s);
                check_close(y.compute(on(s)), want);
                check_close(deep.compute(on(s)), want);
            }
        }
    }
}

TEST_CASE("map_overlap: a 3-point moving average in 1-d, boundaries per axis" * doctest::timeout(60)) {
    const xt::xarray<double> data = make_data({11}, 21);
    for (const ts::Boundary& boundary : kBoundaries) {
        const xt::xarray<double> want = xt::view(moving_average(pad(data, {1}, boundary)), xt::range(1, 12));
        for (const auto& [label, spec] : chunkings_1d()) {
            const ts::Array x = ts::from_array(to_nd(data), spec);
            const ts::Array y = ts::map_overlap("tests.moving_average", x, {1}, {.boundary = {boundary}});
            for (const char* s : kSchedulers) {
                INFO(boundary_name(boundary) << " " << label << " " << s);
                check_close(y.compute(on(s)), want);
            }
        }
    }
    // Different rules per axis: periodic along axis 0, reflect along axis 1, depth 0 along none.
    const xt::xarray<double> grid = make_data({6, 4}, 22);
    xt::xarray<double> padded = pad(grid, {1, 0}, ts::Boundary::periodic());
    padded = pad(padded, {0, 1}, ts::Boundary::reflect());
    const xt::xarray<double> want = xt::view(laplacian(padded), xt::range(1, 7), xt::range(1, 5));
    const ts::Array x = ts::from_array(to_nd(grid), ts::ChunkSpec{4, 3});
    check_close(ts::map_overlap("tests.laplacian", x, {1, 1},
                                {.boundary = {ts::Boundary::periodic(), ts::Boundary::reflect()}})
                    .compute(),
                want);
    // 0-d (no axes to extend) and empty arrays.
    const ts::Array scalar = ts::from_array(NDArray::scalar(ts::Scalar(4.0)));
    CHECK(ts::map_overlap("tests.identity", scalar, {1}).compute().item<double>() == 4.0);
    const ts::Array empty = ts::zeros({0, 5}, {.chunks = ts::ChunkSpec{2, 2}});
    for (const ts::Boundary& boundary : kBoundaries) {
        INFO(boundary_name(boundary));
        CHECK(ts::map_overlap("tests.laplacian", empty, {0, 1}, {.boundary = {boundary}}).compute().shape() ==
              ts::Shape{0, 5});
    }
    // Depth 0 everywhere is map_blocks.
    check_close(ts::map_overlap("tests.identity", x, {0}).compute(), grid);
}

TEST_CASE("map_overlap: trim=false keeps the halo, BlockInfo reports it" * doctest::timeout(60)) {
    // x = 0..5 in blocks (2, 4), periodic depth 1: [5 | 0 1 | 2] and [1 | 2 3 4 5 | 0].
    const ts::Array x = ts::arange(std::int64_t{6}, {.chunks = ts::ChunkSpec{ts::AxisChunks(ts::BlockSizes{2, 4})}, .dtype = ts::int64});
    const ts::Array y = ts::map_overlap("tests.identity", x, {1}, {.boundary = {ts::Boundary::periodic()}, .trim = false});
    CHECK(y.chunks() == ts::Chunks({{4, 6}}));
    CHECK(ts::to_xarray<std::int64_t>(y.compute()) == xt::xarray<std::int64_t>{5, 0, 1, 2, 1, 2, 3, 4, 5, 0});
    const ts::Array none = ts::map_overlap("tests.identity", x, {1}, {.trim = false});
    CHECK(none.chunks() == ts::Chunks({{3, 5}}));
    CHECK(ts::to_xarray<std::int64_t>(none.compute()) == xt::xarray<std::int64_t>{0, 1, 2, 1, 2, 3, 4, 5});

    std::vector<ts::BlockInfo> seen(2);
    auto record = [&seen](std::span<const NDArray> b, const ts::BlockInfo& info, const ts::Value&) {
        seen[static_cast<std::size_t>(info.block_index()[0])] = info;
        return b[0];
    };
    ts::map_overlap(record, x, {1}, {.boundary = {ts::Boundary::constant(-1)}}).compute(on("sync"));
    CHECK(seen[0].halo_before == ts::Shape{1});
    CHECK(seen[0].halo_after == ts::Shape{1});
    CHECK(seen[0].chunk_shape == ts::Shape{4});
    CHECK(seen[1].output.start == ts::Shape{2});
    CHECK(seen[1].output.stop == ts::Shape{6});
    CHECK(seen[1].inputs.at(0).chunk_location == ts::Shape{1});
}

TEST_CASE("map_overlap: errors" * doctest::timeout(60)) {
    const ts::Array x = ts::from_array(to_nd(make_data({7, 5}, 23)), ts::ChunkSpec{3, 2});
    CHECK_THROWS_WITH_AS(ts::map_overlap("tests.identity", x, {8, 1}),
                         "depth 8 along axis 0 is larger than the axis length 7", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::map_overlap("tests.identity", x, {1, 1, 1}),
                         "depth has 3 entries but the array has 2 dimensions", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::map_overlap("tests.identity", x, {1, -1}), "depth -1 along axis 1 is negative",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::map_overlap("tests.identity", x, {1},
                                         {.boundary = {ts::Boundary::none(), ts::Boundary::none(), ts::Boundary::none()}}),
                         "boundary has 3 entries but the array has 2 dimensions", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::map_overlap("tests.missing", x, {1}), "unknown block kernel 'tests.missing'",
                         ts::GraphError);
}

// ------------------------------------------------------------------------------ blockwise

TEST_CASE("blockwise: contracted index (matmul), outer product, transpose, broadcasting" * doctest::timeout(60)) {
    const xt::xarray<double> a = make_data({7, 5}, 30), b = make_data({5, 4}, 31);
    xt::xarray<double> product = xt::zeros<double>({7, 4});
    for (std::size_t i = 0; i < 7; ++i)
        for (std::size_t j = 0; j < 4; ++j)
            for (std::size_t k = 0; k < 5; ++k) product(i, j) += a(i, k) * b(k, j);
    const ts::Array vb = ts::from_array(to_nd(b), ts::ChunkSpec{2, 3});
    const xt::xarray<double> u = make_data({7}, 32), v = make_data({4}, 33), row = make_data({1, 5}, 34);
    xt::xarray<double> outer = xt::zeros<double>({7, 4});
    for (std::size_t i = 0; i < 7; ++i)
        for (std::size_t j = 0; j < 4; ++j) outer(i, j) = u(i) * v(j);
    const ts::Array vv = ts::from_array(to_nd(v), 3);
    const ts::Array vrow = ts::from_array(to_nd(row), ts::ChunkSpec{1, 2});
    for (const auto& [label, spec] : chunkings_2d()) {
        const ts::Array x = ts::from_array(to_nd(a), spec);
        const ts::Array mm = ts::blockwise("tests.matmul", "ik,kj->ij", {x, vb});
        CHECK(mm.shape() == ts::Shape{7, 4});
        CHECK(mm.chunks().sizes(0) == x.chunks().sizes(0));
        CHECK(mm.chunks().sizes(1) == vb.chunks().sizes(1));
        const ts::Array same = ts::blockwise("tests.matmul", "ij", {{x, "ik"}, {vb, "kj"}});
        CHECK(same.name() == mm.name());
        const ts::Array tr = ts::blockwise("tests.transpose", "ji", {{x, "ij"}});
        CHECK(tr.chunks() == ts::Chunks({x.chunks().sizes(1), x.chunks().sizes(0)}));
        const ts::Array bc = ts::blockwise("tests.add_scaled", "ij,ij->ij", {x, vrow});
        const ts::Array vu = ts::from_array(to_nd(u), spec.per_axis().empty() ? ts::ChunkSpec(-1) : ts::ChunkSpec(std::vector<ts::AxisChunks>{spec.per_axis()[0]}));
        const ts::Array op = ts::blockwise("tests.outer", "i,j->ij", {vu, vv});
        for (const char* s : kSchedulers) {
            INFO(label << " " << s);
            check_close(mm.compute(on(s)), product);
            check_close(tr.compute(on(s)), xt::transpose(a));
            check_close(bc.compute(on(s)), a + row);
            check_close(op.compute(on(s)), outer);
        }
    }
    // A new output axis, and a 0-d contraction result ("i->": the whole vector at once).
    const ts::Array x1 = ts::from_array(to_nd(u), 3);
    auto total = [](std::span<const NDArray> blocks, const ts::BlockInfo&, const ts::Value&) {
        return NDArray::scalar(ts::Scalar(xt::sum(to_xt(blocks[0]))()));
    };
    CHECK(ts::blockwise(total, "i->", {x1}).compute().item<double>() == doctest::Approx(xt::sum(u)()));
    auto column = [](std::span<const NDArray> blocks, const ts::BlockInfo&, const ts::Value&) {
        return blocks[0].reshape({-1, 1});
    };
    const ts::Array col = ts::blockwise(column, "iz", {{x1, "i"}}, {.new_axes = {{'z', 1}}});
    CHECK(col.chunks() == ts::Chunks({{3, 3, 1}, {1}}));
    check_close(col.compute(), xt::view(u, xt::all(), xt::newaxis()));
}

TEST_CASE("blockwise: errors" * doctest::timeout(60)) {
    const ts::Array x = ts::from_array(to_nd(make_data({4, 3}, 35)), ts::ChunkSpec{2, 2});
    const ts::Array y = ts::from_array(to_nd(make_data({4, 4}, 36)));
    CHECK_THROWS_WITH_AS(ts::blockwise("tests.matmul", "ik,kj->ij", {x, y}),
                         "operand 1 has extent 4 along index 'k' but an earlier operand has 3", ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::blockwise("tests.identity", "ij->ijk", {x}),
                         "output index 'ijk' has the letter 'k' that no input has and new_axes does not give",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::blockwise("tests.identity", "i->i", {x}),
                         "index 'i' of operand 0 has 1 letters but the array has 2 dimensions", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::blockwise("tests.identity", "ii->i", {ts::from_array(to_nd(make_data({3, 3}, 37)))}),
                         "index 'ii' of operand 0 repeats the letter 'i'", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::blockwise("tests.identity", "ij", {x}),
                         "blockwise signature 'ij' must have the form 'ij,jk->ik'", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::blockwise("tests.identity", "ij,jk->ik", {x}),
                         "blockwise signature 'ij,jk->ik' has 2 operands but 1 arrays were given", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::blockwise("tests.row_sums", "ij->i", {x}, {.concatenate = false}),
                         "blockwise with contracted index 'j' needs concatenate=true", ts::NotImplemented);
    CHECK_THROWS_WITH_AS(ts::blockwise("tests.identity", "ij->ii", {x}), "output index 'ii' repeats the letter 'i'",
                         ts::ValueError);
}
