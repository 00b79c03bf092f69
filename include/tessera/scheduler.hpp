#pragma once
/// \file scheduler.hpp
/// Running task graphs: the `sync` and `threads` schedulers, observers of task events (progress
/// bar, JSON-lines trace, later the dashboard), and compute_graph(), the entry every collection
/// (Array, Delayed) goes through.
///
///     std::vector<ts::Value> out = ts::compute_graph(graph, {ts::Key("total")});

#include <chrono>
#include <cstdint>
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

/// Adds an observer to every later run in this process (the dashboard registers here).
void add_global_observer(std::shared_ptr<Observer> observer);
void remove_global_observer(const std::shared_ptr<Observer>& observer);

/// Terminal progress bar: "[####    ] | 45% Completed | 114289 tasks | 1.2s".
/// Writes to `out` (std::cerr by default) at most ~10 times a second and once at the end.
std::shared_ptr<Observer> make_progress_bar(std::ostream* out = nullptr);
/// JSON-lines trace: one object per event ({"event","key","group","thread","bytes","t_ns"}),
/// plus "run_start"/"run_end" records. IOError naming the path if it cannot be opened.
std::shared_ptr<Observer> make_trace_writer(const std::string& path);

struct ComputeOptions {
    /// "sync", "threads" or an address; default config().scheduler.
    std::optional<std::string> scheduler;
    /// Threads for `threads`; default config().num_threads.
    std::optional<int> num_threads;
    /// Show the progress bar (default: config().progress, i.e. on a terminal outside CI).
    std::optional<bool> progress;
    /// Extra observers for this run only.
    std::vector<std::shared_ptr<Observer>> observers;
};

/// Runs `graph` (culled to `outputs`) and returns the outputs' values in order.
/// An exception in a task cancels what has not started and is re-thrown here with its original
/// type and the task key before its message ("task ('f-1a2b', 3): boom").
/// Throws GraphError on a cycle or missing dependency before anything runs.
std::vector<Value> compute_graph(const Graph& graph, std::span<const Key> outputs,
                                 const ComputeOptions& options = {});

/// A pluggable scheduler (the distributed client implements this too).
class Scheduler {
public:
    virtual ~Scheduler() = default;
    virtual std::string name() const = 0;
    /// Runs a culled, validated graph; `priority` from memory_order.
    virtual std::vector<Value> run(const Graph& graph, const GraphIndex& index,
                                   std::span<const std::int64_t> priority,
                                   std::span<const std::int64_t> outputs,
                                   std::span<const std::shared_ptr<Observer>> observers) = 0;
};

/// Installs a scheduler used for every compute while the returned handle lives (the distributed
/// Client does this); nullptr restores the configured one.
std::shared_ptr<void> use_scheduler(std::shared_ptr<Scheduler> scheduler);

/// The built-in schedulers.
std::shared_ptr<Scheduler> make_sync_scheduler();
std::shared_ptr<Scheduler> make_thread_scheduler(int num_threads);

}  // namespace tessera
