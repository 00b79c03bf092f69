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
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "array/node.hpp"

namespace tessera::detail {

/// The shape of a reduction tree (Dask's split_every), shared by every tree reduction: chunk
/// partials on the input's block grid, combine levels merging up to split_every consecutive
/// partials along each reduced axis ("<combine_name>", {level, group...}) while some reduced axis
/// has more than split_every of them, then one aggregate group per output block over everything
/// left. A group is a box [lo, lo + extent) of the level below; its keys are in C order.
class ReductionTree {
public:
    struct Group {
        Shape lo, extent;
        std::vector<Key> keys;
    };
    ReductionTree(Shape grid, std::vector<bool> reduced, std::int64_t split_every, std::string chunk_name,
                  std::string combine_name);

    /// Calls f(key, group) for every combine task, level by level.
    void for_each_combine(const std::function<void(Key, Group)>& f) const;
    /// Adds one task per combine group to `graph`: operation `op` with `params`, the group's keys
    /// as deps, nbytes_hint = bytes(group.lo) (the size of one partial at that position).
    void add_combine_tasks(Graph& graph, OpId op, const std::string& params,
                           const std::function<std::int64_t(const Shape&)>& bytes) const;
    /// Calls f(index, group) for every aggregate task: `index` is the output block's index on the
    /// input grid with reduced axes 0 (drop them or keep them as the node's keepdims says).
    void for_each_aggregate(const std::function<void(std::span<const std::int64_t>, Group)>& f) const;

private:
    Key key_at(std::int64_t level, std::span<const std::int64_t> idx) const;
    Group group(std::int64_t level, const Shape& cur, std::span<const std::int64_t> idx, std::int64_t fan_in) const;

    Shape grid_;
    std::vector<bool> reduced_;
    std::int64_t split_every_;
    std::string chunk_name_, combine_name_;
    std::vector<Shape> levels_;  // the grid of each level's partials: [0] = the chunk grid
};

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
