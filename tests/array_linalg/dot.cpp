// dot and tensordot against the loop reference.
#include "helpers.hpp"

using namespace linalg_test;
using ts::NDArray;

TEST_CASE("dot follows NumPy's rules" * doctest::timeout(60)) {
    for (ts::DType dtype : {ts::float64, ts::float32, ts::int64, ts::bool_}) {
        INFO(dtype);
        const NDArray v = sample(dtype, {5}, 21), w = sample(dtype, {5}, 22);
        const NDArray a = sample(dtype, {4, 5}, 23), b = sample(dtype, {5, 3}, 24);
        const NDArray t = sample(dtype, {2, 3, 5}, 25), u = sample(dtype, {4, 5, 2}, 26);
        const ts::ChunkSpec r1{ts::AxisChunks(ragged(5))};
        check_both(ts::dot(ts::from_array(v, r1), ts::from_array(w, 2)), reference_einsum("i,i->", {v, w}, dtype));
        check_both(ts::dot(ts::from_array(a, ts::ChunkSpec{3, 1}), ts::from_array(b, ts::ChunkSpec{1, 2})),
                   reference_einsum("ij,jk->ik", {a, b}, dtype));
        check_both(ts::dot(ts::from_array(v, 2), ts::from_array(b, 2)), reference_einsum("j,jk->k", {v, b}, dtype));
        check_both(ts::dot(ts::from_array(a, 2), ts::from_array(w, 3)), reference_einsum("ij,j->i", {a, w}, dtype));
        // N-d · M-d: last axis of a with the second-to-last of b.
        check_both(ts::dot(ts::from_array(t, ts::ChunkSpec{1, 2, 2}), ts::from_array(u, ts::ChunkSpec{3, 2, 1})),
                   reference_einsum("abj,cjd->abcd", {t, u}, dtype));
        check_both(ts::dot(ts::from_array(t, 2), ts::from_array(w, 2)), reference_einsum("abj,j->ab", {t, w}, dtype));
    }
    SUBCASE("a 0-d operand multiplies") {
        const NDArray a = sample(ts::float64, {3, 2}, 27);
        const auto s = ts::from_array(NDArray::scalar(2.5));
        check_both(ts::dot(s, ts::from_array(a, 2)), reference_einsum(",ij->ij", {NDArray::scalar(2.5), a}, ts::float64));
    }
}

TEST_CASE("dot errors") {
    CHECK_THROWS_WITH_AS(ts::dot(ts::ones({2, 3}), ts::ones({4, 5})),
                         "shapes (2, 3) and (4, 5) not aligned: 3 (dim 1) != 4 (dim 0)", ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::dot(ts::ones({3}), ts::ones({2, 4, 5})),
                         "shapes (3,) and (2, 4, 5) not aligned: 3 (dim 0) != 4 (dim 1)", ts::ShapeError);
}

TEST_CASE("tensordot with integer and list axes" * doctest::timeout(60)) {
    for (ts::DType dtype : {ts::float64, ts::int64}) {
        INFO(dtype);
        const NDArray a = sample(dtype, {3, 4, 5}, 31), b = sample(dtype, {4, 5, 2}, 32);
        const NDArray c = sample(dtype, {5, 4, 2}, 33);
        const auto x = ts::from_array(a, ts::ChunkSpec{2, ts::AxisChunks(ragged(4)), 2});
        check_both(ts::tensordot(x, ts::from_array(b, ts::ChunkSpec{1, 3, 1})),
                   reference_einsum("ijk,jkl->il", {a, b}, dtype));  // axes = 2
        check_both(ts::tensordot(x, ts::from_array(c, 2), 1), reference_einsum("ijk,klm->ijlm", {a, c}, dtype));
        check_both(ts::tensordot(ts::from_array(a, 2), ts::from_array(c, 3), {{1, 2}, {1, 0}}),
                   reference_einsum("ijk,kjl->il", {a, c}, dtype));
        check_both(ts::tensordot(ts::from_array(a, 2), ts::from_array(c, 3), {{-1}, {0}}),
                   reference_einsum("ijk,klm->ijlm", {a, c}, dtype));
        // axes = 0: the outer product.
        const NDArray v = sample(dtype, {3}, 34), w = sample(dtype, {2}, 35);
        check_both(ts::tensordot(ts::from_array(v, 2), ts::from_array(w, 1), 0), reference_einsum("i,j->ij", {v, w}, dtype));
        // 0-d operands with axes = 0.
        const NDArray s = NDArray::scalar(ts::Scalar(2.0));
        check_both(ts::tensordot(ts::from_array(s), ts::from_array(v, 2), 0),
                   reference_einsum(",i->i", {s, v}, ts::float64));
    }
}

TEST_CASE("tensordot errors") {
    const auto a = ts::ones({3, 4}), b = ts::ones({4, 5});
    CHECK_THROWS_WITH_AS(ts::tensordot(a, b, {{0}, {0}}),
                         "shape-mismatch for sum: axis 0 of a has size 3 but axis 0 of b has size 4", ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::tensordot(a, b, {{0, 1}, {0}}), "shape-mismatch for sum: 2 axes of a but 1 axes of b",
                         ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::tensordot(a, b, -1), "tensordot: axes must be a non-negative integer, got -1",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::tensordot(a, b, 3), "tensordot: axes 3 exceeds the dimensions of a (2) or b (2)",
                         ts::ValueError);
    CHECK_THROWS_AS(ts::tensordot(a, b, {{2}, {0}}), ts::AxisError);
    CHECK_THROWS_AS(ts::tensordot(a, b, {{1, 1}, {0, 0}}), ts::AxisError);
}
