#pragma once
// Internal: the dashboard of a distributed scheduler. The scheduler's thread collects what
// happened during one turn of its loop into a ClusterBatch (plain values, no lock) and hands it
// over with publish(), which only appends to a queue under a short lock; the dashboard's own
// threads (its ticker and the HTTP handlers) apply the queued batches to the same Model the local
// dashboard uses, so the web page, the JSON API, the event stream and the exports are shared.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dashboard/model.hpp"
#include "tessera/dashboard.hpp"

namespace tessera::dashboard {

/// A run submitted by a client: per task its group (an interned group name, valid for the
/// process lifetime) and its dependencies (positions, CSR); key texts for small graphs.
struct ClusterRunBegin {
    std::int64_t run = 0;
    std::string label;  // shown as the run's scheduler
    int n_threads = 0;  // threads of the cluster when submitted
    std::vector<std::string_view> groups;
    std::vector<std::int64_t> dep_offsets;  // size n + 1 (empty: dependencies unknown)
    std::vector<std::int64_t> deps;
    std::vector<std::string> keys;  // empty unless n <= kMaxGraphNodes
    std::chrono::system_clock::time_point started_at;
};

/// Tasks appended to a run (a client's futures run grows as it submits): their groups
/// (interned) and the positions of their dependencies (CSR, size of groups + 1).
struct ClusterTasksAdded {
    std::int64_t run = 0;
    std::vector<std::string_view> groups;
    std::vector<std::int64_t> dep_offsets;
    std::vector<std::int64_t> deps;
};

/// A task's new state (Ready counts as waiting); `bytes` is what it holds when in memory.
struct ClusterTaskChange {
    std::int64_t run = 0;
    std::int64_t pos = 0;
    TaskState state = TaskState::Waiting;
    std::int64_t bytes = 0;
};

/// One execution reported by a worker: a bar of the task stream.
struct ClusterTaskRun {
    std::int64_t run = 0;
    std::int64_t pos = 0;
    std::int64_t worker = 0;  // the scheduler's worker id
    std::int32_t thread = 0;
    std::int64_t start_wall_ns = 0;  // since the Unix epoch; 0 = unknown (then: when received)
    std::int64_t stop_wall_ns = 0;
    std::int64_t bytes = 0;
    bool failed = false;
    std::string_view name, group;  // interned
    std::int64_t index[4] = {0, 0, 0, 0};
    std::int8_t ndim = 0;
    std::string key_text;  // keys of more than 4 dimensions
};

struct ClusterTaskError {
    std::int64_t run = 0;
    std::string key, group, message;
};

struct ClusterRunEnd {
    std::int64_t run = 0;
    bool failed = false;
    std::chrono::system_clock::time_point ended_at;
};

struct ClusterWorkerUp {
    std::int64_t id = 0;
    std::string name, address;
    std::int64_t pid = 0;
    int nthreads = 1;
    std::int64_t memory_limit = 0;
};

struct ClusterWorkerStatus {
    std::int64_t id = 0;
    std::int64_t n_processing = 0, n_in_memory = 0;
    bool has_metrics = false;  // the figures below were reported by the worker
    std::int64_t memory_bytes = 0, spilled_bytes = 0, rss_bytes = 0;
    double cpu_percent = 0;
    std::chrono::steady_clock::time_point last_seen;
};

/// What happened during one turn of the scheduler's loop. Applied in this order: workers that
/// came, worker figures, runs that began, tasks added, task changes, executions, errors, runs
/// that ended, workers that left.
struct ClusterBatch {
    std::vector<ClusterWorkerUp> workers_up;
    std::vector<ClusterWorkerStatus> worker_status;
    std::vector<ClusterRunBegin> runs_begun;
    std::vector<ClusterTasksAdded> tasks_added;
    std::vector<ClusterTaskChange> changes;
    std::vector<ClusterTaskRun> executions;
    std::vector<ClusterTaskError> errors;
    std::vector<ClusterRunEnd> runs_ended;
    std::vector<std::int64_t> workers_gone;

    bool empty() const;
    /// Appends `other` (kept in order).
    void append(ClusterBatch&& other);
};

/// The dashboard server of a scheduler.
class ClusterDashboard {
public:
    /// Starts serving; throws as Dashboard's constructor does (ConfigError, IOError).
    explicit ClusterDashboard(DashboardOptions options);
    /// Stops the server (open event streams end) and the ticker.
    ~ClusterDashboard();
    ClusterDashboard(const ClusterDashboard&) = delete;
    ClusterDashboard& operator=(const ClusterDashboard&) = delete;

    /// Queues a batch; never blocks on the model or on HTTP (one short lock). Any thread.
    void publish(ClusterBatch&& batch);
    /// Applies the queued batches to the model. Dashboard threads; never throws.
    void drain();

    std::string url() const;
    int port() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// ConfigError for a port outside [0, 65535], an empty host or a task_stream_capacity < 1.
void check_options(const DashboardOptions& options);
/// "http://HOST:PORT/" for a server bound to `host` (a wildcard host is shown as 127.0.0.1).
std::string dashboard_url(const std::string& host, int port);

}  // namespace tessera::dashboard
