// einsum against the loop reference, and its error messages.
#include "helpers.hpp"

using namespace linalg_test;
using ts::NDArray;

namespace {

struct Case {
    const char* subscripts;
    std::vector<ts::Shape> shapes;
};

// Three chunkings of an operand: one block, blocks of 2, ragged along every axis.
std::vector<ts::ChunkSpec> operand_chunkings(const ts::Shape& shape) {
    std::vector<ts::AxisChunks> rag;
    for (auto n : shape) rag.emplace_back(ragged(n));
    return {ts::ChunkSpec(-1), ts::ChunkSpec(2), ts::ChunkSpec(rag)};
}

}  // namespace

TEST_CASE("einsum patterns over dtypes and chunkings" * doctest::timeout(60)) {
    const std::vector<Case> cases = {
        {"ij,jk->ik", {{4, 5}, {5, 3}}},   {"ij->ji", {{4, 5}}},
        {"ii->i", {{5, 5}}},               {"ij->", {{4, 5}}},
        {"ij,ij->ij", {{4, 5}, {4, 5}}},   {"bij,bjk->bik", {{3, 4, 5}, {3, 5, 2}}},
        {"i,i->", {{6}, {6}}},             {"i,j->ij", {{4}, {3}}},
        {"ijk->ik", {{3, 4, 5}}},          {"ii->", {{4, 4}}},
        {"ij,jk,kl->il", {{3, 4}, {4, 5}, {5, 2}}},
        {"ijk,ikj->ki", {{3, 4, 5}, {3, 5, 4}}},
        {"iij,jk->ik", {{3, 3, 4}, {4, 2}}},
        {"ij,kj->ik", {{3, 4}, {5, 4}}},
        {"ij,j->i", {{3, 4}, {4}}},
        {"ab,cd->dacb", {{2, 3}, {1, 2}}},
    };
    for (ts::DType dtype : {ts::float64, ts::float32, ts::int64, ts::bool_}) {
        for (const auto& c : cases) {
            std::vector<NDArray> data;
            for (std::size_t k = 0; k < c.shapes.size(); ++k) data.push_back(sample(dtype, c.shapes[k], 40 + k));
            const NDArray expected = reference_einsum(c.subscripts, data, dtype);
            for (std::size_t chunking = 0; chunking < 3; ++chunking) {
                INFO(dtype << " " << c.subscripts << " chunking " << chunking);
                std::vector<ts::Array> operands;
                for (std::size_t k = 0; k < data.size(); ++k)
                    operands.push_back(ts::from_array(data[k], operand_chunkings(c.shapes[k])[(chunking + k) % 3]));
                check_both(ts::einsum(c.subscripts, operands), expected);
            }
        }
    }
}

TEST_CASE("einsum implicit output, variadic form, empty and 0-d operands" * doctest::timeout(60)) {
    const NDArray a = sample(ts::float64, {3, 4}, 50), b = sample(ts::float64, {4, 2}, 51);
    const auto x = ts::from_array(a, 2), y = ts::from_array(b, 3);
    check_both(ts::einsum("ij,jk", x, y), reference_einsum("ij,jk->ik", {a, b}, ts::float64));
    check_both(ts::einsum("ji", {x}), reference_einsum("ji->ij", {a}, ts::float64));  // alphabetical
    check_both(ts::einsum("ii", ts::from_array(sample(ts::float64, {3, 3}, 52), 2)),
               reference_einsum("ii->", {sample(ts::float64, {3, 3}, 52)}, ts::float64));
    check_both(ts::einsum("ij,jk->ik", ts::zeros({3, 0}), ts::ones({0, 2})), NDArray::zeros(ts::float64, {3, 2}));
    const NDArray s = NDArray::scalar(ts::Scalar(3.0));
    check_both(ts::einsum(",ij->ij", ts::from_array(s), x), reference_einsum(",ij->ij", {s, a}, ts::float64));
    check_both(ts::einsum(" i j -> j i ", {x}), reference_einsum("ij->ji", {a}, ts::float64));
}

TEST_CASE("einsum diagonal of differently chunked axes" * doctest::timeout(60)) {
    const NDArray a = sample(ts::float64, {5, 5}, 53), t = sample(ts::int64, {4, 3, 4}, 54);
    const auto x = ts::from_array(a, ts::ChunkSpec{2, 3});  // (2, 2, 1) and (3, 2): unified
    const auto d = ts::einsum("ii->i", x);
    CHECK(d.chunks() == ts::Chunks({{3, 2}}));
    check_both(d, reference_einsum("ii->i", {a}, ts::float64));
    check_both(ts::einsum("iji->ji", ts::from_array(t, ts::ChunkSpec{1, 2, ts::AxisChunks(ragged(4))})),
               reference_einsum("iji->ji", {t}, ts::int64));
}

