// ts::Client: ships graphs to a scheduler and waits for their outputs (see distributed.hpp).

#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>
#include <utility>

#include <fmt/format.h>

#include "scheduler/dist/connect.hpp"
#include "scheduler/dist/messages.hpp"
#include "scheduler/run_state.hpp"
#include "tessera/distributed.hpp"
#include "tessera/version.hpp"

namespace tessera {

namespace {
using Clock = std::chrono::steady_clock;
constexpr auto kHeartbeatInterval = std::chrono::milliseconds(1000);
constexpr auto kSchedulerSilence = std::chrono::seconds(15);

void check_address(const std::string& address) {
    const auto colon = address.rfind(':');
    if (!address.starts_with("tcp://") || colon == std::string::npos || colon < 6 ||
        colon + 1 == address.size())
        throw ConfigError("scheduler address '{}' is not of the form tcp://HOST:PORT", address);
}
}  // namespace

struct Client::Impl {
    std::string address;
    ClientOptions options;
    zmq::context_t context{1};
    zmq::socket_t socket{context, zmq::socket_type::dealer};
    std::mutex mutex;  // one run at a time
    std::uint64_t next_run = 1;
    Clock::time_point last_sent = Clock::now();

    Impl(std::string addr, ClientOptions opts) : address(std::move(addr)), options(opts) {
        check_address(address);
        socket.set(zmq::sockopt::linger, 0);
        socket.set(zmq::sockopt::sndhwm, 0);
        try {
            socket.connect(address);
        } catch (const zmq::error_t& e) {
            throw ConfigError("cannot connect to the scheduler at '{}': {}", address, e.what());
        }
        dist::Hello hello;
        hello.version = version();
        hello.role = dist::Role::Client;
        hello.name = fmt::format("client-{}", ::getpid());
        hello.pid = ::getpid();
        dist::send(socket, {}, dist::encode(hello));
        const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(options.connect_timeout));
        for (;;) {
            std::optional<dist::Incoming> in = wait_message(deadline);
            if (!in) throw WorkerError("no answer from the scheduler at {} within {} s", address, options.connect_timeout);
            if (in->type == dist::MsgType::Welcome) return;
            if (in->type == dist::MsgType::Refuse) throw ProtocolError(in->r->get_str());
        }
    }

    ~Impl() { dist::send(socket, {}, dist::Outgoing(dist::MsgType::Goodbye)); }

    void heartbeat() {
        if (Clock::now() - last_sent > kHeartbeatInterval) {
            last_sent = Clock::now();
            dist::send(socket, {}, dist::Outgoing(dist::MsgType::Heartbeat));
        }
    }

    // The next message before `deadline`, sending heartbeats meanwhile; nullopt on timeout.
    // Malformed messages from the scheduler are skipped.
    std::optional<dist::Incoming> wait_message(Clock::time_point deadline) {
        std::vector<zmq::pollitem_t> items{{socket.handle(), 0, ZMQ_POLLIN, 0}};
        while (Clock::now() < deadline) {
            heartbeat();
            try {
                std::string identity;
                if (auto in = dist::receive(socket, false, identity)) return in;
            } catch (const ProtocolError& e) {
                dist::log("client", fmt::format("malformed message from the scheduler: {}", e.what()));
                continue;
            }
            try {
                zmq::poll(items, std::chrono::milliseconds(200));
            } catch (const zmq::error_t& e) {
                if (e.num() != EINTR) throw;
            }
        }
        return std::nullopt;
    }

    dist::Submit build(const Graph& graph, const GraphIndex& index, std::span<const std::int64_t> priority,
                       std::span<const std::int64_t> outputs) {
        dist::Submit submit;
        submit.run = next_run++;
        submit.tasks.resize(graph.tasks().size());
        const OpId constant_op = has_op("tessera.constant") ? op_id("tessera.constant") : 0;
        for (std::size_t t = 0; t < graph.tasks().size(); ++t) {
            const Task& task = graph.tasks()[t];
            dist::TaskSpec& spec = submit.tasks[t];
            spec.key = task.key;
            spec.op = std::string(op_name(task.op));
            if (task.local) {
                if (task.op != constant_op)
                    throw GraphError("task {} carries a C++ payload (operation '{}') and cannot run on a "
                                     "distributed cluster; use a registered operation",
                                     task.key.str(), spec.op);
                spec.constant = dist::pack(*static_cast<const Value*>(task.local.get()));
            }
            spec.params = task.params;
            spec.deps.assign(index.dep_ids.begin() + index.dep_offsets[t], index.dep_ids.begin() + index.dep_offsets[t + 1]);
            spec.nbytes_hint = task.nbytes_hint;
            spec.priority = priority[t];
        }
        submit.outputs.assign(outputs.begin(), outputs.end());
        return submit;
    }

