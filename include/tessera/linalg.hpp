#pragma once
/// \file linalg.hpp
/// Linear algebra on chunked arrays: matmul, dot, tensordot, einsum (OpenBLAS chunk kernels).
///
/// Every product is one blocked contraction, as in Dask: block (i, k) of the result is the sum
/// over j of a(i, j) @ b(j, k). The chunks of contracted axes (and of broadcast batch axes) are
/// first unified by rechunking one operand to the other's chunks along those axes. Up to
/// config().split_every products run in ONE task that accumulates them into a single output
/// buffer (gemm with beta = 1); more are split into groups of split_every and summed by a tree.
/// float32/float64/complex blocks use cblas_{s,d,c,z}gemm; integer and bool blocks a plain loop
/// (integers wrap as in NumPy, bool is `or` of `and`). The result dtype is
/// result_type(a.dtype(), b.dtype()), as NumPy's.
///
/// Threads: under the `threads` scheduler (and in distributed workers) every BLAS call runs
/// single-threaded (openblas_set_num_threads(1)), so N scheduler threads do not start N x cores
/// BLAS threads: a product is single-threaded when it runs on a TBB worker thread or while
/// another product runs. A product running alone on another thread (the `sync` scheduler) gets
/// OpenBLAS's default (OPENBLAS_NUM_THREADS, else all cores). The setting is process-wide.
///
///     auto c = ts::matmul(a, b);                       // a @ b
///     auto t = ts::tensordot(a, b, {{1, 0}, {0, 1}});  // sum over a's axes 1, 0 and b's 0, 1
///     auto s = ts::einsum("bij,bjk->bik", x, y);

#include <cstdint>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tessera/array.hpp"

namespace tessera {

/// NumPy's matmul (`a @ b`): 1-d operands are promoted to a row / column and the added axis
/// removed again; leading (batch) axes broadcast. Throws ValueError for 0-d operands
/// ("matmul: Input operand 0 does not have enough dimensions (has 0, gufunc core with signature
/// (n?,k),(k,m?)->(n?,m?) requires 1)"), ShapeError for mismatched inner dimensions
/// ("matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature
/// (n?,k),(k,m?)->(n?,m?) (size 5 is different from 4)") and from broadcast_shapes for batch
/// axes that do not broadcast; NotImplemented for unknown chunk sizes.
Array matmul(const Array& a, const Array& b);

/// NumPy's dot: a product with a 0-d operand is `a * b`; otherwise the sum over the last axis
/// of `a` and the second-to-last of `b` (the only axis of a 1-d `b`). Throws ShapeError
/// "shapes (2, 3) and (4, 5) not aligned: 3 (dim 1) != 4 (dim 0)".
Array dot(const Array& a, const Array& b);

/// The axes tensordot contracts: an integer n (the last n of `a` with the first n of `b`) or
/// two lists of axes, paired in order (`{{1, 0}, {0, 1}}`).
class TensordotAxes {
public:
    TensordotAxes(std::int64_t n) : n_(n) {}
    TensordotAxes(int n) : n_(n) {}
    TensordotAxes(std::vector<std::int64_t> a_axes, std::vector<std::int64_t> b_axes)
        : pair_(true), a_(std::move(a_axes)), b_(std::move(b_axes)) {}
    bool is_pair() const { return pair_; }
    std::int64_t n() const { return n_; }
    const std::vector<std::int64_t>& a_axes() const { return a_; }
    const std::vector<std::int64_t>& b_axes() const { return b_; }

private:
    std::int64_t n_ = 2;
    bool pair_ = false;
    std::vector<std::int64_t> a_, b_;
};

/// NumPy's tensordot: the result's axes are a's uncontracted axes then b's, in order.
/// Throws ValueError for a negative n or n larger than either rank, AxisError for a bad or
/// repeated axis, ShapeError "shape-mismatch for sum: axis 1 of a has size 3 but axis 0 of b
/// has size 4" (also for lists of different lengths).
Array tensordot(const Array& a, const Array& b, const TensordotAxes& axes = 2);

/// NumPy's einsum for one or more operands with explicit ("ij,jk->ik") or implicit ("ij,jk")
/// output: transposes, diagonals ("ii->i"), sums over dropped subscripts, products with batch,
/// contracted and outer subscripts; several operands are contracted left to right. A subscript
/// must have the same size in every operand. Throws ValueError naming the subscripts for
/// malformed ones ("einsum: invalid character '1' in subscripts 'i1,jk'", "einsum: output
/// subscript 'k' does not appear in the inputs of 'ij->k'", "einsum: operand 0 has 2
/// dimensions but its subscripts 'ijk' name 3", "einsum: subscripts 'ij,jk' name 2 operands
/// but 1 were given", "einsum: subscript 'j' has size 4 in operand 0 but size 5 in operand 1",
/// ...). An ellipsis ("...ij,...jk->...ik") stands for the axes the explicit subscripts leave,
/// right-aligned and broadcast across operands as in NumPy; without "->" the ellipsis axes lead
/// the output, and with "->" but no "..." in the output they are summed.
///
///     auto c = ts::einsum("ij,jk->ik", {a, b});
///     auto d = ts::einsum("ii->i", {a});
Array einsum(std::string_view subscripts, const std::vector<Array>& operands);

/// einsum with the operands as arguments: `ts::einsum("i,i->", x, y)`.
template <class... Arrays>
    requires(sizeof...(Arrays) > 0 && (std::is_convertible_v<const Arrays&, const Array&> && ...))
Array einsum(std::string_view subscripts, const Arrays&... operands) {
    return einsum(subscripts, std::vector<Array>{Array(operands)...});
}

}  // namespace tessera