TEST_CASE("einsum keeps the operand dtype when summing") {
    CHECK(ts::einsum("ij->", ts::ones({2, 2}, {.dtype = ts::int32})).dtype() == ts::int32);
    CHECK(ts::einsum("ij->", ts::ones({2, 2}, {.dtype = ts::bool_})).dtype() == ts::bool_);
    CHECK(ts::einsum("ij,jk->ik", ts::ones({2, 2}, {.dtype = ts::int32}), ts::ones({2, 2}, {.dtype = ts::float32}))
              .dtype() == ts::float64);
}

TEST_CASE("einsum errors name the subscripts") {
    const auto a = ts::ones({3, 4}), b = ts::ones({5, 6});
    CHECK_THROWS_WITH_AS(ts::einsum("i1,jk", a, b), "einsum: invalid character '1' in subscripts 'i1,jk'",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::einsum("ij->k", a), "einsum: output subscript 'k' does not appear in the inputs of 'ij->k'",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::einsum("ij->ii", a), "einsum: output subscript 'i' appears more than once in 'ij->ii'",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::einsum("ijk->i", a), "einsum: operand 0 has 2 dimensions but its subscripts 'ijk' name 3",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::einsum("ij,jk", {a}), "einsum: subscripts 'ij,jk' name 2 operands but 1 were given",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::einsum("ij,jk->ik", a, b),
                         "einsum: subscript 'j' has size 4 in operand 0 but size 5 in operand 1", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::einsum("ij->j->i", a), "einsum: subscripts 'ij->j->i' contain more than one '->'",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::einsum("ij-i", a), "einsum: invalid character '-' in subscripts 'ij-i'", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::einsum("ij", std::vector<ts::Array>{}), "einsum: no operands given for subscripts 'ij'",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::einsum("..ij", a), "einsum: '.' must come as one '...' per operand in subscripts '..ij'",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::einsum("...i...", a), "einsum: '.' must come as one '...' per operand in subscripts '...i...'",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::einsum("...ijk", a), "einsum: operand 0 has 2 dimensions but its subscripts '...ijk' name 3",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::einsum("...ij,...jk", ts::ones({2, 3, 4}), ts::ones({3, 4, 5})),
                         "einsum: operands could not be broadcast together under '...' in subscripts '...ij,...jk'",
                         ts::ValueError);
}

TEST_CASE("einsum with an ellipsis: batch axes, broadcasting, implicit output, summed ellipsis" * doctest::timeout(60)) {
    struct EllipsisCase {
        const char* subscripts;
        const char* explicit_form;  // the same with letters, for the loop reference
        std::vector<ts::Shape> shapes;
    };
    const std::vector<EllipsisCase> cases = {
        {"...ij,...jk->...ik", "bij,bjk->bik", {{3, 4, 5}, {3, 5, 2}}},
        {"...ij,...jk", "bij,bjk->bik", {{2, 3, 4}, {2, 4, 5}}},  // implicit: the ellipsis axes first
        {"...ii->...i", "bii->bi", {{2, 4, 4}}},
        {"i...->...", "iab->ab", {{4, 2, 3}}},
        {"...j->j", "abj->j", {{3, 2, 4}}},
        {"ij...,jk...->ik...", "ija,jka->ika", {{3, 4, 2}, {4, 5, 2}}},
        {"...,...->...", "ab,ab->ab", {{3, 4}, {3, 4}}},
        {"ij,...jk->...ik", "ij,bjk->bik", {{3, 4}, {2, 4, 5}}},  // '...' standing for no axis in one operand
    };
    for (const auto& c : cases) {
        std::vector<NDArray> data;
        std::vector<ts::Array> operands;
        for (std::size_t k = 0; k < c.shapes.size(); ++k) {
            data.push_back(sample(ts::float64, c.shapes[k], 60 + k));
            operands.push_back(ts::from_array(data.back(), operand_chunkings(c.shapes[k])[k % 3]));
        }
        INFO(c.subscripts);
        check_both(ts::einsum(c.subscripts, operands), reference_einsum(c.explicit_form, data, ts::float64));
    }
    // Broadcasting under the ellipsis: (1, 3) and (2, 1) batch axes give (2, 3).
    const NDArray a = sample(ts::float64, {1, 3, 4, 5}, 70), b = sample(ts::float64, {2, 1, 5, 2}, 71);
    const auto r = ts::einsum("...ij,...jk->...ik", ts::from_array(a, 2), ts::from_array(b, 3));
    CHECK(r.shape() == ts::Shape{2, 3, 4, 2});
    check_both(r, reference_einsum("qij,pjk->pqik", {a.reshape({3, 4, 5}), b.reshape({2, 5, 2})}, ts::float64));
}
