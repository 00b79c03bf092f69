#pragma once
/// \file scheduler.hpp
/// Running task graphs: the `sync` and `threads` schedulers, observers of task events (progress
/// bar, JSON-lines trace, later the dashboard), and compute_graph(), the entry every collection
/// (Array, Delayed) goes through.
///
///     std::vector<ts::Value> out = ts::compute_graph(graph, {ts::Key("total")});

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/graph.hpp"

namespace tessera {

/// One task event, as seen by observers.
struct TaskEvent {
    enum class Kind { Queued, Started, Finished, Failed, Released };
    Kind kind;
    const Key* key;
    std::string_view group;
    /// Executing thread (Started/Finished/Failed), -1 otherwise.
    int thread = -1;
    /// Output bytes (Finished/Released), 0 otherwise.
    std::int64_t bytes = 0;
    /// Nanoseconds since the run started (steady clock).
    std::int64_t time_ns = 0;
    /// Error message (Failed only).
    std::string_view error;
};

std::string_view to_string(TaskEvent::Kind kind);

/// What a run is about, given to observers when it starts.
struct RunInfo {
    std::int64_t run_id = 0;
    std::int64_t n_tasks = 0;
    std::string scheduler;  // "sync" | "threads" | ...
    int n_threads = 1;
    /// Group name → number of tasks in the run.
    std::vector<std::pair<std::string, std::int64_t>> groups;
    /// Wall clock time the run started (for traces).
    std::chrono::system_clock::time_point started_at;
    /// The graph being run; valid until on_run_end returns (null when a scheduler cannot tell).
    const Graph* graph = nullptr;
};

struct RunSummary {
    std::int64_t run_id = 0;
    std::int64_t n_finished = 0;
    bool failed = false;
    double seconds = 0;
};

/// Receives task events. Methods may be called concurrently from several threads; they must
/// be cheap (they are on the scheduler's hot path) and must not throw.
class Observer {
public:
    virtual ~Observer() = default;
    virtual void on_run_start(const RunInfo&) {}
    virtual void on_task(const TaskEvent&) {}
    virtual void on_run_end(const RunSummary&) {}
};

/// Adds an observer to every later run in this process (the dashboard registers here);
/// ValueError when `observer` is null.
void add_global_observer(std::shared_ptr<Observer> observer);
void remove_global_observer(const std::shared_ptr<Observer>& observer);

/// Terminal progress bar: "\r[####    ] | 45% Completed | 51430/114289 tasks | 1.2s", redrawn
/// by a background thread every 100 ms while a run lasts, then a final line ending in '\n'.
/// Writes to `out` (std::cerr by default). One run at a time per bar.
std::shared_ptr<Observer> make_progress_bar(std::ostream* out = nullptr);
/// JSON-lines trace: one object per event ({"event","key","group","thread","bytes","t_ns"}, plus
/// "error" when failed), plus "run_start" (run_id, n_tasks, scheduler, threads, started_at in
/// Unix seconds, groups) and "run_end" (run_id, n_finished, failed, seconds) records. Buffered,
/// flushed at each run end. Truncates `path`; IOError naming the path if it cannot be opened.
std::shared_ptr<Observer> make_trace_writer(const std::string& path);

struct ComputeOptions {
    /// "sync", "threads" or an address; default config().scheduler.
    std::optional<std::string> scheduler{};
    /// Threads for `threads`; default config().num_threads (0 = hardware concurrency).
    std::optional<int> num_threads{};
    /// Show the progress bar (default: config().progress, i.e. on a terminal outside CI).
    std::optional<bool> progress{};
    /// Extra observers for this run only.
    std::vector<std::shared_ptr<Observer>> observers{};
};

/// Runs `graph` (culled to `outputs`) and returns the outputs' values in order.
/// An exception in a task cancels what has not started and is re-thrown here with its original
/// type and the task key before its message ("task ('f-1a2b', 3): boom").
/// Throws GraphError on a cycle or missing dependency before anything runs; ConfigError for an
/// unknown scheduler name or a negative thread count; WorkerError when a "tcp://" scheduler
/// cannot be reached. A scheduler installed with use_scheduler() takes precedence over the options.
std::vector<Value> compute_graph(const Graph& graph, std::span<const Key> outputs,
                                 const ComputeOptions& options = {});
/// The same for a braced list of keys: `compute_graph(graph, {ts::Key("total")})`.
inline std::vector<Value> compute_graph(const Graph& graph, std::initializer_list<Key> outputs,
                                        const ComputeOptions& options = {}) {
    return compute_graph(graph, std::span<const Key>(outputs.begin(), outputs.size()), options);
}

/// A pluggable scheduler (the distributed client implements this too).
class Scheduler {
public:
    virtual ~Scheduler() = default;
    virtual std::string name() const = 0;
    /// Runs a culled, validated (acyclic) graph; `priority` from memory_order; `outputs` are
    /// positions in graph.tasks(). Calls the observers' on_run_start/on_task/on_run_end.
    virtual std::vector<Value> run(const Graph& graph, const GraphIndex& index,
                                   std::span<const std::int64_t> priority,
                                   std::span<const std::int64_t> outputs,
                                   std::span<const std::shared_ptr<Observer>> observers) = 0;
};

/// Installs a scheduler used for every compute while the returned handle lives (the distributed
/// Client does this); nullptr restores the configured one.
std::shared_ptr<void> use_scheduler(std::shared_ptr<Scheduler> scheduler);

/// Runs every task on the calling thread, in priority order; the first exception stops the run.
std::shared_ptr<Scheduler> make_sync_scheduler();
/// Runs tasks on `num_threads` threads (a TBB arena; the caller is one of them) in priority
/// order; the first exception cancels every task not yet started. ValueError when
/// num_threads < 1.
std::shared_ptr<Scheduler> make_thread_scheduler(int num_threads);

}  // namespace tessera
