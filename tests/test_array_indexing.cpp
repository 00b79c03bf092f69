// Advanced indexing of tessera::Array against whole-array references (plain loops over the
// computed input), over four chunkings, both schedulers fused and unfused: take, vindex and
// boolean masks. Flip/roll/pad/tril/triu, creation and the Array members are in
// tests/array_indexing/.
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "array_shape/helpers.hpp"

using namespace shape_test;
using ts::NDArray;

namespace {

// x[mask] in C order, through the flat element index.
NDArray ref_mask(const NDArray& a, const NDArray& mask) {
    const NDArray m = mask.contiguous();
    std::int64_t count = 0;
    for (std::int64_t k = 0; k < m.size(); ++k) count += m.data<bool>()[k] ? 1 : 0;
    ts::Shape rest(a.shape().begin() + m.ndim(), a.shape().end());
    ts::Shape shape{count};
    shape.insert(shape.end(), rest.begin(), rest.end());
    const NDArray flat = a.reshape(ts::Shape{m.size(), ts::shape_size(rest)});
    NDArray out = NDArray::zeros(a.dtype(), {count, ts::shape_size(rest)});
    std::int64_t row = 0;
    for (std::int64_t k = 0; k < m.size(); ++k)
        if (m.data<bool>()[k]) {
            const std::vector<std::int64_t> offset{row++, 0};
            out.assign_region(offset, flat.slice(0, k, k + 1));
        }
    return out.reshape(shape);
}

// compute_all for arrays of unknown shape: the four runs agree, the known extents match.
NDArray compute_unknown(const ts::Array& a) {
    NDArray results[4];
    int k = 0;
    for (bool fuse : {true, false})
        for (const char* scheduler : {"sync", "threads"}) {
            ts::config::Scoped scoped({.scheduler = scheduler, .optimize = fuse});
            results[k++] = a.compute();
        }
    CHECK(results[0].dtype() == a.dtype());
    REQUIRE(results[0].ndim() == a.ndim());
    for (std::int64_t axis = 0; axis < a.ndim(); ++axis)
        if (a.shape(axis) >= 0) CHECK(results[0].shape(axis) == a.shape(axis));
    for (int r = 1; r < 4; ++r) CHECK(same(results[r], results[0]));
    return results[0];
}

}  // namespace

// ------------------------------------------------------------------------------ take

TEST_CASE("take along every axis over every chunking, negative indices included" * doctest::timeout(60)) {
    const ts::Shape shape{5, 7, 3};
    const NDArray a = sample(shape);
    const std::vector<std::vector<std::int64_t>> lists{
        {0}, {-1}, {1, 2, 3}, {4, 0, -2, 1, 1, 1}, {}, {2, 2, 0, -3, -1, 0, 1, 2, 0, 1, 2, 2, 1}};
    for (const auto& [label, spec] : chunkings(shape, 1)) {
        const ts::Array x = ts::from_array(a, spec);
        for (std::int64_t axis = 0; axis < 3; ++axis) {
            for (const auto& list : lists) {
                std::vector<std::int64_t> idx;
                for (auto i : list) idx.push_back(i % shape[static_cast<std::size_t>(axis)]);
                INFO(label << " axis " << axis << " " << idx.size() << " indices");
                const ts::Array t = ts::take(x, idx, axis);
                CHECK(same(compute_all(t), ref_take(a, idx, axis)));
                CHECK(same(compute_all(ts::take(x, idx, axis - 3)), ref_take(a, idx, axis)));
            }
        }
    }
}

TEST_CASE("take of other dtypes, N-d and 0-d indices, size-1 and empty arrays" * doctest::timeout(60)) {
    const NDArray a = sample_ints({4, 6}, ts::int16);
    const ts::Array x = ts::from_array(a, {3, 4});
    const NDArray idx2 = NDArray::from_vector<std::int32_t>({5, 0, -1, 2, 2, 3}, {2, 3});
    const NDArray r = compute_all(ts::take(x, idx2, 1));
    REQUIRE(r.shape() == ts::Shape{4, 2, 3});
    for (std::int64_t row = 0; row < 4; ++row)
        for (std::int64_t p = 0; p < 2; ++p)
            for (std::int64_t q = 0; q < 3; ++q) {
                const std::int64_t col = (std::vector<std::int64_t>{5, 0, 5, 2, 2, 3})[static_cast<std::size_t>(p * 3 + q)];
                CHECK(r.at<std::int64_t>({row, p, q}) == a.at<std::int64_t>({row, col}));
            }
    const NDArray r0 = compute_all(ts::take(x, NDArray::scalar(ts::Scalar(std::int64_t{-2}, ts::int64)), 0));
    CHECK(same(r0, a.slice(0, 2, 3).reshape({6})));
    // Size-1 array, empty array with empty indices.
    const ts::Array one = ts::from_array(sample({1}), 1);
    CHECK(same(compute_all(ts::take(one, {0, -1, 0}, 0)), NDArray::from_vector<double>({0.5, 0.5, 0.5})));
    const ts::Array empty = ts::from_array(sample({0, 3}), {1, 2});
    CHECK(compute_all(ts::take(empty, std::vector<std::int64_t>{}, 0)).shape() == ts::Shape{0, 3});
    CHECK(compute_all(ts::take(empty, {2, 0}, 1)).shape() == ts::Shape{0, 2});
}

