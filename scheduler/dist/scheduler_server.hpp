#pragma once
// The central scheduler: one thread, one ROUTER socket. Keeps the state of every submitted run's
// tasks, places ready tasks on workers (where most of their input bytes are, ties by load,
// at most nthreads + 2 tasks per worker, the rest queued here in priority order), releases
// results nobody needs, detects dead workers by heartbeat and recomputes what they held from
// lineage.

#include <atomic>
#include <memory>
#include <string>
#include <thread>

namespace tessera::dist {

struct SchedulerOptions {
    std::string host = "127.0.0.1";
    int port = 8786;  // 0 = a free port
    /// A worker silent this long (seconds) is declared dead (heartbeats come every 0.5 s).
    double worker_timeout = 3.0;
    /// A client with running work silent this long is dropped and its runs cancelled.
    double client_timeout = 10.0;
    /// Tasks a worker may hold beyond its thread count.
    int extra_tasks_per_worker = 2;
    /// Send Shutdown to the workers when stopping.
    bool shutdown_workers = true;
    /// A tessera-keygen directory: serve CURVE with its key pair, admitting only peers that
    /// hold it (security.hpp). Empty: plain ZeroMQ. ConfigError for unusable keys.
    std::string curve_key_dir{};
    /// Serve the cluster's dashboard on this port (0 = a free one; -1 = no dashboard).
    int dashboard_port = -1;
    /// The dashboard's interface; empty = `host` ("*" is served as "0.0.0.0").
    std::string dashboard_host{};
};

class SchedulerServer {
public:
    /// Binds; IOError "cannot bind the scheduler to tcp://HOST:PORT: REASON" on failure.
    explicit SchedulerServer(SchedulerOptions options);
    ~SchedulerServer();
    SchedulerServer(const SchedulerServer&) = delete;
    SchedulerServer& operator=(const SchedulerServer&) = delete;

    /// "tcp://HOST:PORT" with the port actually bound.
    const std::string& address() const;
    /// Serves until stop() (from any thread or a signal handler).
    void run();
    /// run() on a new thread; the destructor stops and joins it.
    void start_thread();
    void stop() { stop_.store(true); }
    int n_workers() const { return n_workers_.load(); }
    /// "http://HOST:PORT/" of the dashboard, or "" when it is disabled.
    std::string dashboard_url() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::atomic<bool> stop_{false};
    std::atomic<int> n_workers_{0};
    std::thread thread_;
};

}  // namespace tessera::dist
