// reshape / ravel / squeeze / expand_dims against NDArray::reshape of the whole array, Dask's
// reshape_rechunk chunk results, and the error messages.
#include <doctest/doctest.h>

#include "helpers.hpp"

using namespace shape_test;
using ts::NDArray;

namespace {

struct ReshapeCase {
    ts::Shape from, to;
};

}  // namespace

TEST_CASE("reshape matches NDArray::reshape over every chunking" * doctest::timeout(60)) {
    const std::vector<ReshapeCase> cases = {
        {{4, 6}, {24}},       {{4, 6}, {2, 12}},       {{4, 6}, {4, 2, 3}},    {{4, 6}, {8, 3}},
        {{4, 6}, {6, 4}},     {{4, 6}, {3, 8}},        {{4, 6}, {2, 2, 6}},    {{4, 6}, {1, 24, 1}},
        {{4, 6}, {24, 1}},    {{4, 6}, {-1, 3}},       {{4, 6}, {3, -1}},      {{2, 3, 4}, {6, 4}},
        {{2, 3, 4}, {2, 12}}, {{2, 3, 4}, {24}},       {{2, 3, 4}, {4, 6}},    {{2, 3, 4}, {3, 2, 4}},
        {{2, 3, 4}, {4, 3, 2}}, {{24}, {2, 3, 4}},     {{24}, {4, 6}},         {{24}, {6, 4}},
        {{2, 1, 3, 4}, {6, 4}}, {{2, 1, 3, 4}, {2, 3, 1, 4}}, {{6, 1}, {1, 6}}, {{1, 6}, {2, 3, 1}},
        {{3, 4, 2}, {2, 12}}, {{5, 6}, {2, 15}},       {{5, 6}, {10, 3}},
    };
    for (const auto& c : cases) {
        const NDArray data = sample(c.from);
        const NDArray expected = data.reshape(c.to);
        for (std::int64_t ones_axis = 0; ones_axis < static_cast<std::int64_t>(c.from.size()); ++ones_axis) {
            for (const auto& [label, spec] : chunkings(c.from, ones_axis)) {
                INFO(ts::shape_str(c.from) << " -> " << ts::shape_str(c.to) << " chunks " << label);
                const ts::Array x = ts::from_array(data, spec);
                const ts::Array y = ts::reshape(x, c.to);
                CHECK(y.shape() == expected.shape());
                CHECK(same(compute_all(y), expected));
            }
        }
    }
}

TEST_CASE("reshape of arrays with empty blocks" * doctest::timeout(60)) {
    const NDArray data = sample({7, 9});
    const ts::Array x = ts::from_array(data, ts::ChunkSpec({ts::AxisChunks({0, 7}), ts::AxisChunks({4, 0, 5})}));
    for (const ts::Shape& shape : {ts::Shape{63}, ts::Shape{9, 7}, ts::Shape{3, 21}, ts::Shape{7, 3, 3}, ts::Shape{7, 9, 1}}) {
        INFO(ts::shape_str(shape));
        CHECK(same(compute_all(ts::reshape(x, shape)), data.reshape(shape)));
    }
    // contract_tuple((4, 0, 5), 3) == (3, 6); the empty row block stays.
    CHECK(ts::reshape(x, {7, 3, 3}).chunks() == ts::Chunks({{0, 7}, {1, 2}, {3}}));
}

TEST_CASE("reshape of 0-d and empty arrays" * doctest::timeout(60)) {
    const ts::Array s = ts::from_array(NDArray::scalar(ts::Scalar(std::int64_t{9})));
    CHECK(ts::reshape(s, {}).name() == s.name());
    const NDArray one = compute_all(ts::reshape(s, {1, 1}));
    CHECK(same(one, NDArray::from_vector(std::vector<std::int64_t>{9}, {1, 1})));
    CHECK(same(compute_all(ts::reshape(ts::reshape(s, {1}), {})), NDArray::scalar(ts::Scalar(std::int64_t{9}))));
    CHECK(same(compute_all(ts::ravel(s)), NDArray::from_vector(std::vector<std::int64_t>{9})));

    const NDArray empty_data = NDArray::zeros(ts::float32, {0, 4});
    for (const auto& [label, spec] : chunkings({0, 4}, 1)) {
        INFO(label);
        const ts::Array e = ts::from_array(empty_data, spec);
        CHECK(same(compute_all(ts::reshape(e, {4, 0})), NDArray::zeros(ts::float32, {4, 0})));
        CHECK(same(compute_all(ts::reshape(e, {2, 0, 2})), NDArray::zeros(ts::float32, {2, 0, 2})));
        CHECK(same(compute_all(ts::ravel(e)), NDArray::zeros(ts::float32, {0})));
        CHECK_THROWS_WITH_AS(ts::reshape(e, {-1, 0}), "cannot reshape array of size 0 into shape (-1, 0)", ts::ShapeError);
    }
}

