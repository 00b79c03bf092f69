#pragma once
// Internal: reductions that share their chunk stage.
//
// When one lowering (compute(a, b), a graph of several outputs, an expression combining two
// reductions of one array) holds several built-in reductions (array/reduction.cpp) of the same
// input over the same axes, with the same compute dtype, NaN zeroing and split_every, their chunk
// and combine tasks form one shared tree ("nanmean+nanvar_chunk-<token>", ...):
//   chunk     streams the input block once (through the fused elementwise program producing it
//             when only these reductions read that input, so it is never materialized) into the
//             partials of every member, concatenated (ReduceParams::shared);
//   combine   merges the concatenated partials member by member;
//   aggregate stays one task per output block of each reduction, reading its member's partials
//             (ReduceParams::part_offset).
// Members are partial kinds, not reductions: std and var (any ddof) share one, so do the
// reductions built twice. A member's partials are computed by the same code on the same tiles as
// when its reduction runs alone, so every result is bitwise what it is without sharing.
//
// Usage (lower_arrays, array/node.cpp):
//     const ReductionSharing sharing(outputs, ctx);   // after count_consumers
//     ... lower the outputs; ReduceNode::lower_tasks asks find_shared_tree(ctx, *this) ...

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "array/node.hpp"
#include "array/reduction_kernels.hpp"

namespace tessera::detail {

/// What the planner needs of a built-in reduction node.
struct ShareableReduction {
    const ArrayNode* input = nullptr;
    const ReduceParams* params = nullptr;
    std::int64_t split_every = 0;
};

/// The built-in reduction behind `node`, or nullopt for any other node (array/reduction.cpp).
std::optional<ShareableReduction> shareable_reduction(const ArrayNode& node);

/// The chunk and combine stage shared by the reductions of one group.
struct SharedTree {
    std::string name;          // "<member kinds joined by +>-<token>": lowered once per graph
    std::string chunk_name;    // "<member kinds>_chunk-<token>"
    std::string combine_name;  // "<member kinds>_combine-<token>"
    const ArrayNode* input = nullptr;
    /// kind, int_mean and partial_shape unused; `shared` lists the member codes (sorted).
    ReduceParams params;
    std::int64_t split_every = 0;
    /// The chunk tasks evaluate the input's fused program (only the group reads the input).
    bool fused = false;
    /// Distinct partial arrays per block, all members (a mean and a variance computed together
    /// share their count and sum arrays): for memory hints.
    std::int64_t n_partials = 0;
};

/// Plans the sharing of one lowering for the lifetime of this object (a scope inside
/// lower_arrays): groups the built-in reductions reachable from `outputs`. `ctx` must outlive it
/// and already hold the consumer counts.
class ReductionSharing {
public:
    ReductionSharing(std::span<const NodePtr> outputs, const LowerContext& ctx);
    ~ReductionSharing();
    ReductionSharing(const ReductionSharing&) = delete;
    ReductionSharing& operator=(const ReductionSharing&) = delete;

    struct Member {
        std::shared_ptr<const SharedTree> tree;
        std::int64_t part_offset = 0;  // first of the node's partials in the shared list
    };

private:
    friend const SharedTree* find_shared_tree(const LowerContext&, const ArrayNode&, std::int64_t&);
    const LowerContext* ctx_;
    std::unordered_map<std::string, Member> members_;  // by reduction node name
};

/// The shared tree of the reduction `node` within the lowering `ctx`, setting `part_offset` to
/// where its partials start; nullptr when the node shares nothing (or no plan is active).
const SharedTree* find_shared_tree(const LowerContext& ctx, const ArrayNode& node, std::int64_t& part_offset);

}  // namespace tessera::detail
