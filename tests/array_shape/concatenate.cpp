// concatenate and stack against whole arrays assembled with NDArray::assign_region, with dtype
// promotion, Dask's chunks, empty and 0-d inputs, and NumPy's error messages.
#include <doctest/doctest.h>

#include <algorithm>

#include "helpers.hpp"

using namespace shape_test;
using ts::NDArray;

namespace {

// np.concatenate of whole arrays, converted to `dtype`.
NDArray ref_concatenate(const std::vector<NDArray>& parts, std::int64_t axis, ts::DType dtype) {
    ts::Shape shape = parts[0].shape();
    shape[static_cast<std::size_t>(axis)] = 0;
    for (const auto& p : parts) shape[static_cast<std::size_t>(axis)] += p.shape(axis);
    NDArray out = NDArray::zeros(dtype, shape);
    std::vector<std::int64_t> offset(shape.size(), 0);
    for (const auto& p : parts) {
        out.assign_region(offset, p);
        offset[static_cast<std::size_t>(axis)] += p.shape(axis);
    }
    return out;
}

// np.stack: each part reshaped with a new axis of length 1, then concatenated.
NDArray ref_stack(const std::vector<NDArray>& parts, std::int64_t axis, ts::DType dtype) {
    std::vector<NDArray> expanded;
    for (const auto& p : parts) {
        ts::Shape shape = p.shape();
        shape.insert(shape.begin() + axis, 1);
        expanded.push_back(p.copy().reshape(shape));
    }
    return ref_concatenate(expanded, axis, dtype);
}

}  // namespace

TEST_CASE("concatenate along every axis over pairs of chunkings" * doctest::timeout(60)) {
    const NDArray a = sample({3, 4}), b = sample_ints({5, 4}, ts::int32), c = sample({3, 2});
    for (const auto& [la, ca] : chunkings({3, 4}, 0)) {
        for (const auto& [lb, cb] : chunkings({5, 4}, 1)) {
            INFO(la << " / " << lb);
            const ts::Array xa = ts::from_array(a, ca), xb = ts::from_array(b, cb);
            const ts::Array y = ts::concatenate({xa, xb}, 0);
            CHECK(y.dtype() == ts::float64);
            ts::BlockSizes along = xa.chunks().sizes(0);
            along.insert(along.end(), xb.chunks().sizes(0).begin(), xb.chunks().sizes(0).end());
            CHECK(y.chunks().sizes(0) == along);
            CHECK(same(compute_all(y), ref_concatenate({a, b}, 0, ts::float64)));
            CHECK(same(compute_all(ts::concatenate({xb, xa, xb}, -2)), ref_concatenate({b, a, b}, 0, ts::float64)));
        }
        for (const auto& [lc, cc] : chunkings({3, 2}, 0)) {
            INFO(la << " / " << lc);
            const ts::Array xa = ts::from_array(a, ca), xc = ts::from_array(c, cc);
            const ts::Array y = ts::concatenate({xa, xc, xa}, 1);
            // Along axis 0 the common refinement of the inputs' chunks.
            std::vector<std::int64_t> cuts;
            for (const auto& x : {xa, xc})
                for (std::int64_t k = 0, pos = 0; k < static_cast<std::int64_t>(x.chunks().sizes(0).size()); ++k)
                    cuts.push_back(pos += x.chunks().sizes(0)[static_cast<std::size_t>(k)]);
            std::sort(cuts.begin(), cuts.end());
            cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
            CHECK(static_cast<std::size_t>(y.numblocks()[0]) == cuts.size());
            CHECK(same(compute_all(y), ref_concatenate({a, c, a}, 1, ts::float64)));
        }
    }
}

TEST_CASE("concatenate promotes dtypes like NumPy" * doctest::timeout(60)) {
    const NDArray i8 = sample_ints({4}, ts::int8), u8 = sample_ints({3}, ts::uint8);
    const ts::Array y = ts::concatenate({ts::from_array(i8, 3), ts::from_array(u8, 2)});
    CHECK(y.dtype() == ts::int16);
    CHECK(same(compute_all(y), ref_concatenate({i8, u8}, 0, ts::int16)));
    const NDArray f32 = sample({2}).astype(ts::float32), i64 = sample_ints({3}, ts::int64);
    const ts::Array z = ts::concatenate({ts::from_array(f32), ts::from_array(i64, 1)});
    CHECK(z.dtype() == ts::float64);
    CHECK(same(compute_all(z), ref_concatenate({f32, i64}, 0, ts::float64)));
    const NDArray flags = NDArray::from_vector(std::vector<bool>{true, false});
    const ts::Array w = ts::concatenate({ts::from_array(flags), ts::from_array(flags, 1)});
    CHECK(w.dtype() == ts::bool_);
    CHECK(same(compute_all(w), ref_concatenate({flags, flags}, 0, ts::bool_)));
}

