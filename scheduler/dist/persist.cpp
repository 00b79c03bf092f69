// Graphs through the futures machinery: Client::persist (an Array whose blocks are Futures held
// on the workers) and Client::run for graphs that read such blocks ("tessera.remote" tasks).
//
// A remote block lowers to a task of the "tessera.remote" operation carrying its Future as the
// local payload. Such a graph is submitted into the client's futures run with every reference
// to a remote task replaced by the Future's key, so the blocks are read where they are.

#include <fmt/format.h>

#include "array/node.hpp"
#include "scheduler/dist/client_core.hpp"
#include "scheduler/run_state.hpp"
#include "tessera/array.hpp"
#include "tessera/distributed.hpp"

namespace tessera {

namespace {

constexpr std::string_view kRemoteOp = "tessera.remote";

Value remote_block(const TaskContext& ctx) {
    throw Error("block {} is held on a distributed cluster; compute it with the Client that persisted it",
                ctx.task.key.str());
}

const OpId g_remote_op = register_op(kRemoteOp, remote_block);

/// Blocks held on the workers of a cluster as Futures; destroying the last handle frees them.
class RemoteNode final : public detail::ArrayNode {
public:
    RemoteNode(const Array& source, std::vector<Future> blocks, std::uint64_t token)
        : ArrayNode(source.node()->op(), source.dtype(), source.chunks(), {}, token), blocks_(std::move(blocks)) {}

protected:
    void lower_tasks(detail::LowerContext& ctx) const override {
        std::size_t flat = 0;
        detail::for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> block) {
            Task task;
            task.key = block_key(block);
            task.op = g_remote_op;
            task.local = std::make_shared<const Future>(blocks_[flat++]);
            ctx.graph.add(std::move(task));
        });
    }

private:
    std::vector<Future> blocks_;
};

}  // namespace

namespace detail {

bool has_remote_tasks(const Graph& graph) {
    for (const Task& task : graph.tasks())
        if (task.op == g_remote_op) return true;
    return false;
}

/// Submits `graph` (culled, indexed) into the futures run and returns Futures of `outputs`.
std::vector<Future> submit_graph(ClientCore& core, const std::shared_ptr<ClientCore>& self, const Graph& graph,
                                 const GraphIndex& index, std::span<const std::int64_t> priority,
                                 std::span<const std::int64_t> outputs) {
    const auto n = static_cast<std::size_t>(graph.size());
    std::vector<Key> effective(n);
    std::vector<Future> remote(n);
    for (std::size_t t = 0; t < n; ++t) {
        const Task& task = graph.tasks()[t];
        if (task.op == g_remote_op) {
            remote[t] = *static_cast<const Future*>(task.local.get());
            if (detail::FutureAccess::state(remote[t])->core.get() != &core)
                throw ValueError("block {} is held by another client", task.key.str());
            effective[t] = remote[t].key();
        } else {
            effective[t] = task.key;
        }
    }
    std::vector<char> is_output(n, 0);
    for (std::int64_t o : outputs) is_output[static_cast<std::size_t>(o)] = 1;

    std::vector<dist::FutureSpec> specs;
    for (std::int64_t t : graph.topological_order()) {
        const Task& task = graph.tasks()[static_cast<std::size_t>(t)];
        if (task.op == g_remote_op) continue;
        dist::FutureSpec spec;
        spec.key = task.key;
        spec.op = std::string(op_name(task.op));
        if (task.local) spec.constant = pack_local_payload(task);
        spec.params = task.params;
        for (std::int64_t k = index.dep_offsets[static_cast<std::size_t>(t)];
             k < index.dep_offsets[static_cast<std::size_t>(t) + 1]; ++k)
            spec.deps.push_back(effective[static_cast<std::size_t>(index.dep_ids[static_cast<std::size_t>(k)])]);
        spec.priority = priority[static_cast<std::size_t>(t)];
        spec.held = is_output[static_cast<std::size_t>(t)] != 0;
        specs.push_back(std::move(spec));
    }

    std::vector<Future> out(outputs.size());
    std::vector<dist::FutureSpec> send;
    std::unordered_map<Key, Future, KeyHash> made;  // before the lock: a Future may not die while it is held
    std::unique_lock lock(core.mutex);
    core.check_alive();
    for (dist::FutureSpec& spec : specs) {
        if (spec.held) {
            bool created = false;
            made.emplace(spec.key, core.future_for(spec.key, self, created));
            if (!created) continue;  // a live future computes the same key already
        }
        send.push_back(std::move(spec));
    }
    if (!send.empty() && !core.send_locked(dist::encode(std::move(send))))
        throw WorkerError("cannot send the graph to the scheduler at {}", core.address);
    lock.unlock();
    for (std::size_t k = 0; k < outputs.size(); ++k) {
        const auto t = static_cast<std::size_t>(outputs[k]);
        out[k] = remote[t].valid() ? remote[t] : made.at(graph.tasks()[t].key);
    }
    return out;
}

}  // namespace detail

Array Client::persist(const Array& array) {
    Graph graph;
    std::vector<Key> keys;
    array.add_to_graph(graph, keys);
    std::vector<Future> blocks;
    if (!keys.empty()) {
        const Graph culled = graph.cull(keys);
        const GraphIndex index = index_graph(culled);
        const std::vector<std::int64_t> priority = memory_order(culled, index, keys);
        std::vector<std::int64_t> outputs;
        for (const Key& key : keys) outputs.push_back(culled.find(key));
        blocks = detail::submit_graph(*core_, core_, culled, index, priority, outputs);
    }
    Tokenizer token;
    token.add(std::string_view("remote-persist")).add(std::string_view(array.name()));
    return Array(std::make_shared<RemoteNode>(array, std::move(blocks), token.digest()));
}

}  // namespace tessera
