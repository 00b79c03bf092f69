#pragma once
// Internal: the two node shapes behind include/tessera/reductions.hpp.
//
// TreeReduceNode lowers a Dask-style tree like array/reduction.cpp: one chunk task per input
// block ("<op>_chunk-<token>"), combine levels merging up to split_every partials along every
// reduced axis ("<op>_combine-<token>", {level, group...}), one aggregate task per output block
// ("<op>-<token>"). Subclasses give the registered ops and their parameters.
//
// BlockMapNode applies one registered op to matching blocks of its inputs (every output block
// reads exactly one block of each input; see `source_axis`).

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "array/node.hpp"

namespace tessera::detail {

/// The registered ops of a tree reduction.
struct TreeOps {
    OpId chunk = 0, combine = 0, aggregate = 0;
};

class TreeReduceNode : public ArrayNode {
public:
    /// `axes`: reduced axes of the input (sorted); the output drops them unless `keepdims`.
    TreeReduceNode(std::string op, DType dtype, NodePtr input, std::vector<std::int64_t> axes, bool keepdims,
                   std::int64_t split_every, std::uint64_t token);

    const std::vector<std::int64_t>& axes() const { return axes_; }
    bool keepdims() const { return keepdims_; }

protected:
    virtual TreeOps ops() const = 0;
    /// Parameters of the chunk task of input block `block`.
    virtual std::string chunk_params(std::span<const std::int64_t> block) const = 0;
    /// Parameters of combine tasks.
    virtual std::string combine_params() const = 0;
    /// Parameters of the aggregate task of output block `block` (reduced axes kept as index 0).
    virtual std::string aggregate_params(std::span<const std::int64_t> block) const = 0;
    /// Bytes of the partial of a block whose output part has `n` elements.
    virtual std::int64_t partial_bytes(std::int64_t n) const { return 16 * n; }

    void lower_tasks(LowerContext& ctx) const final;

private:
    std::vector<std::int64_t> axes_;
    bool keepdims_;
    std::int64_t split_every_;
};

/// Output chunks of reducing `chunks` over `axes` (sorted): the axes dropped, or of one block of
/// size 1 with keepdims.
Chunks reduced_chunks(const Chunks& chunks, std::span<const std::int64_t> axes, bool keepdims);

class BlockMapNode final : public ArrayNode {
public:
    /// Output block b reads block s of every input, where s[k] = b[source_axis[k]], or 0 when
    /// source_axis[k] is -1. Every input must have source_axis.size() axes.
    BlockMapNode(std::string op, DType dtype, Chunks chunks, std::vector<NodePtr> inputs, OpId task_op,
                 std::string params, std::vector<std::int64_t> source_axis, std::uint64_t token);

protected:
    void lower_tasks(LowerContext& ctx) const override;

private:
    OpId task_op_;
    std::string params_;
    std::vector<std::int64_t> source_axis_;
};

/// Token of a string parameter blob (for node names).
std::uint64_t params_token(std::string_view op, std::string_view params);

}  // namespace tessera::detail
