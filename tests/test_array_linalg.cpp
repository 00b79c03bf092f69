// Tests of matmul (this file), dot / tensordot and einsum (tests/array_linalg/) against a
// whole-array reference written as plain loops (array_linalg/helpers.cpp), over four chunkings
// (single, regular, ragged, size-1 contracted chunks), float64/float32/int64/bool, both
// schedulers; plus graph shapes, dtypes and exact error messages.
#include <doctest/doctest.h>

#include <complex>
#include <cstdint>
#include <string>
#include <vector>

#include "array_linalg/helpers.hpp"

using namespace linalg_test;
using ts::NDArray;

namespace {

const ts::DType kDTypes[] = {ts::float64, ts::float32, ts::int64, ts::bool_};

}  // namespace

TEST_CASE("matmul 2-d over dtypes and chunkings" * doctest::timeout(60)) {
    const std::int64_t n = 7, k = 10, m = 5;
    for (ts::DType dtype : kDTypes) {
        const NDArray a = sample(dtype, {n, k}, 1), b = sample(dtype, {k, m}, 2);
        const NDArray expected = reference_einsum("ij,jk->ik", {a, b}, dtype);
        for (const auto& c : matmul_chunkings(n, k, m)) {
            INFO(dtype << " " << c.name);
            check_both(ts::matmul(ts::from_array(a, c.a), ts::from_array(b, c.b)), expected);
        }
    }
}

TEST_CASE("matmul with misaligned contracted chunks rechunks one operand" * doctest::timeout(60)) {
    const NDArray a = sample(ts::float64, {6, 9}, 3), b = sample(ts::float64, {9, 4}, 4);
    const NDArray expected = reference_einsum("ij,jk->ik", {a, b}, ts::float64);
    const auto x = ts::from_array(a, ts::ChunkSpec{3, 4});   // contracted (4, 4, 1)
    const auto y = ts::from_array(b, ts::ChunkSpec{2, 3});   // contracted (2, 2, 2, 2, 1)
    const auto z = ts::matmul(x, y);
    check_both(z, expected);
    // Contracted chunks unified to a's (fewer blocks): b is rechunked, 2 x 2 output blocks.
    CHECK(z.chunks() == ts::Chunks({{3, 3}, {3, 1}}));
    const ts::Graph g = z.graph();
    CHECK(count_op(g, "tessera.contract") == 4);
    CHECK(count_op(g, "tessera.assemble") > 0);
}

TEST_CASE("matmul fuses up to split_every products into one task, then a tree" * doctest::timeout(60)) {
    const NDArray a = sample(ts::float64, {4, 20}, 5), b = sample(ts::float64, {20, 3}, 6);
    const NDArray expected = reference_einsum("ij,jk->ik", {a, b}, ts::float64);
    SUBCASE("4 x 4 blocks of a W5-like product: one task per output block, 4 pairs each") {
        const auto z = ts::matmul(ts::from_array(a, ts::ChunkSpec{1, 5}), ts::from_array(b, ts::ChunkSpec{5, 1}));
        const ts::Graph g = z.graph();
        CHECK(count_op(g, "tessera.contract") == 12);
        CHECK(count_op(g, "tessera.contract_sum") == 0);
        for (const auto& t : g.tasks())
            if (ts::op_name(t.op) == "tessera.contract") CHECK(t.deps.size() == 8);
        check_both(z, expected);
    }
    SUBCASE("20 contracted blocks with split_every 3: groups of 3 products and a sum tree") {
        ts::config::Scoped scoped({.split_every = 3});
        const auto z = ts::matmul(ts::from_array(a, ts::ChunkSpec{-1, 1}), ts::from_array(b, ts::ChunkSpec{1, -1}));
        const ts::Graph g = z.graph();
        CHECK(count_op(g, "tessera.contract") == 7);      // ceil(20 / 3)
        CHECK(count_op(g, "tessera.contract_sum") == 4);  // 7 -> 3 -> 1
        check_both(z, expected);
    }
}

TEST_CASE("matmul with 1-d operands" * doctest::timeout(60)) {
    for (ts::DType dtype : kDTypes) {
        INFO(dtype);
        const NDArray v = sample(dtype, {6}, 7), w = sample(dtype, {6}, 8);
        const NDArray a = sample(dtype, {6, 4}, 9), c = sample(dtype, {3, 6}, 10);
        const ts::ChunkSpec r{ts::AxisChunks(ragged(6))};
        check_both(ts::matmul(ts::from_array(v, r), ts::from_array(w, 2)), reference_einsum("i,i->", {v, w}, dtype));
        check_both(ts::matmul(ts::from_array(v, r), ts::from_array(a, ts::ChunkSpec{4, 3})),
                   reference_einsum("i,ik->k", {v, a}, dtype));
        check_both(ts::matmul(ts::from_array(c, ts::ChunkSpec{2, 1}), ts::from_array(w, 1)),
                   reference_einsum("ij,j->i", {c, w}, dtype));
    }
}