TEST_CASE("reshape chunks follow Dask's reshape_rechunk" * doctest::timeout(60)) {
    // Merge: trailing axes taken whole, the leading one split (expand_tuple).
    const ts::Array cube = ts::from_array(sample({4, 4, 4}), {2, 2, 2});
    CHECK(ts::reshape(cube, {64}).chunks() == ts::Chunks({{16, 16, 16, 16}}));
    // Split: blocks cover whole rows of the output (contract_tuple).
    const ts::Array line = ts::from_array(sample({64}), {16});
    CHECK(ts::reshape(line, {4, 4, 4}).chunks() == ts::Chunks({{1, 1, 1, 1}, {4}, {4}}));
    const ts::Array ragged = ts::from_array(sample({64}), ts::ChunkSpec({ts::AxisChunks({10, 30, 24})}));
    // contract_tuple((10, 30, 24), 16) == (32, 32)
    CHECK(ts::reshape(ragged, {4, 16}).chunks() == ts::Chunks({{2, 2}, {16}}));

    // Blocks of single rows are moved around without a rechunk (Dask's special case).
    const ts::Array rows = ts::from_array(sample({4, 4}), {1, 2});
    const ts::Array flat = ts::reshape(rows, {16});
    CHECK(flat.chunks() == ts::Chunks({{2, 2, 2, 2, 2, 2, 2, 2}}));
    const ts::Graph g = flat.graph();
    CHECK(count_op(g, "tessera.assemble") == 8);
    CHECK(count_name(g, flat.name()) == 8);
    CHECK(same(compute_all(flat), sample({16})));

    // Equal trailing extents keep their chunks; size-1 axes are free.
    const ts::Array m = ts::from_array(sample({6, 10}), {4, 3});
    CHECK(ts::reshape(m, {2, 3, 10}).chunks().sizes(2) == ts::BlockSizes{3, 3, 3, 1});
    CHECK(ts::reshape(m, {6, 1, 10}).chunks() == ts::Chunks({{4, 2}, {1}, {3, 3, 3, 1}}));
    // A single block stays a single block, with one task and no rechunk.
    const ts::Array single = ts::from_array(sample({6, 10}), -1);
    const ts::Array r = ts::reshape(single, {3, 20});
    CHECK(r.chunks() == ts::Chunks({{3}, {20}}));
    CHECK(count_op(r.graph(), "tessera.assemble") == 1);
    // An unchanged shape is the array itself.
    CHECK(ts::reshape(m, {6, 10}).name() == m.name());
    CHECK(ts::reshape(m, {-1, 10}).name() == m.name());
}

TEST_CASE("reshape errors" * doctest::timeout(60)) {
    const ts::Array x = ts::from_array(sample({2, 3}), {1, 2});
    CHECK_THROWS_WITH_AS(ts::reshape(x, {4}), "cannot reshape array of size 6 into shape (4,)", ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::reshape(x, {-1, 4}), "cannot reshape array of size 6 into shape (-1, 4)", ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::reshape(x, {-1, -1}), "can only specify one unknown dimension in shape (-1, -1)",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::reshape(x, {-2, -3}), "negative dimensions are not allowed in shape (-2, -3)",
                         ts::ValueError);
}

TEST_CASE("squeeze, expand_dims and ravel" * doctest::timeout(60)) {
    const ts::Shape shape{1, 3, 1, 4};
    const NDArray data = sample(shape);
    for (std::int64_t ones_axis : {1, 3}) {
        for (const auto& [label, spec] : chunkings(shape, ones_axis)) {
            INFO(label);
            const ts::Array x = ts::from_array(data, spec);
            const ts::Array all = ts::squeeze(x);
            CHECK(all.chunks() == ts::Chunks({x.chunks().sizes(1), x.chunks().sizes(3)}));
            CHECK(same(compute_all(all), data.reshape({3, 4})));
            CHECK(same(compute_all(ts::squeeze(x, 0)), data.reshape({3, 1, 4})));
            CHECK(same(compute_all(ts::squeeze(x, {-2})), data.reshape({1, 3, 4})));
            CHECK(same(compute_all(ts::squeeze(x, {0, 2})), data.reshape({3, 4})));
            CHECK(same(compute_all(ts::ravel(x)), data.reshape({12})));

            const ts::Array m = ts::squeeze(x);
            const ts::Array front = ts::expand_dims(m, 0);
            CHECK(front.chunks() == ts::Chunks({{1}, m.chunks().sizes(0), m.chunks().sizes(1)}));
            CHECK(same(compute_all(front), data.reshape({1, 3, 4})));
            CHECK(same(compute_all(ts::expand_dims(m, -1)), data.reshape({3, 4, 1})));
            CHECK(same(compute_all(ts::expand_dims(m, {0, 3})), data.reshape({1, 3, 4, 1})));
            CHECK(same(compute_all(ts::expand_dims(m, {2, 0})), data.reshape({1, 3, 1, 4})));
        }
    }
    const ts::Array x = ts::from_array(data, 2);
    CHECK_THROWS_WITH_AS(ts::squeeze(x, 1), "cannot select an axis to squeeze out which has size not equal to one",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::squeeze(x, 4), "axis 4 is out of bounds for array of dimension 4", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::squeeze(x, {0, -4}), "repeated axis 0 in (0, -4)", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::expand_dims(x, 5), "axis 5 is out of bounds for array of dimension 5", ts::AxisError);
    // 0-d: squeeze is the identity, expand_dims gives (1,).
    const ts::Array s = ts::from_array(NDArray::scalar(ts::Scalar(1.5)));
    CHECK(ts::squeeze(s).name() == s.name());
    CHECK(same(compute_all(ts::expand_dims(s, 0)), NDArray::from_vector(std::vector<double>{1.5})));
}
