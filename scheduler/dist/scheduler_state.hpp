#pragma once
// The scheduler's state: workers, clients, runs and their tasks, and the task transitions.
// Single-threaded (the scheduler's loop); sockets are behind the Outbox interface.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dashboard/cluster.hpp"
#include "scheduler/dist/messages.hpp"

namespace tessera::dist {

using Clock = std::chrono::steady_clock;

struct WorkerState {
    std::uint32_t id = 0;
    std::string identity, name, address;
    int nthreads = 1;
    std::int64_t pid = 0, memory_limit = 0;
    std::unordered_set<std::string> ops;
    Clock::time_point last_seen;
    std::unordered_set<std::uint64_t> processing;  // assigned, not reported done
    std::unordered_set<std::uint64_t> has;         // results held
    std::vector<ComputeItem> compute_out;          // batched until the loop flushes
    std::vector<std::int64_t> release_out;
    WorkerMetrics metrics;  // from its latest heartbeat
    bool has_metrics = false;
};

enum class TState : std::uint8_t { Waiting, Ready, Processing, Memory, Released, Erred };

struct TaskState {
    Key key;
    std::string op, params;
    std::vector<std::int64_t> deps, dependents;
    std::int64_t priority = 0;
    bool output = false;
    TState state = TState::Waiting;
    std::vector<std::uint32_t> who_has;
    std::uint32_t processing_on = 0;
    std::int64_t nbytes = 0;
    int suspicious = 0;
    std::int64_t n_missing = 0;  // dependency entries not in memory (while Waiting)
    std::optional<PackedValue> constant;
    // Futures API.
    bool held = false;       // a client Future refers to it: kept in memory until released
    bool broadcast = false;  // placed on every worker
    std::int64_t replicas_pending = 0;
    std::string error_kind, error_message;
    Key error_origin;
};

struct RunState {
    std::uint32_t id = 0;
    std::string client;
    std::uint64_t client_run = 0;
    std::vector<TaskState> tasks;
    std::vector<std::int64_t> outputs;
    std::unordered_map<std::int64_t, PackedValue> output_values;
    std::int64_t n_outputs_left = 0;
    bool futures = false;  // a client's futures: tasks are added over time, nothing is "output"
    bool succeeded = false;  // all outputs delivered (for the dashboard's run end)
};

struct ClientState {
    std::string identity;
    Clock::time_point last_seen;
    std::set<std::uint32_t> runs;
    std::uint32_t futures_run = 0;
    std::unordered_map<Key, std::int64_t, KeyHash> future_keys;  // positions in futures_run
    std::vector<FutureStatusItem> status_out;                    // batched until the loop flushes
};

inline std::uint64_t make_tid(std::uint32_t run, std::int64_t pos) {
    return (std::uint64_t{run} << 32) | static_cast<std::uint32_t>(pos);
}

/// Messages the state wants sent to clients (workers' batches live in WorkerState).
struct ClientMessage {
    std::string identity;
    Outgoing message;
};

class SchedulerState {
public:
    explicit SchedulerState(int extra_tasks_per_worker) : extra_(extra_tasks_per_worker) {}

    // Peers.
    WorkerState& add_worker(const std::string& identity, Hello&& hello);
    void add_client(const std::string& identity);
    WorkerState* worker(const std::string& identity);
    ClientState* client(const std::string& identity);
    /// Forgets a worker: its tasks go back to waiting, its lost results are recomputed.
    void remove_worker(const std::string& identity);
    void remove_client(const std::string& identity);
    std::map<std::string, WorkerState>& workers() { return workers_; }
    std::map<std::string, ClientState>& clients() { return clients_; }

    // Client requests.
    void submit(const std::string& client, Submit&& submit);
    void cancel(const std::string& client, std::uint64_t client_run);
    // Futures API (one futures run per client).
    void future_submit(const std::string& client, std::vector<FutureSpec>&& specs);
    void future_release(const std::string& client, const std::vector<Key>& keys);
    void future_cancel(const std::string& client, const std::vector<Key>& keys);
    std::vector<WhoHasItem> who_has(const std::string& client, const std::vector<Key>& keys);
    // Worker reports.
    void task_done(WorkerState& worker, DoneItem&& item);

    /// Places ready tasks on workers with room (into their compute_out).
    void schedule();
    std::vector<ClientMessage>& client_out() { return client_out_; }
    /// Addresses of workers removed since the last call (to tell the others).
    std::vector<std::string> take_lost_addresses() { return std::exchange(lost_addresses_, {}); }

    /// From now on, record what the dashboard shows (runs, task states, executions, errors,
    /// workers); the server takes the batch once per loop turn. A client's futures are shown as
    /// one run that grows.
    void collect_dashboard_events() { dash_on_ = true; }
    bool collecting_dashboard_events() const { return dash_on_; }
    dashboard::ClusterBatch take_dashboard_events();

private:
    using ReadyKey = std::tuple<std::uint32_t, std::int64_t, std::int64_t>;  // run, priority, pos
    RunState* find_run(std::uint64_t tid, std::int64_t& pos);
    void make_ready(RunState& run, std::int64_t pos);
    void unready(RunState& run, std::int64_t pos);
    void recount(RunState& run, std::int64_t pos);
    void maybe_release(RunState& run, std::int64_t pos);
    void release_data(RunState& run, std::int64_t pos);
    void lose(RunState& run, std::int64_t pos);
    void need(RunState& run, std::int64_t pos);
    void assign(RunState& run, std::int64_t pos, WorkerState& worker);
    WorkerState* choose_worker(const RunState& run, const TaskState& task,
                               const std::vector<WorkerState*>& candidates);
    void finish_run(RunState& run);
    void memory_reached(RunState& run, std::int64_t pos);
    void fail_task(RunState& run, std::int64_t pos, const std::string& kind, const std::string& message,
                   const Key& origin, FutureStatusItem::Status status);
    void forget(RunState& run, std::int64_t pos);
    void notify(RunState& run, const TaskState& task, FutureStatusItem::Status status);
    ComputeItem make_item(RunState& run, std::int64_t pos);
    void fail_run(RunState& run, const std::string& kind, const std::string& message,
                  const Key* key);
    void drop_run(std::uint32_t id);
    WorkerState* worker_by_id(std::uint32_t id);
    // Dashboard events (no-ops unless collecting).
    void note(const RunState& run, std::int64_t pos);
    void note_run_begin(const RunState& run);
    void note_execution(const RunState& run, std::int64_t pos, const WorkerState& worker, const DoneItem& item);
    void note_error(const RunState& run, const Key* key, const std::string& kind, const std::string& message);

    int extra_;
    std::map<std::string, WorkerState> workers_;
    std::unordered_map<std::uint32_t, std::string> worker_ids_;
    std::uint32_t next_worker_id_ = 1;
    std::map<std::string, ClientState> clients_;
    std::unordered_map<std::uint32_t, RunState> runs_;
    std::uint32_t next_run_id_ = 1;
    std::set<ReadyKey> ready_;
    std::vector<ClientMessage> client_out_;
    std::vector<std::string> lost_addresses_;
    bool dash_on_ = false;
    dashboard::ClusterBatch dash_;
    std::unordered_map<std::uint32_t, std::size_t> dash_announced_;  // run -> tasks announced
};

}  // namespace tessera::dist