TEST_CASE("take chunks follow Dask's slicing_plan" * doctest::timeout(60)) {
    std::ifstream in(std::string(TESSERA_TEST_DATA) + "/take_dask2022.txt");
    REQUIRE(in.good());
    std::string line;
    int cases = 0;
    while (std::getline(in, line)) {
        const auto bar1 = line.find('|'), bar2 = line.rfind('|');
        const auto chunks = split_ints(line.substr(0, bar1));
        const auto idx = split_ints(line.substr(bar1 + 1, bar2 - bar1 - 1));
        const auto expected = split_ints(line.substr(bar2 + 1));
        std::int64_t n = 0;
        for (auto c : chunks) n += c;
        const ts::Array x = ts::from_array(sample({n}), ts::ChunkSpec{ts::AxisChunks(chunks)});
        INFO(line);
        const ts::Array t = ts::take(x, idx, 0);
        CHECK(t.chunks().sizes(0) == expected);
        CHECK(same(compute_all(t), ref_take(sample({n}), idx, 0)));
        ++cases;
    }
    CHECK(cases == 6);
}

TEST_CASE("take of scattered indices keeps the graph bounded" * doctest::timeout(60)) {
    const NDArray a = sample({1000});
    const ts::Array x = ts::from_array(a, 100);
    std::vector<std::int64_t> idx;
    for (std::int64_t k = 0; k < 2000; ++k) idx.push_back((k * 7919) % 1000);
    const ts::Array t = ts::take(x, idx, 0);
    // 2000 single-index runs would be 2000 blocks; chunked like the input instead.
    CHECK(t.chunks().sizes(0) == ts::BlockSizes(20, 100));
    CHECK(count_op(t.graph(), "tessera.take") == 20);
    CHECK(same(compute_all(t), ref_take(a, idx, 0)));
}

TEST_CASE("take errors" * doctest::timeout(60)) {
    const ts::Array x = ts::from_array(sample({4, 5}), 2);
    CHECK_THROWS_WITH_AS(ts::take(x, {0, 5}, 1), "index 5 is out of bounds for axis 1 with size 5", ts::IndexError);
    CHECK_THROWS_WITH_AS(ts::take(x, {-5}, 0), "index -5 is out of bounds for axis 0 with size 4", ts::IndexError);
    CHECK_THROWS_WITH_AS(ts::take(x, {0}, 2), "axis 2 is out of bounds for array of dimension 2", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::take(x, NDArray::from_vector<double>({1.0}), 0),
                         "arrays used as indices must be of integer (or boolean) type", ts::IndexError);
    CHECK_THROWS_WITH_AS(ts::take(x, NDArray::from_vector<bool>({true}), 0),
                         "take: boolean indices are not supported (use getitem_mask)", ts::IndexError);
}

// ------------------------------------------------------------------------------ vindex

TEST_CASE("vindex gathers points over every chunking" * doctest::timeout(60)) {
    const ts::Shape shape{6, 5, 4};
    const NDArray a = sample(shape);
    std::vector<std::int64_t> i0, i1, i2;
    for (std::int64_t p = 0; p < 40; ++p) {
        i0.push_back((p * 5) % 6 - (p % 4 == 0 ? 6 : 0));
        i1.push_back((p * 3 + 1) % 5);
        i2.push_back(-1 - (p % 4));
    }
    for (const auto& [label, spec] : chunkings(shape, 2)) {
        INFO(label);
        const ts::Array v = ts::vindex(ts::from_array(a, spec), {i0, i1, i2});
        const NDArray r = compute_all(v);
        REQUIRE(r.shape() == ts::Shape{40});
        for (std::int64_t p = 0; p < 40; ++p) {
            const auto up = static_cast<std::size_t>(p);
            CHECK(r.at<double>({p}) == a.at<double>({i0[up], i1[up], i2[up]}));
        }
    }
}

