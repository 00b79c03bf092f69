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
/// With a cluster key (`tessera-keygen DIR`, then --curve-key-dir DIR or TESSERA_CURVE_KEYS=DIR
/// everywhere) all traffic is CURVE-encrypted and only processes holding the key connect; see
/// docs/distributed.md, "Security".
///
/// Beyond compute(): the futures API (futures.hpp: submit, map, gather, scatter, wait,
/// as_completed) and Client::persist, both keeping results on the workers until released.
/// Workers fetch inputs directly from the peer holding them; control messages are batched per
/// loop turn. With a memory limit, workers spill results to disk (LocalClusterOptions).
///
/// Tasks must use registered operations (TESSERA_REGISTER_KERNEL) known to the workers;
/// constants (from_array, persist) travel with the graph. Values cross processes as arrays, lists
/// and None; other C++ objects cannot.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tessera/futures.hpp"
#include "tessera/scheduler.hpp"

namespace tessera {

class Array;

struct LocalClusterOptions {
    int n_workers = 2;
    int threads_per_worker = 1;
    /// Per-worker limit of managed memory (the bytes of results a worker holds; "4GiB";
    /// empty = none): above 70% results are spilled to local_directory, least recently used
    /// first, and read back when needed; above 80% the worker starts no new task; above 95% it
    /// exits and (restart_workers) a new one takes its slot.
    std::string memory_limit{};
    /// Where workers spill (a per-process subdirectory, removed at exit); default: the system
    /// temp directory.
    std::string local_directory{};
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
    /// Directory made by `tessera-keygen DIR` holding the cluster's CURVE key: the scheduler and
    /// workers then encrypt all traffic and admit only holders of the key (Clients of this
    /// cluster use it too). Default: $TESSERA_CURVE_KEYS; empty and unset: no CURVE.
    std::string curve_key_dir{};
};

/// A scheduler (in this process, on its own thread, on a free loopback port) and worker
/// processes. The destructor stops the workers (SIGTERM, then SIGKILL) and the scheduler.
class LocalCluster {
public:
    /// Throws ConfigError for n_workers < 1, threads_per_worker < 1 or unusable CURVE keys
    /// (e.g. "no CURVE key in 'DIR': cannot read DIR/cluster.key_secret (create one with
    /// tessera-keygen)"), IOError when the worker
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
    /// The CURVE key directory in use ("" without CURVE).
    const std::string& curve_key_dir() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct ClientOptions {
    /// Seconds to wait for the scheduler's answer to the handshake.
    double connect_timeout = 10;
    /// Install this client with use_scheduler() for its lifetime.
    bool set_as_default = true;
    /// Directory made by `tessera-keygen DIR` holding the cluster's CURVE key, for a scheduler
    /// started with one. Default: $TESSERA_CURVE_KEYS (Client(cluster): the cluster's).
    std::string curve_key_dir{};
};

/// A connection to a scheduler; implements Scheduler (name "distributed").
class Client : public Scheduler {
public:
    /// Connects and shakes hands. ProtocolError when the scheduler refuses (e.g. "version
    /// mismatch: scheduler runs tessera 0.1.0 (protocol 1), client runs tessera 0.2.0 (protocol
    /// 1)") or fails the CURVE handshake, within the timeout ("the scheduler at tcp://H:P refused
    /// the connection: it requires a CURVE key and this client has none (...)" or "...: it did
    /// not accept the CURVE key in DIR (another cluster's key, or a scheduler without keys)");
    /// WorkerError when it does not answer within the timeout; ConfigError for an address that
    /// is not "tcp://HOST:PORT" or unusable keys.
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

    // ------------------------------------------------------------------ futures (futures.hpp)

    /// Runs the registered kernel `op` on `args` on a worker. GraphError "operation 'x' is not
    /// registered on any worker of the cluster at tcp://..." when no connected worker has it;
    /// ValueError for an empty or foreign Future argument; Error for an argument holding a
    /// C++ object.
    ///     ts::Future f = client.submit("myproj.add", {other_future, 10});
    Future submit(std::string_view op, std::vector<TaskArg> args = {}, SubmitOptions options = {});
    /// submit(op, {item}) for each item; keys as submit (an explicit options.key gets "-N"
    /// appended for item N).
    std::vector<Future> map(std::string_view op, const std::vector<Value>& items, SubmitOptions options = {});
    /// The values of `futures` in order, fetched directly from the workers holding them. Throws
    /// the first erred future's error as Future::result() does; WorkerError after
    /// `timeout_seconds` (negative: no limit).
    std::vector<Value> gather(const std::vector<Future>& futures, double timeout_seconds = -1);
    /// Places `values` on the workers (on every worker with broadcast) and returns their futures,
    /// to pass large shared inputs to many tasks without sending them each time.
    std::vector<Future> scatter(const std::vector<Value>& values, ScatterOptions options = {});
    /// Cancels every future that has not finished (their dependents too).
    void cancel(const std::vector<Future>& futures);
    /// Peer addresses of the workers holding the finished `future`'s value (asks the scheduler).
    std::vector<std::string> who_has(const Future& future);

    /// Computes `array` on the cluster and keeps its blocks on the workers: the returned Array's
    /// blocks are Futures, read in place by later computes through this client; destroying the
    /// last handle frees them cluster-wide. Computing it with another scheduler throws Error
    /// "task KEY: block KEY is held on a distributed cluster; compute it with the Client that
    /// persisted it". Errors of the computation arrive with the first compute that needs them.
    ///     ts::Array p = client.persist(x * 2.0);      // x * 2.0 computed once, kept remote
    ///     double m = p.mean().compute().item<double>();
    Array persist(const Array& array);

private:
    std::shared_ptr<detail::ClientCore> core_;
    std::shared_ptr<void> installed_;
};

/// Runs a worker process: `argv` as for tessera-worker
/// (`PROGRAM tcp://HOST:PORT [--nthreads N] [--memory-limit 4GiB] [--local-directory DIR]
/// [--name NAME] [--host HOST] [--curve-key-dir DIR] [--insecure-bind-all]`). For programs
/// that register their own kernels and act as workers. Returns the process exit code (0 after a
/// clean shutdown); never throws.
int worker_main(int argc, char** argv);

}  // namespace tessera
