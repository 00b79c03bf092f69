#pragma once
// Internal: what the dashboard knows, independent of where it came from. Local runs feed it
// through the Recorder (an Observer); a distributed scheduler feeds the same model (runs, task
// transitions, task-stream records, workers) through ClusterDashboard (cluster.hpp). Every member function
// except lock() requires the lock; the HTTP side copies what it needs under the lock and
// formats outside it.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tessera/scheduler.hpp"

namespace tessera::dashboard {

/// Task states as the page shows them (Dask's vocabulary).
struct StateCounts {
    std::int64_t total = 0;
    std::int64_t waiting = 0;
    std::int64_t processing = 0;
    std::int64_t memory = 0;
    std::int64_t released = 0;
    std::int64_t erred = 0;
    StateCounts& operator+=(const StateCounts& o);
};

/// One task group of one run. Counts are monotone event counts, so that events of several threads
/// drained out of order never make a state negative; states are derived from them.
struct GroupStats {
    std::string name;
    std::int64_t total = 0;
    std::int64_t n_queued = 0;
    std::int64_t n_started = 0;
    std::int64_t n_finished = 0;
    std::int64_t n_released = 0;
    std::int64_t n_failed = 0;
    std::int64_t bytes_finished = 0;
    std::int64_t bytes_released = 0;
    std::int64_t compute_ns = 0;
    /// Model version of the last change (for diffs).
    std::int64_t version = 0;
    /// A distributed scheduler knows every task's state: then `state` holds the exact counts
    /// (waiting is derived) and the event counts above are unused.
    bool exact = false;
    StateCounts state;

    /// States; after the run ended, tasks that never ran count as waiting.
    StateCounts counts(bool run_ended) const;
    std::int64_t bytes_in_memory() const { return std::max<std::int64_t>(0, bytes_finished - bytes_released); }
};

enum class TaskState : std::uint8_t { Waiting = 0, Processing = 1, Memory = 2, Released = 3, Erred = 4 };
std::string_view to_string(TaskState state);

/// The per-task view of a small run (<= kMaxGraphNodes tasks): keys, groups, edges, states.
struct GraphDetail {
    std::vector<std::string> keys;
    std::vector<std::int32_t> group;  // index into RunRecord::groups
    std::vector<std::int32_t> depth;  // longest path from a task without dependencies
    std::vector<TaskState> state;
    std::vector<std::pair<std::int32_t, std::int32_t>> edges;  // dependency -> dependent
};
inline constexpr std::int64_t kMaxGraphNodes = 5000;

/// What begin_run needs to know about a run.
struct RunMeta {
    std::int64_t id = 0;
    std::string scheduler;
    int n_threads = 1;
    std::int64_t n_tasks = 0;
    std::vector<std::pair<std::string, std::int64_t>> groups;
    std::chrono::system_clock::time_point started_at;
    /// Nanoseconds since the model's origin.
    std::int64_t start_ns = 0;
    /// Group-level dependencies (indices into `groups`), when the graph is known.
    std::vector<std::pair<std::int32_t, std::int32_t>> group_edges;
    std::optional<GraphDetail> detail;
};

struct RunRecord {
    RunMeta meta;
    std::vector<GroupStats> groups;
    std::unordered_map<std::string, std::int32_t> group_index;
    std::int64_t end_ns = -1;  // -1 while running
    bool failed = false;
    std::int64_t n_finished = 0;
    std::int64_t version = 0;

    bool ended() const { return end_ns >= 0; }
    /// Index of `name` in groups, or -1.
    std::int32_t find_group(std::string_view name) const;
    StateCounts totals() const;
};

/// One bar of the task stream. Local keys are kept as an interned name plus an index (no
/// allocation per task); keys from elsewhere as text in `key_text`.
struct StreamRecord {
    std::int64_t seq = 0;
    std::int64_t run_id = 0;
    std::string_view name;   // interned (process lifetime) or empty
    std::string_view group;  // interned or empty (then group_text)
    std::int64_t index[4] = {0, 0, 0, 0};
    std::int8_t ndim = 0;
    bool failed = false;
    std::int32_t worker = 0;  // index into Model::workers
    std::int32_t thread = 0;
    std::int64_t start_ns = 0;  // since the model's origin
    std::int64_t stop_ns = 0;
    std::int64_t bytes = 0;
    std::string key_text;    // when the key is not (name, index[ndim])
    std::string group_text;  // when `group` is empty

