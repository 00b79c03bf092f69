#pragma once
// The connection behind a Client and its Futures: one DEALER to the scheduler, a background
// thread that receives every message (run results, future statuses, replies) and sends
// heartbeats and batched releases, and the client's table of live futures.
//
// Locking: `mutex` guards the socket and every field below it. A FutureState's destructor takes
// the mutex, so no code may drop the last reference to a FutureState while holding it.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "scheduler/dist/curve_keys.hpp"
#include "scheduler/dist/messages.hpp"
#include "tessera/distributed.hpp"
#include "tessera/futures.hpp"

namespace tessera::detail {

using Clock = std::chrono::steady_clock;

struct FutureState {
    Key key;
    std::shared_ptr<ClientCore> core;
    // Guarded by core->mutex.
    FutureStatus status = FutureStatus::Pending;
    std::exception_ptr error;
    std::uint64_t done_seq = 0;  // order of completion (as_completed)

    FutureState(Key k, std::shared_ptr<ClientCore> c) : key(std::move(k)), core(std::move(c)) {}
    ~FutureState();
    FutureState(const FutureState&) = delete;
    FutureState& operator=(const FutureState&) = delete;
};

/// Futures are only created by ClientCore; this reaches their private state.
struct FutureAccess {
    static const std::shared_ptr<FutureState>& state(const Future& f) { return f.state_; }
};

struct ClientCore {
    /// Connects and shakes hands (see Client's constructor for the errors).
    ClientCore(std::string address, ClientOptions options);
    ~ClientCore();
    ClientCore(const ClientCore&) = delete;
    ClientCore& operator=(const ClientCore&) = delete;

    /// Starts the receiving thread (after the handshake).
    void start();
    /// Stops the thread and says goodbye; later waits fail with WorkerError. Idempotent.
    void close();

    // Everything below: call with `mutex` held (the unique_lock is passed where a call waits).
    bool send_locked(dist::Outgoing&& message);
    /// Waits on cv until pred() or `deadline`; WorkerError when the scheduler has been silent
    /// too long or the client is closed. False on deadline.
    template <class Pred>
    bool wait_locked(std::unique_lock<std::mutex>& lock, Clock::time_point deadline, Pred pred) {
        while (!pred()) {
            check_alive();
            if (Clock::now() >= deadline) return false;
            cv.wait_until(lock, std::min(deadline, Clock::now() + std::chrono::milliseconds(200)));
        }
        return true;
    }
    void check_alive() const;
    /// Asks the scheduler for its workers; refreshes known_ops. Returns the number of workers.
    int refresh_info(std::unique_lock<std::mutex>& lock);
    /// A Future for `key`: the live one or a new pending one (registered in `futures`).
    /// `created` tells which.
    Future future_for(const Key& key, std::shared_ptr<ClientCore> self, bool& created);
    void release_key(const Key& key);  // from ~FutureState
    void mark_done(FutureState& state, FutureStatus status, std::exception_ptr error);

    // Futures API (futures.cpp).
    std::vector<Future> submit_many(std::shared_ptr<ClientCore> self, std::string_view op,
                                    const std::vector<std::vector<TaskArg>>& args,
                                    const std::vector<SubmitOptions>& each);
    std::vector<Future> scatter(std::shared_ptr<ClientCore> self, const std::vector<Value>& values,
                                const ScatterOptions& scatter_options);
    std::vector<Value> gather(const std::vector<Future>& futures, double timeout_seconds);
    void cancel(const std::vector<Future>& futures);
    std::vector<dist::WhoHasItem> who_has(const std::vector<Key>& keys);

    std::string address;
    ClientOptions options;
    std::optional<dist::CurveKeys> curve;  // set on every socket (also gather's peer sockets)
    zmq::context_t context{1};
    zmq::socket_t socket{context, zmq::socket_type::dealer};

    std::mutex mutex;
    std::condition_variable cv;
    bool stopping = false, closed = false;
    Clock::time_point last_sent = Clock::now(), last_received = Clock::now(), last_heartbeat = Clock::now();
    std::uint64_t next_run = 1, next_request = 1, next_done_seq = 1;
    std::map<std::uint64_t, std::optional<dist::Incoming>> run_replies;  // runs being waited for
    std::map<std::uint64_t, dist::Incoming> who_has_replies;
    std::optional<dist::Incoming> info_reply;
    std::uint64_t info_count = 0;
    std::unordered_map<Key, std::weak_ptr<FutureState>, KeyHash> futures;
    std::vector<Key> release_out;
    std::set<std::string> known_ops;

private:
    void loop();
    void dispatch(dist::Incoming&& in, std::vector<std::shared_ptr<FutureState>>& keep);
    std::thread thread_;
};

/// What a task's in-process payload ships as: a constant's value, packed. GraphError naming the
/// task and its operation for any other C++ payload (a callable cannot cross processes).
dist::PackedValue pack_local_payload(const Task& task);

/// True when `graph` reads blocks persisted on the cluster (persist.cpp).
bool has_remote_tasks(const Graph& graph);
/// Submits a culled, indexed graph into the client's futures run; Futures of `outputs`.
std::vector<Future> submit_graph(ClientCore& core, const std::shared_ptr<ClientCore>& self, const Graph& graph,
                                 const GraphIndex& index, std::span<const std::int64_t> priority,
                                 std::span<const std::int64_t> outputs);

}  // namespace tessera::detail
