#pragma once
// Internal: the dashboard's JSON API, the SSE diffs, Prometheus metrics and the Chrome trace,
// each built from a copy of the model taken under its lock.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "dashboard/model.hpp"
#include "dashboard/system_stats.hpp"

namespace tessera::dashboard {

/// A request the API cannot serve: an HTTP status and a message naming what was wrong.
struct ApiError {
    int status;
    std::string message;
};

/// Largest `limit` of /api/v1/tasks.
inline constexpr std::int64_t kMaxTaskLimit = 100000;

/// /api/v1/status: the run (`run_id`, default the latest), its groups and totals, recent runs and
/// errors. ApiError 404 for an unknown run.
nlohmann::json status_json(const Model& model, std::optional<std::int64_t> run_id);
/// /api/v1/tasks: stream records with seq >= since, at most `limit`.
nlohmann::json tasks_json(const Model& model, std::int64_t since, std::int64_t limit);
/// /api/v1/workers.
nlohmann::json workers_json(const Model& model, const SystemMonitor& system);
/// /api/v1/graph: tasks and dependencies for runs of at most kMaxGraphNodes tasks, task groups
/// otherwise. ApiError 404 for an unknown run.
nlohmann::json graph_json(const Model& model, std::optional<std::int64_t> run_id);
/// /api/v1/profile: compute time per task group since the dashboard started.
nlohmann::json profile_json(const Model& model);
/// /api/v1/system.
nlohmann::json system_json(const SystemMonitor& system);
/// /api/v1/trace.json: Chrome trace event format (loads in Perfetto and chrome://tracing).
std::string trace_json(const Model& model, std::optional<std::int64_t> run_id);
/// /metrics: Prometheus text exposition format 0.0.4.
std::string metrics_text(const Model& model, const SystemMonitor& system, std::int64_t n_event_clients);

/// Builds the server-sent events: a full snapshot for a new client, then one diff per tick with
/// the groups and runs that changed, new task-stream records and new errors.
class UpdateBuilder {
public:
    /// The diff since the previous call, or nullopt when nothing changed. `seq` numbers events.
    std::optional<nlohmann::json> next(const Model& model, const SystemMonitor& system, std::int64_t seq);
    /// Everything a fresh client needs.
    static nlohmann::json snapshot(const Model& model, const SystemMonitor& system, std::int64_t seq);
    /// Records per event at most (a client catches up through /api/v1/tasks).
    static constexpr std::int64_t kMaxTasksPerEvent = 2000;

private:
    std::int64_t version_ = 0;
    std::int64_t task_seq_ = 0;
    std::int64_t error_seq_ = 0;
    std::int64_t memory_ = 0;
    double sent_at_ = 0;
    bool started_ = false;
};

// Pieces shared by the builders (api.cpp, export.cpp).
nlohmann::json run_json(const RunRecord& run, double now);
nlohmann::json group_json(const GroupStats& group, bool run_ended);
nlohmann::json counts_json(const StateCounts& counts);
nlohmann::json stream_json(const StreamRecord& record, const Model& model);
nlohmann::json error_json(const TaskErrorInfo& error);
nlohmann::json workers_array(const Model& model, const SystemSample& latest);
double seconds(std::int64_t ns);
/// Bytes of results held: this process's array buffers locally, the sum of the workers' managed
/// memory for a cluster (lock held).
std::int64_t memory_now(const Model& model);

}  // namespace tessera::dashboard
