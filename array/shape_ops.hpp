#pragma once
// Internal: what the shape operations (array/slicing.cpp, transpose.cpp, reshape.cpp,
// rechunk.cpp, concatenate.cpp) share: the cereal codec of their task parameters, the
// "assemble" node (every output block copied together from pieces of input blocks; used by
// rechunk, reshape and concatenate), and Dask's rechunk planner.

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <cereal/archives/binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "array/node.hpp"
#include "tessera/array_shape.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {

/// cereal binary encoding of a parameter struct with a serialize() member.
template <class P>
std::string encode_shape_params(const P& params) {
    std::ostringstream os(std::ios::binary);
    {
        cereal::BinaryOutputArchive ar(os);
        ar(params);
    }
    return std::move(os).str();
}

/// Decodes what encode_shape_params wrote; ProtocolError naming `what` when malformed.
template <class P>
P decode_shape_params(std::string_view bytes, std::string_view what) {
    P params;
    try {
        std::istringstream is(std::string(bytes), std::ios::binary);
        cereal::BinaryInputArchive ar(is);
        ar(params);
    } catch (const cereal::Exception& e) {
        throw ProtocolError("malformed {} parameters ({} bytes): {}", what, bytes.size(), e.what());
    }
    return params;
}

/// Cumulative block boundaries of one axis: sizes.size() + 1 offsets starting at 0.
std::vector<std::int64_t> block_offsets(const BlockSizes& sizes);

/// The part of input block `in_block` (along one axis) that lands in an output block:
/// input-block-local [src_start, src_stop) goes to output-block-local offset dst_start.
struct AxisPiece {
    std::int64_t in_block = 0;
    std::int64_t src_start = 0, src_stop = 0, dst_start = 0;
};

/// For every block of `out` (one axis), the non-empty overlaps with the blocks of `in` in
/// order. Both must sum to the same length.
std::vector<std::vector<AxisPiece>> axis_pieces(const BlockSizes& out, const BlockSizes& in);

/// One piece of an output block of an AssembleNode: the region [src_start, src_stop) of block
/// `block` of input `input` (its rank), copied to offset dst_start of the output block (the
/// output's rank). A block with a single piece may change rank (the piece is reshaped to the
/// output block, as reshape and stack need).
struct BlockPiece {
    std::size_t input = 0;
    Shape block;
    Shape src_start, src_stop, dst_start;
};

/// A node whose every output block is assembled from pieces of input blocks, converted to the
/// node's dtype (task op "tessera.assemble"). A block without pieces (zero elements) is made
/// from nothing.
class AssembleNode : public ArrayNode {
public:
    using ArrayNode::ArrayNode;

    /// The pieces of output block `block` (appended to `out`, which the caller cleared).
    virtual void block_pieces(std::span<const std::int64_t> block, std::vector<BlockPiece>& out) const = 0;
    /// True when a piece of a fusable elementwise input may be computed inside the assemble task
    /// (a fused kernel over the piece's region) instead of being cut from the input's block:
    /// the input's blocks are then never materialized. Needs pieces of the output's rank.
    virtual bool computes_pieces() const { return false; }

protected:
    void lower_tasks(LowerContext& ctx) const final;
};

/// Dask's plan_rechunk: the chunkings to go through, ending with `target` (just {target} when a
/// direct rechunk is small enough). `block_size_limit` is in bytes.
std::vector<Chunks> plan_rechunk(const Chunks& old, const Chunks& target, std::int64_t itemsize,
                                 double threshold, std::int64_t block_size_limit);

/// Python's slice.indices(n) followed by the length: (start, step, count).
struct NormalizedSlice {
    std::int64_t start = 0, step = 1, count = 0;
};
/// ValueError "slice step cannot be zero".
NormalizedSlice normalize_slice(const Slice& slice, std::int64_t n);

/// The values of an integer index array as int64 (C order). IndexError "arrays used as indices
/// must be of integer (or boolean) type" for other dtypes; bool is `what`'s NotImplemented /
/// IndexError, decided by the caller (checked before calling).
std::vector<std::int64_t> index_values(const NDArray& indices);
/// Normalizes negative indices against `n` in place; IndexError "index 10 is out of bounds for
/// axis 0 with size 10" otherwise.
void normalize_indices(std::vector<std::int64_t>& indices, std::int64_t axis, std::int64_t n);

/// take() with already normalized indices (0 <= index < x.shape(axis)), 1-d result axis.
Array take_normalized(const Array& x, const std::vector<std::int64_t>& indices, std::int64_t axis);

/// When `node` is a transpose: its input, with `axes` set to the permutation (axis k of the
/// result is axis axes[k] of the input); otherwise nullptr. Fused kernels read through a
/// transpose instead of running it (array/fused.cpp).
const ArrayNode* transpose_input(const ArrayNode& node, const std::vector<std::int64_t>** axes);

}  // namespace tessera::detail