TEST_CASE("concatenate of one array, empty arrays and elementwise inputs" * doctest::timeout(60)) {
    const NDArray a = sample({3, 4});
    const ts::Array x = ts::from_array(a, 2);
    CHECK(ts::concatenate({x}).name() == x.name());
    const ts::Array e = ts::from_array(NDArray::zeros(ts::float64, {0, 4}), {1, 3});
    // Empty inputs are dropped (Dask): the result is x itself.
    CHECK(ts::concatenate({e, x, e}).name() == x.name());
    const ts::Array ei = ts::from_array(NDArray::zeros(ts::int32, {3, 0}));
    const ts::Array xi = ts::concatenate({ei, x}, 1);
    CHECK(xi.chunks() == x.chunks());
    CHECK(same(compute_all(xi), a));
    // Every input empty: an empty result.
    const ts::Array ee = ts::concatenate({e, e}, 0);
    CHECK(ee.shape() == ts::Shape{0, 4});
    CHECK(same(compute_all(ee), NDArray::zeros(ts::float64, {0, 4})));
    CHECK(same(compute_all(ts::concatenate({e, e}, 1)), NDArray::zeros(ts::float64, {0, 8})));
    // Elementwise inputs are materialized and joined.
    const ts::Array r = ts::arange(5, {.chunks = 2, .dtype = ts::int64});
    const NDArray got = compute_all(ts::concatenate({r * 2, r + 10}));
    const std::vector<std::int64_t> expected{0, 2, 4, 6, 8, 10, 11, 12, 13, 14};
    CHECK(same(got, NDArray::from_vector(expected)));
}

TEST_CASE("concatenate errors" * doctest::timeout(60)) {
    const ts::Array a = ts::from_array(sample({2, 3}), 2), b = ts::from_array(sample({2, 4}), 2);
    const ts::Array v = ts::from_array(sample({3}), 2);
    const ts::Array s = ts::from_array(NDArray::scalar(ts::Scalar(1.0)));
    CHECK_THROWS_WITH_AS(ts::concatenate({}), "need at least one array to concatenate", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::concatenate({s, s}), "zero-dimensional arrays cannot be concatenated", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::concatenate({a, b}, 2), "axis 2 is out of bounds for array of dimension 2", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::concatenate({a, v}),
                         "all the input arrays must have same number of dimensions, but the array at index 0 has 2 "
                         "dimension(s) and the array at index 1 has 1 dimension(s)",
                         ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::concatenate({a, b}, 0),
                         "all the input array dimensions except for the concatenation axis must match exactly, but "
                         "along dimension 1, the array at index 0 has size 3 and the array at index 1 has size 4",
                         ts::ShapeError);
    CHECK_NOTHROW(ts::concatenate({a, b}, 1));
}

TEST_CASE("stack along every axis over pairs of chunkings" * doctest::timeout(60)) {
    const NDArray a = sample({3, 4}), b = sample_ints({3, 4}, ts::uint16);
    for (const auto& [la, ca] : chunkings({3, 4}, 0)) {
        for (const auto& [lb, cb] : chunkings({3, 4}, 1)) {
            INFO(la << " / " << lb);
            const ts::Array xa = ts::from_array(a, ca), xb = ts::from_array(b, cb);
            for (std::int64_t axis : {0, 1, 2, -1}) {
                INFO("axis " << axis);
                const ts::Array y = ts::stack({xa, xb, xa}, axis);
                const std::int64_t normal = axis < 0 ? axis + 3 : axis;
                CHECK(y.chunks().sizes(normal) == ts::BlockSizes{1, 1, 1});
                CHECK(same(compute_all(y), ref_stack({a, b, a}, normal, ts::float64)));
            }
        }
    }
}

TEST_CASE("stack of 0-d and empty arrays, and errors" * doctest::timeout(60)) {
    const ts::Array s1 = ts::from_array(NDArray::scalar(ts::Scalar(std::int64_t{4})));
    const ts::Array s2 = ts::from_array(NDArray::scalar(ts::Scalar(std::int64_t{-2})));
    CHECK(same(compute_all(ts::stack({s1, s2, s1})), NDArray::from_vector(std::vector<std::int64_t>{4, -2, 4})));
    const ts::Array e = ts::from_array(NDArray::zeros(ts::float32, {0, 2}));
    CHECK(same(compute_all(ts::stack({e, e}, 1)), NDArray::zeros(ts::float32, {0, 2, 2})));

    const ts::Array a = ts::from_array(sample({2, 3}), 2), b = ts::from_array(sample({3, 2}), 2);
    CHECK_THROWS_WITH_AS(ts::stack({}), "need at least one array to stack", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::stack({a, b}), "all input arrays must have the same shape", ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::stack({a, a}, 3), "axis 3 is out of bounds for array of dimension 3", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::stack({a, a}, -4), "axis -4 is out of bounds for array of dimension 3", ts::AxisError);
}
