#pragma once
/// \file distributed.hpp
/// Distributed execution: a central scheduler and worker processes talking over ZeroMQ, like
/// dask.distributed. A Client is a Scheduler: while it lives every compute() of the process runs
/// on its cluster.
///
///     ts::LocalCluster cluster({.n_workers = 2, .threads_per_worker = 1});
///     ts::Client client(cluster);
///     double m = ts::random::normal(0, 1, {1 << 20}, {.chunks = {1 << 16}}).mean()
///                    .compute().item<double>();
///
/// Or against running programs: `tessera-scheduler --port 8786` and
/// `tessera-worker tcp://127.0.0.1:8786`, then `ts::Client client("tcp://127.0.0.1:8786");`, or
/// TESSERA_SCHEDULER=tcp://127.0.0.1:8786 in the environment of an unmodified program.
///
/// Tasks must use registered operations (TESSERA_REGISTER_KERNEL) known to the workers;
/// constants (from_array, persist) travel with the graph. Values cross processes as arrays, lists
/// and None; other C++ objects cannot.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tessera/scheduler.hpp"

namespace tessera {

struct LocalClusterOptions {
    int n_workers = 2;
    int threads_per_worker = 1;
    /// Per-worker memory limit passed to the workers ("4GiB"; empty = none; reported only).
    std::string memory_limit{};
    /// Worker program; default: $TESSERA_WORKER_PROGRAM, else tessera-worker next to the library's
    /// build directory, else in the install prefix's bin/, else on PATH.
    std::string worker_program{};
    /// Extra arguments put after the scheduler address.
    std::vector<std::string> worker_args{};
    /// Extra environment variables of the worker processes.
    std::vector<std::pair<std::string, std::string>> worker_env{};
    /// Start a new worker when one dies (like Dask's nanny).
    bool restart_workers = true;
    /// Seconds to wait for the workers to connect.
    double startup_timeout = 30;
};

/// A scheduler (in this process, on its own thread, on a free loopback port) and worker
/// processes. The destructor stops the workers (SIGTERM, then SIGKILL) and the scheduler.
class LocalCluster {
public:
    /// Throws ConfigError for n_workers < 1 or threads_per_worker < 1, IOError when the worker
    /// program cannot be started, WorkerError when the workers do not connect in time.
    explicit LocalCluster(LocalClusterOptions options = {});
    ~LocalCluster();
    LocalCluster(const LocalCluster&) = delete;
    LocalCluster& operator=(const LocalCluster&) = delete;

    /// "tcp://127.0.0.1:PORT".
    std::string address() const;
    /// Process ids of the current worker processes (in slot order).
    std::vector<int> worker_pids() const;
    /// Workers connected to the scheduler now.
    int n_connected_workers() const;
    /// Waits until `n` workers are connected; false on timeout.
    bool wait_for_workers(int n, double timeout_seconds) const;
    /// Sends `signal` to the worker in `slot` (tests: SIGKILL); ValueError for a bad slot.
    void signal_worker(int slot, int signal);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct ClientOptions {
    /// Seconds to wait for the scheduler's answer to the handshake.
    double connect_timeout = 10;
    /// Install this client with use_scheduler() for its lifetime.
    bool set_as_default = true;
};

/// A connection to a scheduler; implements Scheduler (name "distributed").
class Client : public Scheduler {
public:
    /// Connects and shakes hands. ProtocolError when the scheduler refuses (e.g. "version
    /// mismatch: scheduler runs tessera 0.1.0 (protocol 1), client runs tessera 0.2.0 (protocol
    /// 1)"), WorkerError when it does not answer within the timeout, ConfigError for an address
    /// that is not "tcp://HOST:PORT".
    explicit Client(const std::string& address, ClientOptions options = {});
    explicit Client(const LocalCluster& cluster, ClientOptions options = {});
    ~Client() override;
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    std::string name() const override { return "distributed"; }
    /// Ships the graph and waits for the outputs. Throws GraphError before sending for a task
    /// carrying a C++ payload (delayed callables) and for an operation no worker knows; Error for
    /// constants holding C++ objects ("cannot send a value of C++ type X to another process");
    /// a failed task's error with its original type and "task KEY: " before its message;
    /// KilledWorker when a task killed 3 workers; WorkerError when the scheduler is lost.
    std::vector<Value> run(const Graph& graph, const GraphIndex& index,
                           std::span<const std::int64_t> priority,
                           std::span<const std::int64_t> outputs,
                           std::span<const std::shared_ptr<Observer>> observers) override;

    const std::string& address() const;
    /// Workers connected to the scheduler (asks it).
    int n_workers();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::shared_ptr<void> installed_;
};

/// Runs a worker process: `argv` as for tessera-worker
/// (`PROGRAM tcp://HOST:PORT [--nthreads N] [--memory-limit 4GiB] [--local-directory DIR]
/// [--name NAME] [--host HOST]`). For programs that register their own kernels and act as
/// workers. Returns the process exit code (0 after a clean shutdown); never throws.
int worker_main(int argc, char** argv);

}  // namespace tessera
