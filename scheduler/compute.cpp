// compute_graph: cull, index, order, pick the scheduler and the observers, run.

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "dashboard/auto.hpp"
#include "graph/optimize.hpp"
#include "scheduler/dist/connect.hpp"
#include "scheduler/observers.hpp"
#include "tessera/config.hpp"
#include "tessera/error.hpp"
#include "tessera/scheduler.hpp"

namespace tessera {
namespace {

struct InstalledScheduler {
    std::mutex mutex;
    std::shared_ptr<Scheduler> scheduler;
};

InstalledScheduler& installed() {
    static InstalledScheduler instance;
    return instance;
}

// Restores the previously installed scheduler when the handle of use_scheduler() dies.
struct SchedulerRestorer {
    std::shared_ptr<Scheduler> previous;
    ~SchedulerRestorer() {
        auto& slot = installed();
        std::lock_guard lock(slot.mutex);
        slot.scheduler = std::move(previous);
    }
};

// Schedulers are kept for the process: a thread scheduler owns a TBB arena, cheap to reuse.
std::shared_ptr<Scheduler> sync_scheduler() {
    static const std::shared_ptr<Scheduler> instance = make_sync_scheduler();
    return instance;
}

std::shared_ptr<Scheduler> thread_scheduler(int n_threads) {
    static std::mutex mutex;
    static std::map<int, std::shared_ptr<Scheduler>> cache;
    std::lock_guard lock(mutex);
    auto& slot = cache[n_threads];
    if (!slot) slot = make_thread_scheduler(n_threads);
    return slot;
}

std::shared_ptr<Scheduler> choose_scheduler(const Config& config, const ComputeOptions& options) {
    {
        auto& slot = installed();
        std::lock_guard lock(slot.mutex);
        if (slot.scheduler) return slot.scheduler;
    }
    const std::string name = options.scheduler.value_or(config.scheduler);
    if (name == "sync" || name == "synchronous") return sync_scheduler();
    if (name == "threads") {
        int n_threads = options.num_threads.value_or(config.num_threads);
        if (n_threads < 0) throw ConfigError("num_threads must be >= 0, got {}", n_threads);
        if (n_threads == 0) n_threads = std::max(1u, std::thread::hardware_concurrency());
        return thread_scheduler(n_threads);
    }
    if (name.starts_with("tcp://")) return detail::distributed_scheduler(name);
    throw ConfigError("unknown scheduler '{}': expected 'sync', 'threads' or 'tcp://HOST:PORT'", name);
}

// One trace writer per path for the process, so that successive computes append to one file.
std::shared_ptr<Observer> trace_writer(const std::string& path) {
    static std::mutex mutex;
    static std::string current_path;
    static std::shared_ptr<Observer> current;
    std::lock_guard lock(mutex);
    if (!current || current_path != path) {
        current = make_trace_writer(path);
        current_path = path;
    }
    return current;
}

bool show_progress(const Config& config, const ComputeOptions& options) {
    if (options.progress) return *options.progress;
    if (config.progress) return *config.progress;
    return ::isatty(STDERR_FILENO) == 1 && std::getenv("CI") == nullptr;
}

// True when every task of the index is needed by one of `targets` (then culling is a no-op).
bool all_needed(const GraphIndex& index, std::span<const std::int64_t> targets) {
    const std::int64_t n = index.size();
    std::vector<std::uint8_t> seen(static_cast<std::size_t>(n), 0);
    std::vector<std::int64_t> stack(targets.begin(), targets.end());
    std::int64_t n_seen = 0;
    while (!stack.empty()) {
        const std::int64_t t = stack.back();
        stack.pop_back();
        if (seen[static_cast<std::size_t>(t)]) continue;
        seen[static_cast<std::size_t>(t)] = 1;
        ++n_seen;
        for (auto e = index.dep_offsets[static_cast<std::size_t>(t)];
             e < index.dep_offsets[static_cast<std::size_t>(t) + 1]; ++e)
            stack.push_back(index.dep_ids[static_cast<std::size_t>(e)]);
    }
    return n_seen == n;
}

}  // namespace

std::shared_ptr<void> use_scheduler(std::shared_ptr<Scheduler> scheduler) {
    auto& slot = installed();
    auto restorer = std::make_shared<SchedulerRestorer>();
    std::lock_guard lock(slot.mutex);
    restorer->previous = std::exchange(slot.scheduler, std::move(scheduler));
    return restorer;
}

std::vector<Value> compute_graph(const Graph& graph, std::span<const Key> outputs,
                                 const ComputeOptions& options) {
    const Config config = config::get();
    const std::shared_ptr<Scheduler> scheduler = choose_scheduler(config, options);
    if (outputs.empty()) return {};

    // Graphs built by collections usually hold exactly what the outputs need: then skip the copy
    // that cull() makes. A missing output or dependency takes the cull() path for its message.
    const Graph* run_graph = &graph;
    Graph culled;
    GraphIndex index;
    bool need_cull = true;
    std::vector<std::int64_t> positions;
    positions.reserve(outputs.size());
    for (const Key& key : outputs) positions.push_back(graph.find(key));
    if (std::find(positions.begin(), positions.end(), -1) == positions.end()) {
        try {
            index = index_graph(graph);
            need_cull = !all_needed(index, positions);
        } catch (const GraphError&) {
            need_cull = true;
        }
    }
    if (need_cull) {
        culled = graph.cull(outputs);
        run_graph = &culled;
        index = index_graph(culled);
        for (std::size_t k = 0; k < outputs.size(); ++k) positions[k] = culled.find(outputs[k]);
    }
    // Linear chains become single tasks. A cycle cannot disappear here: every task left is needed
    // by an output, and a cycle fused away entirely would have no dependent outside it.
    Graph fused;
    if (config.optimize && detail::fuse_linear(*run_graph, index, outputs, fused, "tessera.") > 0) {
        run_graph = &fused;
        index = index_graph(fused);
        for (std::size_t k = 0; k < outputs.size(); ++k) positions[k] = fused.find(outputs[k]);
    }
    // memory_order raises GraphError on a cycle, before anything runs.
    const std::vector<std::int64_t> priority = memory_order(*run_graph, index, outputs);

    // TESSERA_DASHBOARD / config().dashboard: serve the dashboard before observers are copied.
    detail::ensure_dashboard_from_config();

    std::vector<std::shared_ptr<Observer>> observers = detail::global_observers();
    observers.insert(observers.end(), options.observers.begin(), options.observers.end());
    if (show_progress(config, options)) observers.push_back(make_progress_bar());
    if (!config.trace_file.empty()) observers.push_back(trace_writer(config.trace_file));
    std::erase(observers, nullptr);

    try {
        return scheduler->run(*run_graph, index, priority, positions, observers);
    } catch (const Error& e) {
        // A task that failed inside a chain names itself ("task ('a', 0): ..."); the scheduler's
        // prefix naming the chain (its last task) is dropped so messages do not depend on fusion.
        const std::string_view message = e.what();
        const auto inner = message.find(": task ");
        if (message.starts_with("task ") && inner != std::string_view::npos) {
            const std::string_view outer_key = message.substr(5, inner - 5);
            const OpId chain = detail::chain_op_id();
            for (const Task& task : run_graph->tasks())
                if (task.op == chain && task.key.str() == outer_key)
                    std::rethrow_exception(e.with_message(std::string(message.substr(inner + 2))));
        }
        throw;
    }
}

}  // namespace tessera
