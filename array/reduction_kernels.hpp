#pragma once
// Internal: the kernels of tree reductions (array/reduction.cpp builds the graph).
//
// Every stage exchanges *partials*: a list of NDArrays shaped like the output block with the
// reduced axes kept as size 1 (so merging partials is elementwise):
//   sum, nansum, prod      [acc]                 acc: int64 | uint64 | float64 | complex128
//   mean, nanmean          [count, acc]
//   var, std, nan*         [count, sum, M2]      sum: float64 | complex128, M2: float64
//                          (count and sum exactly a mean's: a mean's partials are a prefix)
//   min, max, nan*         [value]               in the input dtype
//   any, all               [value]               bool
// Reductions sharing their chunk stage (array/reduction_share.hpp) exchange the concatenation of
// their members' partials (ReduceParams::shared lists the members' partial kinds in order).
// Partials are merged in a fixed order, so a given chunking gives bitwise identical results on
// every scheduler.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/dtype.hpp"
#include "tessera/graph.hpp"
#include "tessera/ndarray.hpp"
#include "tessera/value.hpp"

namespace tessera::detail {

enum class ReduceKind : std::uint8_t {
    Sum,
    Prod,
    Mean,
    Var,
    Std,
    Min,
    Max,
    Any,
    All,
    NanSum,
    NanMean,
    NanVar,
    NanStd,
    NanMin,
    NanMax,
};

/// The NumPy name of a reduction ("nanmean").
std::string_view reduce_name(ReduceKind kind);

/// Everything a reduction task needs; serialized (cereal binary) into Task::params.
struct ReduceParams {
    ReduceKind kind = ReduceKind::Sum;
    /// Blocks are converted to this dtype before reducing (an explicit dtype= option).
    DType compute_dtype;
    /// dtype of the result.
    DType out_dtype;
    /// Replace NaN by 0 before the conversion to compute_dtype (nan* with an explicit dtype).
    bool zero_nans = false;
    /// Mean accumulated in an integer dtype (explicit integer dtype=, NumPy's wrapping sum).
    bool int_mean = false;
    bool keepdims = false;
    std::int64_t ddof = 0;
    /// Reduced axes of the input, sorted.
    std::vector<std::int64_t> axes;
    /// Aggregate only: the output block's shape with the reduced axes kept as 1.
    Shape partial_shape;
    /// Fused chunk only: the elementwise program producing the input block.
    std::string program;
    /// Shared chunk and combine tasks: the member partial kinds, in order (share_code); their
    /// partials are concatenated. Empty: one reduction of `kind`.
    std::vector<std::uint8_t> shared;
    /// Aggregate of a member of a shared tree: where its partials start in the shared list
    /// (-1: the inputs are this reduction's own partials).
    std::int64_t part_offset = -1;
};

/// Number of partial arrays of a kind (1, 2 or 3; see above).
std::int64_t partial_count(ReduceKind kind);
/// The partial kind of a reduction as a byte: kinds with identical partials map to one code
/// (std → var, nanstd → nanvar); bit 7 marks an integer mean (int_mean).
std::uint8_t share_code(ReduceKind kind, bool int_mean);
/// The parameters of member `k` of shared parameters (kind and int_mean from shared[k]).
ReduceParams member_params(const ReduceParams& shared, std::size_t k);

std::string encode_params(const ReduceParams& params);
/// Throws ProtocolError when `bytes` is not a valid encoding.
ReduceParams decode_params(std::string_view bytes);

/// Partials of one input block (chunk stage).
ValueList reduce_block(const ReduceParams& params, const NDArray& block);
/// Partials of the block computed by the fused elementwise program params.program from its
/// inputs, streamed tile by tile into the reducer (the block is never materialized).
ValueList reduce_fused_block(const ReduceParams& params, std::span<const Value* const> inputs);
/// Partials of an empty block: the identity of the reduction, shaped `partial_shape`.
ValueList identity_partials(const ReduceParams& params);
/// Merges partial lists in order (combine stage); `parts` must not be empty.
ValueList merge_partials(const ReduceParams& params, std::span<const Value* const> parts);
/// The result block from merged partials (aggregate stage).
NDArray finalize_partials(const ReduceParams& params, const ValueList& partials);

}  // namespace tessera::detail