TEST_CASE("batched matmul broadcasts the leading axes" * doctest::timeout(60)) {
    for (ts::DType dtype : {ts::float64, ts::int64}) {
        INFO(dtype);
        const NDArray a = sample(dtype, {3, 4, 5}, 11), b = sample(dtype, {3, 5, 2}, 12);
        const NDArray expected = reference_einsum("bij,bjk->bik", {a, b}, dtype);
        for (const auto& [ca, cb] : {std::pair{ts::ChunkSpec{-1, -1, -1}, ts::ChunkSpec{-1, -1, -1}},
                                     std::pair{ts::ChunkSpec{1, 2, 2}, ts::ChunkSpec{2, 2, 1}},
                                     std::pair{ts::ChunkSpec{ts::AxisChunks(ragged(3)), 3, 1},
                                               ts::ChunkSpec{1, 1, ts::AxisChunks(ragged(2))}}})
            check_both(ts::matmul(ts::from_array(a, ca), ts::from_array(b, cb)), expected);
        // (1, 4, 5) @ (3, 5, 2) and (4, 5) @ (2, 3, 5, 2): broadcast batch axes.
        const NDArray a1 = sample(dtype, {1, 4, 5}, 13), b4 = sample(dtype, {2, 3, 5, 2}, 14);
        const NDArray a2 = sample(dtype, {4, 5}, 15);
        check_both(ts::matmul(ts::from_array(a1, 2), ts::from_array(b, ts::ChunkSpec{1, 3, 2})),
                   reference_einsum("xij,bjk->bik", {a1, b}, dtype));
        check_both(ts::matmul(ts::from_array(a2, 3), ts::from_array(b4, ts::ChunkSpec{1, 2, 2, 1})),
                   reference_einsum("ij,abjk->abik", {a2, b4}, dtype));
        // 1-d against a batch: (5,) @ (3, 5, 2) -> (3, 2).
        const NDArray v = sample(dtype, {5}, 16);
        check_both(ts::matmul(ts::from_array(v, 2), ts::from_array(b, 2)), reference_einsum("j,bjk->bk", {v, b}, dtype));
    }
}

TEST_CASE("matmul with empty dimensions" * doctest::timeout(60)) {
    SUBCASE("k = 0 gives zeros") {
        for (ts::DType dtype : kDTypes) {
            INFO(dtype);
            const auto z = ts::matmul(ts::zeros({3, 0}, {.dtype = dtype}), ts::ones({0, 4}, {.dtype = dtype}));
            CHECK(z.dtype() == dtype);
            check_both(z, NDArray::zeros(dtype, {3, 4}));
        }
    }
    SUBCASE("n = 0 and an empty batch") {
        check_both(ts::matmul(ts::zeros({0, 3}), ts::ones({3, 4}, {.chunks = 2})), NDArray::zeros(ts::float64, {0, 4}));
        check_both(ts::matmul(ts::ones({0, 2, 3}), ts::ones({1, 3, 4})), NDArray::zeros(ts::float64, {0, 2, 4}));
        check_both(ts::matmul(ts::ones({0}), ts::ones({0})), NDArray::zeros(ts::float64, {}));
    }
}

TEST_CASE("matmul result dtypes follow NumPy") {
    const auto f32 = ts::ones({2, 2}, {.dtype = ts::float32});
    CHECK(ts::matmul(f32, f32).dtype() == ts::float32);
    CHECK(ts::matmul(ts::ones({2, 2}, {.dtype = ts::int32}), f32).dtype() == ts::float64);
    CHECK(ts::matmul(ts::ones({2, 2}, {.dtype = ts::bool_}), ts::ones({2, 2}, {.dtype = ts::bool_})).dtype() == ts::bool_);
    CHECK(ts::matmul(ts::ones({2, 2}, {.dtype = ts::int8}), ts::ones({2, 2}, {.dtype = ts::uint8})).dtype() == ts::int16);
    // Mixed dtypes are converted inside the kernel: int32 @ float32 in float64.
    const NDArray a = sample(ts::int32, {3, 4}, 17), b = sample(ts::float32, {4, 2}, 18);
    check_both(ts::matmul(ts::from_array(a, 2), ts::from_array(b, 3)),
               reference_einsum("ij,jk->ik", {a, b}, ts::float64));
    // Integers wrap like NumPy's: 4 * 100 * 100 = 40000 overflows int16.
    const auto big = ts::full({1, 4}, 100, {.dtype = ts::int16});
    CHECK(ts::matmul(big, ts::full({4, 1}, 100, {.dtype = ts::int16})).compute().item<std::int64_t>() ==
          static_cast<std::int16_t>(40000));
}

