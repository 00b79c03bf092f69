#pragma once
// Shared helpers of the linear-algebra tests: deterministic sample data, a whole-array einsum
// reference written as plain loops over xtensor arrays (independent of BLAS and of the chunked
// algorithm), tolerant comparison, and computing with both schedulers.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/tessera.hpp"

namespace ts = tessera;

namespace linalg_test {

/// Deterministic data of `dtype`: floats in [0.5, 1.5) (positive, so relative tolerances are
/// meaningful), integers in [-3, 4], bools about half true. `seed` varies the pattern.
ts::NDArray sample(ts::DType dtype, const ts::Shape& shape, std::uint64_t seed = 1);

/// The whole-array einsum of `operands` (explicit "->" subscripts only), by plain loops over
/// every combination of subscript values, accumulated in double (integers and bools exactly:
/// the sample values are small), returned as an NDArray of `dtype`.
ts::NDArray reference_einsum(std::string_view subscripts, const std::vector<ts::NDArray>& operands, ts::DType dtype);

/// Relative tolerance for a result dtype: 1e-12 float64, 1e-5 float32, 0 (exact) otherwise.
double tolerance(ts::DType dtype);

/// CHECKs dtype and shape equality and |actual - expected| <= tol * |expected| elementwise.
void check_close(const ts::NDArray& actual, const ts::NDArray& expected);

/// Computes with the sync and the threads (2 threads) schedulers; CHECKs both against
/// `expected` (check_close) and returns the sync result.
ts::NDArray check_both(const ts::Array& a, const ts::NDArray& expected);

/// Number of tasks of `graph` running operation `op`.
std::int64_t count_op(const ts::Graph& graph, std::string_view op);

/// Four chunkings of a 2-d operand (n, k) as the left factor and (k, m) as the right one:
/// single block; regular (about half of each axis); ragged (sizes 1, 2, 3, ...); size-1 chunks
/// along the contracted axis (whole along the others). Each entry: name, a's spec, b's spec.
struct MatmulChunking {
    std::string name;
    ts::ChunkSpec a, b;
};
std::vector<MatmulChunking> matmul_chunkings(std::int64_t n, std::int64_t k, std::int64_t m);

/// Ragged sizes 1, 2, 3, ... summing to n ((0,) for n = 0).
ts::BlockSizes ragged(std::int64_t n);

}  // namespace linalg_test
