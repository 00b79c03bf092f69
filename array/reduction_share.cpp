// Planning reductions that share their chunk stage (see array/reduction_share.hpp).
#include "array/reduction_share.hpp"

#include <algorithm>
#include <map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "tessera/error.hpp"

namespace tessera::detail {

namespace {

/// The plans of the lowerings in progress on this thread (innermost last).
thread_local std::vector<const ReductionSharing*> active_plans;

/// What reductions must agree on to share their chunk stage.
struct GroupKey {
    std::string input;
    std::vector<std::int64_t> axes;
    std::uint8_t compute_dtype = 0;
    bool zero_nans = false;
    std::int64_t split_every = 0;
    auto operator<=>(const GroupKey&) const = default;
};

struct Candidate {
    std::string node_name;
    std::uint8_t code = 0;
};

struct Group {
    const ArrayNode* input = nullptr;
    const ReduceParams* params = nullptr;  // of any member (the shared fields are equal)
    std::vector<Candidate> members;
};

std::shared_ptr<SharedTree> make_tree(const GroupKey& key, const Group& group, std::span<const std::uint8_t> codes,
                                      const LowerContext& ctx, std::int64_t distinct_nodes) {
    auto tree = std::make_shared<SharedTree>();
    std::string op;
    for (auto code : codes) {
        if (!op.empty()) op += '+';
        op += reduce_name(static_cast<ReduceKind>(code & 0x7f));
    }
    Tokenizer tok;
    tok.add(std::string_view("shared-reduction"))
        .add(std::string_view(key.input))
        .add(std::span<const std::int64_t>(key.axes))
        .add(std::int64_t{key.compute_dtype})
        .add(std::int64_t{key.zero_nans})
        .add(key.split_every);
    for (auto code : codes) tok.add(std::int64_t{code});
    const std::string token = tok.hex();
    tree->name = op + "-" + token;
    tree->chunk_name = op + "_chunk-" + token;
    tree->combine_name = op + "_combine-" + token;
    tree->input = group.input;
    tree->params = *group.params;
    tree->params.kind = static_cast<ReduceKind>(codes.front() & 0x7f);
    tree->params.int_mean = false;
    tree->params.keepdims = false;
    tree->params.ddof = 0;
    tree->params.partial_shape.clear();
    tree->params.program.clear();
    tree->params.part_offset = -1;
    tree->params.shared.assign(codes.begin(), codes.end());
    tree->split_every = key.split_every;
    for (std::size_t k = 0; k < codes.size(); ++k) {
        const auto kind = static_cast<ReduceKind>(codes[k] & 0x7f);
        tree->n_partials += partial_count(kind);
        // A mean directly followed by the variance of the same NaN rule: one (count, sum).
        const bool mean = kind == ReduceKind::Mean || kind == ReduceKind::NanMean;
        const bool int_mean = (codes[k] & 0x80) != 0;
        if (mean && !int_mean && k + 1 < codes.size() && codes[k + 1] == codes[k] + 1) tree->n_partials -= 2;
    }
    // The input may be evaluated inside the chunk tasks when nothing but the group reads it.
    auto it = ctx.consumers.find(group.input->name());
    tree->fused = ctx.fuse && group.input->is_elementwise() && it != ctx.consumers.end() &&
                  it->second == distinct_nodes;
    return tree;
}

}  // namespace

ReductionSharing::ReductionSharing(std::span<const NodePtr> outputs, const LowerContext& ctx) : ctx_(&ctx) {
    // Every node reachable from the outputs, once (by name: equal expressions are one node).
    std::map<GroupKey, Group> groups;
    std::unordered_set<std::string_view> visited;
    std::vector<const ArrayNode*> stack;
    for (const auto& out : outputs)
        if (visited.insert(out->name()).second) stack.push_back(out.get());
    while (!stack.empty()) {
        const ArrayNode* node = stack.back();
        stack.pop_back();
        if (auto r = shareable_reduction(*node)) {
            GroupKey key{r->input->name(), r->params->axes, static_cast<std::uint8_t>(r->params->compute_dtype.id()),
                         r->params->zero_nans, r->split_every};
            Group& g = groups[std::move(key)];
            g.input = r->input;
            g.params = r->params;
            g.members.push_back({node->name(), share_code(r->params->kind, r->params->int_mean)});
        }
        for (const auto& input : node->inputs())
            if (visited.insert(input->name()).second) stack.push_back(input.get());
    }

    for (const auto& [key, group] : groups) {
        if (group.members.size() < 2) continue;  // alone: the reduction's own tree
        std::vector<std::uint8_t> codes;
        for (const auto& m : group.members) codes.push_back(m.code);
        std::sort(codes.begin(), codes.end());
        codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
        auto tree = make_tree(key, group, codes, ctx, static_cast<std::int64_t>(group.members.size()));
        for (const auto& m : group.members) {
            std::int64_t offset = 0;
            for (auto code : codes) {
                if (code == m.code) break;
                offset += partial_count(static_cast<ReduceKind>(code & 0x7f));
            }
            members_[m.node_name] = Member{tree, offset};
        }
    }
    active_plans.push_back(this);
}

ReductionSharing::~ReductionSharing() {
    auto it = std::find(active_plans.begin(), active_plans.end(), this);
    TESSERA_ASSERT(it != active_plans.end(), "reduction sharing plan not registered");
    active_plans.erase(it);
}

const SharedTree* find_shared_tree(const LowerContext& ctx, const ArrayNode& node, std::int64_t& part_offset) {
    for (auto plan = active_plans.rbegin(); plan != active_plans.rend(); ++plan) {
        if ((*plan)->ctx_ != &ctx) continue;
        auto it = (*plan)->members_.find(node.name());
        if (it == (*plan)->members_.end()) return nullptr;
        part_offset = it->second.part_offset;
        return it->second.tree.get();
    }
    return nullptr;
}

}  // namespace tessera::detail