TEST_CASE("matmul errors") {
    const auto a = ts::ones({3, 4}), b = ts::ones({5, 6});
    CHECK_THROWS_WITH_AS(ts::matmul(a, b),
                         "matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature "
                         "(n?,k),(k,m?)->(n?,m?) (size 5 is different from 4)",
                         ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::matmul(ts::ones({4}), ts::ones({3})),
                         "matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature "
                         "(n?,k),(k,m?)->(n?,m?) (size 3 is different from 4)",
                         ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::matmul(ts::ones({}), a),
                         "matmul: Input operand 0 does not have enough dimensions (has 0, gufunc core with "
                         "signature (n?,k),(k,m?)->(n?,m?) requires 1)",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::matmul(a, ts::ones({})),
                         "matmul: Input operand 1 does not have enough dimensions (has 0, gufunc core with "
                         "signature (n?,k),(k,m?)->(n?,m?) requires 1)",
                         ts::ValueError);
    CHECK_THROWS_AS(ts::matmul(ts::ones({2, 3, 4}), ts::ones({3, 4, 5})), ts::ShapeError);
}

TEST_CASE("matmul is deterministic across schedulers and in a larger product" * doctest::timeout(60)) {
    // 96 x 96 in 4 x 4 blocks: big enough for real gemm calls, compared with the loop reference.
    const NDArray a = sample(ts::float64, {96, 96}, 19);
    const auto x = ts::from_array(a, 24);
    const NDArray expected = reference_einsum("ij,jk->ik", {a, a}, ts::float64);
    const NDArray sync = check_both(ts::matmul(x, x), expected);
    const NDArray f32 = ts::matmul(x.astype(ts::float32), x.astype(ts::float32)).compute();
    check_close(f32, expected.astype(ts::float32));
    // sum((x @ x)) as in W5.
    const double total = ts::sum(ts::matmul(x, x)).compute().item<double>();
    double ref = 0;
    for (std::int64_t e = 0; e < expected.size(); ++e) ref += expected.data<double>()[e];
    CHECK(total == doctest::Approx(ref).epsilon(1e-12));
    (void)sync;
}

TEST_CASE("matmul of elementwise operands, fused and unfused" * doctest::timeout(60)) {
    const NDArray a = sample(ts::float64, {5, 6}, 20), b = sample(ts::float64, {6, 4}, 21);
    NDArray a1 = a.copy();
    for (std::int64_t e = 0; e < a1.size(); ++e) a1.data<double>()[e] = a.data<double>()[e] * 2.0 + 1.0;
    const NDArray expected = reference_einsum("ij,jk->ik", {a1, b}, ts::float64);
    const auto z = ts::matmul(ts::from_array(a, ts::ChunkSpec{2, 4}) * 2.0 + 1.0, ts::from_array(b, ts::ChunkSpec{3, 2}));
    for (bool fuse : {true, false}) {
        INFO("optimize = " << fuse);
        ts::config::Scoped scoped({.optimize = fuse});
        check_both(z, expected);
    }
    // The same expression twice builds the same keys.
    CHECK(ts::matmul(ts::from_array(a, 2), ts::from_array(b, 2)).name() ==
          ts::matmul(ts::from_array(a, 2), ts::from_array(b, 2)).name());
}

TEST_CASE("complex matmul uses zgemm / cgemm" * doctest::timeout(60)) {
    using C = std::complex<double>;
    // [[1+i, 2], [0, 1-i]] @ [[1, i], [2i, 3]] = [[1+5i, 5+i], [2+2i, 3-3i]]
    const NDArray a = NDArray::from_vector(std::vector<C>{{1, 1}, {2, 0}, {0, 0}, {1, -1}}, {2, 2});
    const NDArray b = NDArray::from_vector(std::vector<C>{{1, 0}, {0, 1}, {0, 2}, {3, 0}}, {2, 2});
    const NDArray expected = NDArray::from_vector(std::vector<C>{{1, 5}, {5, 1}, {2, 2}, {3, -3}}, {2, 2});
    for (ts::DType dtype : {ts::complex128, ts::complex64}) {
        INFO(dtype);
        const auto z = ts::matmul(ts::from_array(a.astype(dtype), 1), ts::from_array(b.astype(dtype), 1));
        CHECK(z.dtype() == dtype);
        for (const char* scheduler : {"sync", "threads"})
            CHECK(z.compute({.scheduler = scheduler}).astype(ts::complex128).equals(expected));
    }
}
