// Shared pieces of the local schedulers (see run_state.hpp).

#include "scheduler/run_state.hpp"

#include <atomic>
#include <unordered_map>

namespace tessera::detail {

ValueSlots::ValueSlots(std::int64_t n)
    : n_(n),
      slots_(std::allocator<Value>().allocate(static_cast<std::size_t>(n))),
      alive_(static_cast<std::size_t>(n), 0) {}

ValueSlots::~ValueSlots() {
    for (std::int64_t t = 0; t < n_; ++t)
        if (alive_[static_cast<std::size_t>(t)]) slots_[t].~Value();
    std::allocator<Value>().deallocate(slots_, static_cast<std::size_t>(n_));
}

DependencyCounts count_dependencies(const GraphIndex& index,
                                    std::span<const std::int64_t> priority) {
    const std::int64_t n = index.size();
    DependencyCounts out;
    // memory_order gives a permutation of 0..n-1: then a bucket pass sorts the roots in O(n).
    std::vector<std::int64_t> by_priority(static_cast<std::size_t>(n), -1);
    out.by_priority = true;
    for (std::int64_t t = 0; t < n && out.by_priority; ++t) {
        const std::int64_t p = priority[static_cast<std::size_t>(t)];
        if (p < 0 || p >= n || by_priority[static_cast<std::size_t>(p)] >= 0) out.by_priority = false;
        else by_priority[static_cast<std::size_t>(p)] = t;
    }
    out.n_waiting.assign(static_cast<std::size_t>(n), 0);
    out.n_readers.assign(static_cast<std::size_t>(n), 0);
    for (std::int64_t u : index.dependent_ids) ++out.n_waiting[static_cast<std::size_t>(out.slot(u, priority))];
    for (std::int64_t d : index.dep_ids) ++out.n_readers[static_cast<std::size_t>(out.slot(d, priority))];

    if (out.by_priority) {
        for (std::int64_t p = 0; p < n; ++p)
            if (out.n_waiting[static_cast<std::size_t>(p)] == 0)
                out.roots.push_back({p, by_priority[static_cast<std::size_t>(p)]});
    } else {
        for (std::int64_t t = 0; t < n; ++t)
            if (out.n_waiting[static_cast<std::size_t>(t)] == 0)
                out.roots.push_back({priority[static_cast<std::size_t>(t)], t});
        std::sort(out.roots.begin(), out.roots.end());
    }
    return out;
}

namespace {
std::atomic<std::int64_t> g_next_run_id{1};
}  // namespace

EventSink::EventSink(const Graph& graph, std::span<const std::shared_ptr<Observer>> observers)
    : graph_(graph), observers_(observers), active_(!observers.empty()) {}

void EventSink::emit(TaskEvent::Kind kind, std::int64_t task, int thread, std::int64_t bytes,
                     std::string_view error) const {
    const Key& key = graph_.tasks()[static_cast<std::size_t>(task)].key;
    const TaskEvent event{kind, &key, key.group(), thread, bytes, now_ns(), error};
    for (const auto& observer : observers_) {
        // Observers must not throw; one that does must not wedge a worker.
        try {
            observer->on_task(event);
        } catch (...) {
        }
    }
}

void EventSink::run_start(const std::string& scheduler, int n_threads) {
    run_id_ = g_next_run_id.fetch_add(1, std::memory_order_relaxed);
    start_ = std::chrono::steady_clock::now();
    if (!active_) return;
    RunInfo info;
    info.run_id = run_id_;
    info.n_tasks = graph_.size();
    info.scheduler = scheduler;
    info.n_threads = n_threads;
    info.started_at = std::chrono::system_clock::now();
    info.graph = &graph_;
    // Groups are interned: one address per group, so the map hashes pointers, not text.
    std::unordered_map<const char*, std::size_t> position;
    const char* last = nullptr;
    std::size_t last_position = 0;
    for (const Task& task : graph_.tasks()) {
        const std::string_view group = task.key.group();
        if (group.data() == last) {
            ++info.groups[last_position].second;
            continue;
        }
        auto [it, inserted] = position.try_emplace(group.data(), info.groups.size());
        last = group.data();
        last_position = it->second;
        if (inserted) info.groups.emplace_back(std::string(group), 0);
        ++info.groups[it->second].second;
    }
    for (const auto& observer : observers_) {
        try {
            observer->on_run_start(info);
        } catch (...) {
        }
    }
}

void EventSink::run_end(std::int64_t n_finished, bool failed) const {
    if (!active_) return;
    const RunSummary summary{run_id_, n_finished, failed,
                             static_cast<double>(now_ns()) * 1e-9};
    for (const auto& observer : observers_) {
        try {
            observer->on_run_end(summary);
        } catch (...) {
        }
    }
}

std::string exception_message(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown exception";
    }
}

void rethrow_task_error(const std::exception_ptr& error, const Key& key) {
    rethrow_with_context(error, "task " + key.str());
}

void check_run_arguments(const Graph& graph, const GraphIndex& index,
                         std::span<const std::int64_t> priority,
                         std::span<const std::int64_t> outputs) {
    const std::int64_t n = graph.size();
    if (index.size() != n)
        throw GraphError("graph index has {} tasks but the graph has {}", index.size(), n);
    if (static_cast<std::int64_t>(priority.size()) != n)
        throw GraphError("priority has {} entries but the graph has {} tasks", priority.size(), n);
    for (std::int64_t t : outputs)
        if (t < 0 || t >= n)
            throw GraphError("output position {} is out of range for a graph of {} tasks", t, n);
}

}  // namespace tessera::detail
