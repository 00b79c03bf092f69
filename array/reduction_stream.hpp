#pragma once
// Internal: the chunk stage of tree reductions as a stream. A block's elements arrive in C order
// in tiles of kTileElems (from memory, or straight out of a fused elementwise program, which then
// never materializes the block), and a ChunkReducer folds them into the block's partials
// (layout in array/reduction_kernels.hpp).
//
// Both sources feed identical tiles to the same reducer, so a fused and an unfused run of the
// same graph give bitwise identical partials. The summation order is fixed by the element
// positions alone:
//   lanes (the reduced axes are the block's last ones, or all of them): every output's inputs
//     are contiguous; each lane is cut at tile boundaries into segments, a segment is summed
//     pairwise like NumPy, and segment results merge in a binary cascade (pairwise again), so
//     the error grows with log(n), not n. Variances merge with Chan's formula; a segment's
//     variance takes two passes over the segment while it is in cache.
//   rows (the reduced axes are the block's first ones): output o takes every outer-th element;
//     rows are accumulated in order in groups of kRowGroup (accumulators as structures of
//     arrays, so the row loop vectorizes; NaN skipping by selects, not branches), and group
//     results merge in a cascade. Variances use sums shifted by the group's first value, then
//     Chan's formula between groups.
// Other layouts (a reduced axis between kept ones) are transposed to lanes first. A variance's
// count and sum are computed exactly like a mean's, so one pass serves both (shared chunk
// stages, array/reduction_share.hpp; several other members are fed the same tiles in turn).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "array/reduction_kernels.hpp"

namespace tessera::detail {

/// Rows accumulated in order before their sums join the cascade.
inline constexpr std::int64_t kRowGroup = 128;
/// Outputs of a rows reducer accumulated at a time (a column block of a wide block, whose
/// accumulators stay in the L1 cache while its rows pass); at most kTileElems.
inline constexpr std::int64_t kRowBlock = 1024;

/// How a C-order block maps onto the outputs of a reduction.
struct StreamGeometry {
    std::int64_t outer = 1;   // outputs
    std::int64_t length = 1;  // inputs per output
    bool rows = false;        // element i → output i % outer (else i / length)
    Shape out_shape;          // the block's shape with reduced axes kept as 1
};

/// The geometry of reducing `axes` (sorted) of a C-contiguous block of `shape`, or nullopt when
/// the reduced axes are neither leading nor trailing (transpose the block to lanes first).
std::optional<StreamGeometry> stream_geometry(const Shape& shape, std::span<const std::int64_t> axes);

/// The order in which a rows reducer wants the elements of a wide block (more than kRowBlock
/// outputs): (start, count) tiles, column block by column block, every row of a column block before the next (so its
/// accumulators stay in cache). Empty: plain C order in tiles of kTileElems.
std::vector<std::pair<std::int64_t, std::int64_t>> row_tile_order(const StreamGeometry& geometry);

class ChunkReducer {
public:
    virtual ~ChunkReducer() = default;
    /// The next `n` elements: in C order in tiles of kTileElems, or in row_tile_order's tiles.
    virtual void feed(const std::byte* tile, std::int64_t n) = 0;
    /// The block's partials; call once, after all elements were fed.
    virtual ValueList finish() = 0;
};

/// A reducer of `params.kind` for elements of `dtype` (== params.compute_dtype). Throws
/// NotImplemented for min/max of complex values.
std::unique_ptr<ChunkReducer> make_chunk_reducer(const ReduceParams& params, DType dtype,
                                                 const StreamGeometry& geometry);

}  // namespace tessera::detail
