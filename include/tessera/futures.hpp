#pragma once
/// \file futures.hpp
/// The futures API of a distributed Client (like dask.distributed's): submit, map, gather, wait,
/// as_completed, scatter, cancel. A task calls a registered kernel (TESSERA_REGISTER_KERNEL or
/// register_op) on its arguments; a Future argument becomes a dependency whose value stays on
/// the workers; a Value argument travels with the task. Results stay on the workers until
/// gathered; when the last Future handle of a key goes away the scheduler forgets the key.
///
///     ts::LocalCluster cluster({.n_workers = 2});
///     ts::Client client(cluster);
///     ts::Future a = client.submit("myproj.inc", {ts::Value::from(1)});
///     ts::Future b = client.submit("myproj.add", {a, ts::Value::from(10)});
///     std::int64_t v = b.result_as<std::int64_t>();                       // fetched from its worker
///     std::vector<ts::Future> fs = client.map("myproj.inc", {ts::Value::from(1), ts::Value::from(2)});
///     for (ts::Future f : ts::as_completed(fs)) use(f.result());
///
/// Kernels are functions of Values: `ctx.inputs` holds the arguments in order.
///
///     static ts::Value add(const ts::TaskContext& ctx) {
///         return ts::Value::from(ctx.inputs[0]->as<std::int64_t>() + ctx.inputs[1]->as<std::int64_t>());
///     }
///     TESSERA_REGISTER_KERNEL("myproj.add", add);
///
/// The workers must know the kernel: a program that registers its own kernels serves as its own
/// worker program, switching on an environment variable the cluster sets for its workers:
///
///     int main(int argc, char** argv) {
///         if (std::getenv("MYPROG_WORKER")) return ts::worker_main(argc, argv);
///         ts::LocalCluster cluster({.worker_program = "/proc/self/exe",
///                                   .worker_env = {{"MYPROG_WORKER", "1"}}});
///         ts::Client client(cluster);
///         ...
///     }
///
/// Client::submit throws GraphError when no connected worker has the kernel.

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tessera/graph.hpp"
#include "tessera/value.hpp"

namespace tessera {

namespace detail {
struct FutureState;
struct ClientCore;
struct FutureAccess;
}  // namespace detail

enum class FutureStatus { Pending, Finished, Error, Cancelled };
/// "pending", "finished", "error", "cancelled".
std::string_view to_string(FutureStatus status);

/// A handle to the result of a task submitted to a Client; copies share the same key.
class Future {
public:
    /// An empty handle (valid() is false); its methods throw ValueError.
    Future() = default;

    bool valid() const { return state_ != nullptr; }
    const Key& key() const;
    /// The status known to the client now (does not wait).
    FutureStatus status() const;
    /// True when finished, erred or cancelled.
    bool done() const;
    /// Waits for the task and fetches its value from the worker holding it. Throws the task's
    /// error with its original type and "task KEY: " before its message, CancelledError
    /// "future KEY was cancelled", WorkerError when not done within `timeout_seconds`
    /// (negative: no limit) or when the client is closed.
    Value result(double timeout_seconds = -1) const;
    template <class T>
    T result_as(double timeout_seconds = -1) const {
        return result(timeout_seconds).template as<T>();
    }
    /// Waits; the task's error (as result() would throw it), or null when it finished.
    /// WorkerError on timeout as result().
    std::exception_ptr exception(double timeout_seconds = -1) const;
    /// Cancels the task (and the tasks depending on it) unless it has finished.
    void cancel() const;

    friend bool operator==(const Future& a, const Future& b) { return a.state_ == b.state_; }

private:
    friend struct detail::ClientCore;
    friend struct detail::FutureAccess;
    explicit Future(std::shared_ptr<detail::FutureState> state) : state_(std::move(state)) {}
    std::shared_ptr<detail::FutureState> state_;
};

/// An argument of Client::submit: a Future (a dependency; its value stays on the workers) or a
/// Value (sent with the task); arithmetic values and NDArrays convert to Values.
class TaskArg {
public:
    TaskArg(Future future) : is_future_(true), future_(std::move(future)) {}
    TaskArg(Value value) : value_(std::move(value)) {}
    TaskArg(NDArray array) : value_(std::move(array)) {}
    template <class T>
        requires std::is_arithmetic_v<T>
    TaskArg(T v) : value_(Value::from(v)) {}

    bool is_future() const { return is_future_; }
    const Future& future() const { return future_; }
    const Value& value() const { return value_; }

private:
    bool is_future_ = false;
    Future future_;
    Value value_;
};

struct SubmitOptions {
    /// The task's key; default "<kernel>-<token>", the token hashing the kernel and arguments
    /// (pure) or unique (pure = false). Submitting a key that has a live Future returns it.
    std::string key{};
    /// Smaller runs first among ready tasks.
    std::int64_t priority = 0;
    bool pure = true;
};

struct ScatterOptions {
    /// Place each value on every connected worker (for inputs every task needs).
    bool broadcast = false;
};

enum class ReturnWhen { AllCompleted, FirstCompleted };

struct WaitOptions {
    ReturnWhen return_when = ReturnWhen::AllCompleted;
    /// Seconds; negative waits without limit.
    double timeout = -1;
};

struct WaitResult {
    std::vector<Future> done, not_done;
};

/// Waits until all (or the first) of `futures` are done or the timeout passes (no exception on
/// timeout: see not_done), like Python's concurrent.futures.wait. Futures of different clients:
/// ValueError. Erred futures count as done.
WaitResult wait(const std::vector<Future>& futures, WaitOptions options = {});

/// Yields futures in the order they finish:
///     for (ts::Future f : ts::as_completed(futures)) ...
class AsCompleted {
public:
    explicit AsCompleted(std::vector<Future> futures);

    class iterator {
    public:
        using value_type = Future;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        const Future& operator*() const { return current_; }
        iterator& operator++();
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& a, const iterator& b) { return a.owner_ == b.owner_; }

    private:
        friend class AsCompleted;
        explicit iterator(AsCompleted* owner);
        AsCompleted* owner_ = nullptr;
        Future current_;
    };
    iterator begin() { return iterator(this); }
    iterator end() { return iterator(); }
    /// The next future to finish, waiting for it; false when none is left.
    bool next(Future& out);

private:
    std::vector<Future> pending_;
};

inline AsCompleted as_completed(std::vector<Future> futures) { return AsCompleted(std::move(futures)); }

}  // namespace tessera
