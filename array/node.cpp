// ArrayNode: naming, lowering bookkeeping, consumer counting and the constant task.
#include "array/node.hpp"

#include <algorithm>
#include <utility>

#include "array/elementwise.hpp"
#include "array/reduction_share.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {

namespace {

Value constant_op(const TaskContext& ctx) {
    TESSERA_ASSERT(ctx.task.local != nullptr, "tessera.constant task without a payload");
    return *static_cast<const Value*>(ctx.task.local.get());
}

OpId constant_op_id() {
    static const OpId id = register_op("tessera.constant", &constant_op);
    return id;
}

// Registered when the library loads, so the operation is known before any graph is built.
[[maybe_unused]] const OpId constant_op_registered = constant_op_id();

}  // namespace

ArrayNode::ArrayNode(std::string op, DType dtype, Chunks chunks, std::vector<NodePtr> inputs,
                     std::uint64_t params_token)
    : op_(std::move(op)),
      dtype_(dtype),
      chunks_(std::move(chunks)),
      shape_(chunks_.shape()),
      inputs_(std::move(inputs)) {
    Tokenizer tok;
    tok.add(std::string_view(op_));
    tok.add(static_cast<std::int64_t>(dtype_.id()));
    tok.add(chunks_.ndim());
    for (const auto& sizes : chunks_.axes()) tok.add(std::span<const std::int64_t>(sizes));
    tok.add(static_cast<std::int64_t>(inputs_.size()));
    for (const auto& input : inputs_) {
        TESSERA_ASSERT(input != nullptr, "null input node");
        tok.add(std::string_view(input->name()));
    }
    tok.add(static_cast<std::int64_t>(params_token));
    name_ = op_ + "-" + tok.hex();
}

// Long expression chains (an iterative algorithm building x = f(x) thousands of times) would
// otherwise be destroyed recursively, one stack frame group per node.
ArrayNode::~ArrayNode() {
    std::vector<NodePtr> pending = std::move(inputs_);
    while (!pending.empty()) {
        NodePtr node = std::move(pending.back());
        pending.pop_back();
        if (node && node.use_count() == 1) {
            // We hold the last reference: nobody else can observe the node any more.
            auto& inputs = const_cast<ArrayNode&>(*node).inputs_;
            for (auto& input : inputs) pending.push_back(std::move(input));
            inputs.clear();
        }
    }
}

Key ArrayNode::block_key(std::span<const std::int64_t> block) const {
    return Key(name_, std::vector<std::int64_t>(block.begin(), block.end()));
}

void ArrayNode::lower(LowerContext& ctx) const {
    if (!ctx.lowered.insert(name_).second) return;
    lower_tasks(ctx);
}

bool LowerContext::fusable(const ArrayNode& node) const {
    if (!fuse || !node.is_elementwise()) return false;
    auto it = consumers.find(node.name());
    if (it == consumers.end()) return false;
    if (it->second == 1) return true;
    // A source (random, arange, linspace, full) is a pure function of the element index:
    // evaluating it again inside each of a few consumers' kernels costs less than writing its
    // blocks out and reading them back (Philox: ~0.75 ns per value; a memory round trip of a
    // float64 costs more), and no block of it is ever held.
    constexpr int kMaxSourceConsumers = 4;
    const auto* elem = dynamic_cast<const ElementwiseNode*>(&node);
    return it->second <= kMaxSourceConsumers && elem != nullptr &&
           (is_source(elem->spec().code) || elem->spec().code == Code::Const);
}

void count_consumers(std::span<const NodePtr> outputs, LowerContext& ctx) {
    // Nodes are identified by name: the same expression built twice is one node (CSE).
    std::unordered_set<std::string_view> visited;
    std::vector<const ArrayNode*> stack;
    for (const auto& out : outputs) {
        ctx.consumers[out->name()] += 1;
        if (visited.insert(out->name()).second) stack.push_back(out.get());
    }
    while (!stack.empty()) {
        const ArrayNode* node = stack.back();
        stack.pop_back();
        // A node reading the same input twice (x * x) is still one consumer of it.
        std::unordered_set<std::string_view> seen;
        for (const auto& input : node->inputs()) {
            if (!seen.insert(input->name()).second) continue;
            ctx.consumers[input->name()] += 1;
            if (visited.insert(input->name()).second) stack.push_back(input.get());
        }
    }
}

namespace {

/// Expressions deeper than this are lowered bottom-up first: lowering recurses into inputs, and
/// thousands of unfused operations in a chain would overflow the stack.
constexpr std::int64_t kMaxLowerDepth = 200;

/// Lowers, inputs first and without recursion, every node of a deep expression that is not
/// fused into its consumer (those are lowered by their consumers anyway).
void lower_deep_expressions(std::span<const NodePtr> outputs, LowerContext& ctx) {
    std::unordered_map<std::string_view, std::int64_t> depth;  // by name; -1 = on the stack
    std::vector<const ArrayNode*> post_order;
    std::vector<std::pair<const ArrayNode*, std::size_t>> stack;
    std::int64_t max_depth = 0;
    for (const auto& out : outputs) {
        if (depth.count(out->name())) continue;
        depth[out->name()] = -1;
        stack.emplace_back(out.get(), 0);
        while (!stack.empty()) {
            auto& [node, next] = stack.back();
            if (next < node->inputs().size()) {
                const ArrayNode* input = node->inputs()[next++].get();
                if (depth.emplace(input->name(), -1).second) stack.emplace_back(input, 0);
                continue;
            }
            std::int64_t d = 1;
            for (const auto& input : node->inputs()) d = std::max(d, depth[input->name()] + 1);
            depth[node->name()] = d;
            max_depth = std::max(max_depth, d);
            post_order.push_back(node);
            stack.pop_back();
        }
    }
    if (max_depth <= kMaxLowerDepth) return;
    for (const ArrayNode* node : post_order)
        if (!ctx.fusable(*node)) node->lower(ctx);
}

}  // namespace

std::vector<Key> lower_arrays(std::span<const NodePtr> outputs, Graph& graph, bool fuse) {
    LowerContext ctx(graph);
    ctx.fuse = fuse;
    count_consumers(outputs, ctx);
    // Reductions of one input lowered together share their chunk stage (one pass over it).
    const ReductionSharing sharing(outputs, ctx);
    lower_deep_expressions(outputs, ctx);
    std::vector<Key> keys;
    for (const auto& out : outputs) {
        out->lower(ctx);
        for_each_block(out->chunks().numblocks(),
                       [&](std::span<const std::int64_t> block) { keys.push_back(out->block_key(block)); });
    }
    return keys;
}

Task constant_task(Key key, Value value) {
    Task task;
    task.key = std::move(key);
    task.op = constant_op_id();
    task.nbytes_hint = value.nbytes();
    task.local = std::make_shared<const Value>(std::move(value));
    return task;
}

}  // namespace tessera::detail
