#pragma once
// Shared helpers of the shape-operation tests: sample data, the four chunkings every test runs
// over, the verification mode (sync and threads schedulers, fused and unfused, all identical)
// and graph inspection.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tessera/tessera.hpp"

namespace ts = tessera;

namespace shape_test {

/// Deterministic float64 data: element k is k + 0.5 (distinct values; easy to read in failures),
/// negated at every third element.
ts::NDArray sample(const ts::Shape& shape);
/// Deterministic int32 data (element k is k - 7).
ts::NDArray sample_ints(const ts::Shape& shape, ts::DType dtype = ts::int32);

/// Four chunkings of `shape`: single chunk, regular (about half of every axis), ragged (sizes
/// 1, 2, 3, ... per axis) and size-1 chunks along `ones_axis` (whole along the others).
std::vector<std::pair<std::string, ts::ChunkSpec>> chunkings(const ts::Shape& shape, std::int64_t ones_axis = 0);

/// The verification mode: computes `a` with the sync and threads schedulers, fused and unfused;
/// CHECKs that all four runs agree exactly and that the result matches a.shape()/a.dtype().
ts::NDArray compute_all(const ts::Array& a);

/// Same dtype, shape and values (NaN == NaN).
bool same(const ts::NDArray& actual, const ts::NDArray& expected);

/// Number of tasks of `graph` running operation `op` ("tessera.rechunk", ...).
std::int64_t count_op(const ts::Graph& graph, std::string_view op);
/// Number of tasks of `graph` whose key name is `name` (the blocks of one array).
std::int64_t count_name(const ts::Graph& graph, std::string_view name);
/// Sum of the dependency counts of the tasks running `op`.
std::int64_t count_deps(const ts::Graph& graph, std::string_view op);

/// The integers of "3, -1, 4" (split on `sep`; blank items skipped).
std::vector<std::int64_t> split_ints(const std::string& text, char sep = ',');
/// np.take(a, idx, axis) for 1-d idx (negative counts from the end), built from slices: the
/// reference of take, flip and roll.
ts::NDArray ref_take(const ts::NDArray& a, const std::vector<std::int64_t>& idx, std::int64_t axis);

}  // namespace shape_test
