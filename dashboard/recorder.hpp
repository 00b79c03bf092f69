#pragma once
// Internal: the Observer that feeds local runs into the dashboard model. on_task only appends a
// 40-byte record to the calling thread's own log (no lock, no allocation); drain() moves the
// records into the model (a few times a second from the dashboard's ticker, and once at the end
// of every run, while the run's keys are still alive).

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dashboard/event_log.hpp"
#include "dashboard/model.hpp"
#include "tessera/scheduler.hpp"

namespace tessera::dashboard {

class Recorder final : public Observer {
public:
    explicit Recorder(std::shared_ptr<Model> model);
    ~Recorder() override;
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;

    void on_run_start(const RunInfo& info) override;
    void on_task(const TaskEvent& event) override;
    void on_run_end(const RunSummary& summary) override;

    /// Moves every published record into the model. Any thread; never throws.
    void drain();
    /// The run as given to on_run_start, plus the graph when the scheduler provides it (then the
    /// graph page shows tasks and dependencies). Public for tests of the graph view.
    void start_run(const RunInfo& info, const Graph* graph);
    /// Records dropped because no known run matched them (should stay 0).
    std::int64_t n_unmatched() const { return n_unmatched_; }

    /// The local worker's id in the model.
    static constexpr const char* kLocalWorker = "local";

private:
    struct ActiveRun {
        RunRecord* record = nullptr;
        std::int64_t offset_ns = 0;  // model time of the run's time 0
        std::uintptr_t key_begin = 0, key_end = 0;
        std::size_t stride = 0;
        std::unordered_map<const char*, std::int32_t> group_by_ptr;

        const char* last_group_ptr = nullptr;
        std::int32_t last_group = -1;

        std::int32_t group_of(const EventRecord& r);
        std::int32_t lookup_group(const EventRecord& r);
        std::int64_t position_of(const Key* key) const;
        bool owns(const Key* key) const;
    };

    ThreadLog& local_log();
    ThreadLog& register_thread();
    void drain_locked();
    void apply(const EventRecord& r, ThreadLog& log);
    ActiveRun* resolve_run(const EventRecord& r);
    void ensure_local_worker(int n_threads);

    const std::uint64_t id_;
    std::shared_ptr<Model> model_;
    ChunkPool pool_;

    std::mutex logs_mutex_;  // guards logs_ and by_thread_
    std::vector<std::unique_ptr<ThreadLog>> logs_;
    std::unordered_map<std::thread::id, ThreadLog*> by_thread_;

    std::mutex drain_mutex_;  // one reader at a time; guards everything below
    std::vector<std::unique_ptr<ActiveRun>> active_;
    std::vector<ThreadLog*> drain_list_;
    std::int32_t local_worker_ = -1;
    std::int64_t n_unmatched_ = 0;

    std::mutex errors_mutex_;  // failures seen by on_task, waiting for the drain
    std::unordered_map<const Key*, std::string> pending_errors_;
};

}  // namespace tessera::dashboard