TEST_CASE("vindex broadcasts its indices and reads only the touched blocks" * doctest::timeout(60)) {
    const NDArray a = sample_ints({8, 9}, ts::int64);
    const ts::Array x = ts::from_array(a, {2, 3});  // 4 x 3 blocks
    const NDArray rows = NDArray::from_vector<std::int64_t>({0, 7}, {2, 1});
    const NDArray cols = NDArray::from_vector<std::int64_t>({1, 2, 8});
    const ts::Array v = ts::vindex(x, {rows, cols});
    const NDArray r = compute_all(v);
    REQUIRE(r.shape() == ts::Shape{2, 3});
    for (std::int64_t p = 0; p < 2; ++p)
        for (std::int64_t q = 0; q < 3; ++q)
            CHECK(r.at<std::int64_t>({p, q}) == a.at<std::int64_t>({p == 0 ? 0 : 7, q == 2 ? 8 : q + 1}));
    // Points in blocks (0, 0), (0, 2), (3, 0), (3, 2): four slice tasks, one merge task.
    const ts::Graph g = v.graph(false);
    CHECK(count_op(g, "tessera.vindex_slice") == 4);
    CHECK(count_op(g, "tessera.vindex_merge") == 1);
    // 0-d indices give a 0-d result; no points give an empty one.
    CHECK(compute_all(ts::vindex(x, {NDArray::scalar(ts::Scalar(std::int64_t{3}, ts::int64)),
                                     NDArray::scalar(ts::Scalar(std::int64_t{-1}, ts::int64))}))
              .item<std::int64_t>() == a.at<std::int64_t>({3, 8}));
    CHECK(compute_all(ts::vindex(x, std::vector<std::vector<std::int64_t>>{{}, {}})).shape() == ts::Shape{0});
}

TEST_CASE("vindex over many blocks: a raster stack sampled at scattered points" * doctest::timeout(60)) {
    // (20, 181, 361) in (1, 50, 50) blocks: 20 * 4 * 8 = 640 blocks, 1000 points per time step.
    const ts::Array x = ts::random::integers(0, 1 << 30, {20, 181, 361}, {.chunks = ts::Shape{1, 50, 50}, .seed = 5});
    std::vector<std::int64_t> t, r, c;
    for (std::int64_t step = 0; step < 20; ++step)
        for (std::int64_t p = 0; p < 1000; ++p) {
            t.push_back(step);
            r.push_back((p * 7919 + step) % 181);
            c.push_back((p * 104729 + 3 * step) % 361);
        }
    const ts::Array v = ts::vindex(x, {t, r, c});
    const ts::Graph g = v.graph(false);
    CHECK(count_op(g, "tessera.vindex_slice") <= 640);
    CHECK(count_op(g, "tessera.vindex_merge") == 1);
    const NDArray whole = x.compute();
    const NDArray got = compute_all(v);
    for (std::size_t p = 0; p < t.size(); p += 37)
        CHECK(got.at<std::int64_t>({static_cast<std::int64_t>(p)}) == whole.at<std::int64_t>({t[p], r[p], c[p]}));
}

TEST_CASE("vindex errors" * doctest::timeout(60)) {
    const ts::Array x = ts::from_array(sample({4, 5}), 2);
    CHECK_THROWS_WITH_AS(ts::vindex(x, std::vector<std::vector<std::int64_t>>{{0}}),
                         "vindex: 1 index arrays for an array of dimension 2", ts::IndexError);
    CHECK_THROWS_WITH_AS(ts::vindex(x, {{0, 1}, {4, 5}}), "index 5 is out of bounds for axis 1 with size 5",
                         ts::IndexError);
    CHECK_THROWS_WITH_AS(ts::vindex(x, {{0, 1}, {1, 2, 3}}),
                         "operands could not be broadcast together with shapes (2,) (3,)", ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::vindex(x, {NDArray::from_vector<double>({0.0}), NDArray::from_vector<double>({0.0})}),
                         "arrays used as indices must be of integer (or boolean) type", ts::IndexError);
}

// ------------------------------------------------------------------------------ masks