    std::vector<Value> wait_result(std::uint64_t run) {
        Clock::time_point deadline = Clock::now() + kSchedulerSilence;
        for (;;) {
            std::optional<dist::Incoming> in = wait_message(deadline);
            if (!in) throw WorkerError("lost the scheduler at {}: no message for {} s", address, kSchedulerSilence.count());
            deadline = Clock::now() + kSchedulerSilence;
            dist::Reader& r = *in->r;
            if (in->type == dist::MsgType::RunResult) {
                if (r.get<std::uint64_t>() != run) continue;
                const std::uint64_t n = r.get_count(1);
                std::vector<Value> values;
                values.reserve(static_cast<std::size_t>(n));
                for (std::uint64_t k = 0; k < n; ++k) values.push_back(dist::unpack(in->get_value()));
                return values;
            }
            if (in->type == dist::MsgType::RunError) {
                if (r.get<std::uint64_t>() != run) continue;
                const bool has_key = r.get_bool();
                const Key key = r.get_key();
                const std::string kind = r.get_str();
                const std::string message = r.get_str();
                std::exception_ptr error = dist::make_error(kind, message);
                if (has_key) detail::rethrow_task_error(error, key);
                std::rethrow_exception(error);
            }
        }
    }
};

Client::Client(const std::string& address, ClientOptions options)
    : impl_(std::make_unique<Impl>(address, options)) {
    if (options.set_as_default) installed_ = use_scheduler(std::shared_ptr<Scheduler>(this, [](Scheduler*) {}));
}

Client::Client(const LocalCluster& cluster, ClientOptions options) : Client(cluster.address(), options) {}

Client::~Client() { installed_.reset(); }

const std::string& Client::address() const { return impl_->address; }

int Client::n_workers() {
    std::lock_guard lock(impl_->mutex);
    dist::send(impl_->socket, {}, dist::Outgoing(dist::MsgType::InfoRequest));
    const auto deadline = Clock::now() + kSchedulerSilence;
    for (;;) {
        std::optional<dist::Incoming> in = impl_->wait_message(deadline);
        if (!in) throw WorkerError("no answer from the scheduler at {}", impl_->address);
        if (in->type == dist::MsgType::Info) return static_cast<int>(in->r->get<std::uint64_t>());
    }
}

std::vector<Value> Client::run(const Graph& graph, const GraphIndex& index, std::span<const std::int64_t> priority,
                               std::span<const std::int64_t> outputs,
                               std::span<const std::shared_ptr<Observer>> observers) {
    detail::check_run_arguments(graph, index, priority, outputs);
    std::lock_guard lock(impl_->mutex);
    dist::Submit submit = impl_->build(graph, index, priority, outputs);
    const std::uint64_t run_id = submit.run;
    detail::EventSink events(graph, observers);
    events.run_start(name(), 0);
    if (!dist::send(impl_->socket, {}, dist::encode(std::move(submit))))
        throw WorkerError("cannot send the graph to the scheduler at {}", impl_->address);
    try {
        std::vector<Value> values = impl_->wait_result(run_id);
        events.run_end(graph.size(), false);
        return values;
    } catch (...) {
        events.run_end(0, true);
        dist::Outgoing out(dist::MsgType::Cancel);
        out.w.put(run_id);
        dist::send(impl_->socket, {}, std::move(out));
        throw;
    }
}

namespace detail {

std::shared_ptr<Scheduler> distributed_scheduler(const std::string& address) {
    static std::mutex mutex;
    static std::map<std::string, std::shared_ptr<Client>> clients;
    std::lock_guard lock(mutex);
    auto& slot = clients[address];
    if (!slot) slot = std::make_shared<Client>(address, ClientOptions{.set_as_default = false});
    return slot;
}

}  // namespace detail
}  // namespace tessera