    std::string key() const;
    std::string_view group_name() const { return group.empty() ? std::string_view(group_text) : group; }
};

struct TaskErrorInfo {
    std::int64_t seq = 0;
    std::int64_t run_id = 0;
    std::string key;
    std::string group;
    std::string message;
    std::int64_t time_ns = 0;
};

/// One executing thread of a worker.
struct ThreadSlot {
    bool busy = false;
    std::string_view name;  // key of the running task (interned) when busy
    std::int64_t index[4] = {0, 0, 0, 0};
    std::int8_t ndim = 0;
    std::int64_t since_ns = 0;
    std::int64_t n_tasks = 0;
    std::int64_t busy_ns = 0;
};

/// A worker. Locally there is one: this process, with one slot per scheduler thread.
struct WorkerInfo {
    std::string id;
    std::string name;
    std::string address;
    std::string host;
    std::int64_t pid = 0;
    std::vector<ThreadSlot> threads;
    std::int64_t memory_bytes = 0;      // bytes of array buffers alive
    std::int64_t task_bytes = 0;        // bytes of task results held
    std::int64_t rss_bytes = 0;
    std::int64_t memory_limit = 0;      // 0 = unknown
    double cpu_percent = 0;
    std::int64_t n_finished = 0;
    std::int64_t last_seen_ns = 0;
    // Cluster workers: what the scheduler knows.
    std::int64_t spilled_bytes = 0;
    std::int64_t n_processing = -1;  // tasks assigned and not reported; -1 = count busy threads
    std::int64_t n_in_memory = 0;    // results held
    bool closed = false;             // gone (kept for the task stream's lanes, not listed)
};

/// Cumulative per-group totals across runs (the profile page and metrics).
struct ProfileEntry {
    std::int64_t n_finished = 0;
    std::int64_t n_failed = 0;
    std::int64_t compute_ns = 0;
    std::int64_t max_ns = 0;
    std::int64_t bytes = 0;
};

class Model {
public:
    explicit Model(std::int64_t stream_capacity);

    std::unique_lock<std::mutex> lock() const { return std::unique_lock(mutex_); }
    std::chrono::steady_clock::time_point origin() const { return origin_; }
    std::int64_t now_ns() const;

    // ----------------------------------------------------------------- ingestion (lock held)
    RunRecord& begin_run(RunMeta meta);
    void end_run(RunRecord& run, std::int64_t end_ns, bool failed, std::int64_t n_finished);
    /// A task event of `group` in `run`; `task` is its position in the run's detail or -1.
    void task_event(RunRecord& run, std::int32_t group, std::int64_t task, TaskEvent::Kind kind,
                    std::int64_t bytes);
    /// A task of an exact run (GroupStats::exact) moved from `from` to `to`; `old_bytes` is what
    /// it held in memory before, `bytes` what it holds now.
    void transition(RunRecord& run, std::int32_t group, std::int64_t task, TaskState from, TaskState to,
                    std::int64_t old_bytes, std::int64_t bytes);
    /// A finished (or failed) task: its stream bar and its time in the group's totals.
    void add_stream(RunRecord& run, std::int32_t group, StreamRecord record);
    void add_error(TaskErrorInfo error);
    /// Inserts or replaces a worker by id; returns its index.
    std::int32_t upsert_worker(WorkerInfo worker);
    WorkerInfo& worker(std::int32_t index) { return workers_[static_cast<std::size_t>(index)]; }
    void bump() { ++version_; }
    /// A distributed scheduler's model: workers are remote processes (their memory is reported,
    /// not this process's), and a run's end does not idle them.
    void set_cluster(bool cluster) { cluster_ = cluster; }
    bool cluster() const { return cluster_; }

    // ----------------------------------------------------------------- queries (lock held)
    std::int64_t version() const { return version_; }
    RunRecord* find_run(std::int64_t id);
    const RunRecord* find_run(std::int64_t id) const;
    /// The most recently started run, or nullptr.
    const RunRecord* latest_run() const { return runs_.empty() ? nullptr : runs_.back().get(); }
    const std::deque<std::unique_ptr<RunRecord>>& runs() const { return runs_; }
    std::int64_t active_runs() const;
    /// Stream records with seq >= since (at most `limit`); sets `dropped` when `since` is older
    /// than the oldest kept record.
    std::vector<StreamRecord> stream_since(std::int64_t since, std::int64_t limit,
                                           std::int64_t* dropped) const;
    std::int64_t next_stream_seq() const { return next_seq_; }
    std::int64_t first_stream_seq() const;
    const std::deque<TaskErrorInfo>& errors() const { return errors_; }
    std::int64_t next_error_seq() const { return next_error_seq_; }
    const std::vector<WorkerInfo>& workers() const { return workers_; }
    const std::map<std::string, ProfileEntry, std::less<>>& profile() const { return profile_; }
    /// Task events by kind since the model started (index = TaskEvent::Kind).
    const std::int64_t* event_totals() const { return event_totals_; }
    std::int64_t runs_finished() const { return runs_finished_; }
    std::int64_t runs_failed() const { return runs_failed_; }

    static constexpr std::size_t kMaxRuns = 16;
    static constexpr std::size_t kMaxErrors = 100;

private:
    mutable std::mutex mutex_;
    const std::chrono::steady_clock::time_point origin_;
    std::int64_t version_ = 1;
    std::deque<std::unique_ptr<RunRecord>> runs_;
    // Task stream ring.
    std::vector<StreamRecord> stream_;
    std::int64_t stream_capacity_ = 1;
    std::int64_t next_seq_ = 0;
    std::deque<TaskErrorInfo> errors_;
    std::int64_t next_error_seq_ = 0;
    std::vector<WorkerInfo> workers_;
    std::map<std::string, ProfileEntry, std::less<>> profile_;
    std::int64_t event_totals_[5] = {0, 0, 0, 0, 0};
    std::int64_t runs_finished_ = 0;
    std::int64_t runs_failed_ = 0;
    bool cluster_ = false;
};

/// Dask-style key text: ('name', 1, 2) or 'name'.
std::string key_text(std::string_view name, const std::int64_t* index, int ndim);

}  // namespace tessera::dashboard
