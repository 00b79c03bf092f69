// Delayed: lazy calls of C++ functions. Each call is a node holding its task and its
// dependencies' nodes; the task runs the captured call through the "tessera.delayed_call" op.

#include "tessera/delayed.hpp"

#include <utility>

#include "tessera/error.hpp"

namespace tessera {
namespace detail {

/// One delayed call: its task and the nodes of its dependencies (which keep them alive).
struct DelayedNode {
    Task task;
    // mutable: the destructor takes them over to unlink long chains without recursion.
    mutable std::vector<std::shared_ptr<const DelayedNode>> deps;

    DelayedNode(Task t, std::vector<std::shared_ptr<const DelayedNode>> d)
        : task(std::move(t)), deps(std::move(d)) {}
    DelayedNode(const DelayedNode&) = delete;
    DelayedNode& operator=(const DelayedNode&) = delete;

    // Destroying the head of a 100k-deep chain would otherwise recurse 100k times.
    ~DelayedNode() {
        std::vector<std::shared_ptr<const DelayedNode>> pending = std::move(deps);
        while (!pending.empty()) {
            std::shared_ptr<const DelayedNode> node = std::move(pending.back());
            pending.pop_back();
            // The only owner left: take its dependencies before it dies. (Another owner can only
            // drop its reference concurrently, which at worst costs one level of recursion.)
            if (node.use_count() == 1) {
                for (auto& dep : node->deps) pending.push_back(std::move(dep));
                node->deps.clear();
            }
        }
    }
};

namespace {

Value run_delayed_call(const TaskContext& ctx) {
    if (!ctx.task.local)
        throw GraphError("task {} of operation 'tessera.delayed_call' has no callable: "
                         "delayed tasks run only in the process that built them",
                         ctx.task.key.str());
    // `local` was set from a shared_ptr<const DelayedCall> (make_node), so this cast is exact.
    const auto& call = *static_cast<const DelayedCall*>(ctx.task.local.get());
    return call(ctx.inputs);
}

TESSERA_REGISTER_KERNEL("tessera.delayed_call", run_delayed_call);

OpId delayed_call_op() {
    // register_op is idempotent; this does not depend on static initialization order.
    static const OpId id = register_op("tessera.delayed_call", run_delayed_call);
    return id;
}

const DelayedNode& node_of(const Delayed& d, const char* what) {
    if (!d.node()) throw ValueError("{}: the Delayed is empty (default-constructed)", what);
    return *d.node();
}

Delayed make_node(std::string_view name, const std::string& token, std::vector<Delayed> deps,
                  std::shared_ptr<const DelayedCall> call) {
    Task task;
    task.key = Key(fmt::format("{}-{}", name.empty() ? std::string_view("delayed") : name, token));
    task.op = delayed_call_op();
    task.local = std::move(call);
    task.deps.reserve(deps.size());
    std::vector<std::shared_ptr<const DelayedNode>> dep_nodes;
    dep_nodes.reserve(deps.size());
    for (Delayed& dep : deps) {
        task.deps.push_back(node_of(dep, "delayed argument").task.key);
        dep_nodes.push_back(dep.node());
    }
    return Delayed(std::make_shared<const DelayedNode>(std::move(task), std::move(dep_nodes)));
}

// Adds `root` and everything it depends on (iteratively; keys already present are skipped
// together with their dependencies, which are then present too).
void collect(const DelayedNode& root, Graph& graph) {
    std::vector<const DelayedNode*> stack{&root};
    while (!stack.empty()) {
        const DelayedNode* node = stack.back();
        stack.pop_back();
        if (!graph.add(node->task)) continue;
        for (const auto& dep : node->deps) stack.push_back(dep.get());
    }
}

}  // namespace

Delayed make_delayed(const DelayedOptions& options, const char* fn_type,
                     std::uint64_t literal_token, bool literals_hashable,
                     std::vector<Delayed> deps, std::shared_ptr<const DelayedCall> call) {
    std::string token;
    if (options.pure && literals_hashable) {
        Tokenizer tok;
        tok.add(std::string_view(fn_type)).add_bytes(&literal_token, sizeof literal_token);
        for (const Delayed& dep : deps) tok.add(node_of(dep, "delayed argument").task.key);
        token = tok.hex();
    } else {
        token = unique_token();
    }
    return make_node(options.name, token, std::move(deps), std::move(call));
}

}  // namespace detail

Delayed Delayed::from_value(Value value, std::string name) {
    return detail::make_node(name, unique_token(), {},
                             detail::make_delayed_call([value = std::move(value)](std::span<const Value* const>) {
                                 return value;
                             }));
}

const Key& Delayed::key() const { return detail::node_of(*this, "Delayed::key").task.key; }

Graph Delayed::graph() const {
    Graph graph;
    detail::collect(detail::node_of(*this, "Delayed::graph"), graph);
    return graph;
}

Value Delayed::compute(const ComputeOptions& options) const {
    const Graph g = graph();
    const Key& k = key();
    return std::move(compute_graph(g, std::span(&k, 1), options)[0]);
}

void Delayed::visualize(const std::string& path) const { graph().visualize(path); }

void Delayed::add_to_graph(Graph& graph, std::vector<Key>& keys) const {
    detail::collect(detail::node_of(*this, "Delayed::add_to_graph"), graph);
    keys.push_back(key());
}

}  // namespace tessera