TEST_CASE("boolean masks of the whole shape and of leading axes, every chunking" * doctest::timeout(60)) {
    const ts::Shape shape{5, 6, 2};
    const NDArray a = sample(shape);
    for (const auto& [label, spec] : chunkings(shape, 1)) {
        INFO(label);
        const ts::Array x = ts::from_array(a, spec);
        // x > 0 (same shape): the mask is elementwise on x, so it has x's chunks.
        const ts::Array m = ts::getitem_mask(x, x > 0.0);
        CHECK(m.chunks().has_unknown());
        CHECK(m.ndim() == 1);
        CHECK(m.chunks().sizes(0).size() >= static_cast<std::size_t>(x.numblocks()[0]));
        const NDArray whole_mask = (x > 0.0).compute();
        CHECK(same(compute_unknown(m), ref_mask(a, whole_mask)));
        // A leading (5, 6) mask in its own chunking: rechunked to x's.
        std::vector<bool> bits;
        for (std::int64_t k = 0; k < 30; ++k) bits.push_back(k % 3 != 1 && k != 5);
        const NDArray lead = NDArray::from_vector(bits, {5, 6});
        const ts::Array ml = x[ts::from_array(lead, 4)];
        CHECK(ml.shape() == ts::Shape{-1, 2});
        CHECK(same(compute_unknown(ml), ref_mask(a, lead)));
        // compute_chunk_sizes: known sizes that add up to the count.
        const ts::Array known = ts::compute_chunk_sizes(ml);
        CHECK(!known.chunks().has_unknown());
        CHECK(known.shape() == ts::Shape{19, 2});
        CHECK(same(compute_all(known), ref_mask(a, lead)));
        // Known sizes allow further shape operations.
        CHECK(same(compute_all(ts::getitem(known, {ts::Slice(1, ts::none, 2), 0})),
                   ref_mask(a, lead).slice(0, 1, 19, 2).slice(1, 0, 1).reshape({9})));
    }
}

TEST_CASE("masks of empty and size-1 arrays, all-false and all-true masks" * doctest::timeout(60)) {
    const ts::Array e = ts::from_array(sample({0, 3}), 2);
    CHECK(compute_unknown(ts::getitem_mask(e, e > 0.0)).shape() == ts::Shape{0});
    const ts::Array one = ts::from_array(sample({1}), 1);
    CHECK(same(compute_unknown(ts::getitem_mask(one, one > 0.0)), sample({1})));
    CHECK(compute_unknown(ts::getitem_mask(one, one < 0.0)).shape() == ts::Shape{0});
    const ts::Array x = ts::from_array(sample_ints({7}), 3);
    CHECK(same(compute_unknown(x[x > -100]), sample_ints({7})));
    CHECK(ts::compute_chunk_sizes(x[x > 100]).chunks().sizes(0) == ts::BlockSizes{0, 0, 0});
    CHECK(ts::compute_chunk_sizes(x).name() == x.name());  // nothing unknown: unchanged
}

TEST_CASE("mask errors" * doctest::timeout(60)) {
    const ts::Array x = ts::from_array(sample({4, 5}), 2);
    const ts::Array m = ts::from_array(NDArray::zeros(ts::bool_, {3}), 2);
    CHECK_THROWS_WITH_AS(ts::getitem_mask(x, m),
                         "boolean index did not match indexed array along dimension 0; dimension is 4 but "
                         "corresponding boolean dimension is 3",
                         ts::IndexError);
    CHECK_THROWS_WITH_AS(ts::getitem_mask(x, x), "arrays used as indices must be of integer (or boolean) type",
                         ts::IndexError);
    const ts::Array v = ts::from_array(sample({4}), 2);
    CHECK_THROWS_WITH_AS(ts::getitem_mask(v, x > 0.0),
                         "too many indices for array: array is 1-dimensional, but 2 were indexed", ts::IndexError);
    const ts::Array u = ts::getitem_mask(v, v > 0.0);
    CHECK_THROWS_WITH_AS(ts::getitem(u, {0}), "getitem: arrays with unknown chunk sizes (((nan, nan),)) are not supported",
                         ts::NotImplemented);
}

TEST_CASE("reductions of a masked array" * doctest::timeout(60)) {
    const NDArray a = sample({5, 6});
    const ts::Array x = ts::from_array(a, {2, 4});
    const NDArray r = ref_mask(a, (x > 0.0).compute());
    double total = 0;
    for (std::int64_t k = 0; k < r.size(); ++k) total += r.at<double>({k});
    CHECK(ts::sum(ts::compute_chunk_sizes(x[x > 0.0])).compute().item<double>() == doctest::Approx(total));
    CHECK(ts::sum(x[x > 0.0]).compute().item<double>() == doctest::Approx(total));
}

TEST_CASE("take splits long runs at config().chunk_size_bytes" * doctest::timeout(60)) {
    const NDArray a = sample({30, 2});
    const ts::Array x = ts::from_array(a, {30, 2});
    std::vector<std::int64_t> idx;
    for (std::int64_t k = 0; k < 25; ++k) idx.push_back(k);
    ts::config::Scoped scoped({.chunk_size_bytes = 160});  // 10 rows of 2 float64
    const ts::Array t = ts::take(x, idx, 0);
    CHECK(t.chunks().sizes(0) == ts::BlockSizes{10, 10, 5});
    CHECK(same(compute_all(t), a.slice(0, 0, 25).copy()));
}
