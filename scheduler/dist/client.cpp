// ts::Client: ships graphs to a scheduler and waits for their outputs (see distributed.hpp).

#include <unistd.h>

#include <poll.h>

#include <chrono>
#include <map>
#include <mutex>
#include <utility>

#include <fmt/format.h>

#include "scheduler/dist/client_core.hpp"
#include "scheduler/dist/connect.hpp"
#include "scheduler/dist/messages.hpp"
#include "scheduler/dist/security.hpp"
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

namespace detail {

dist::PackedValue pack_local_payload(const Task& task) {
    const OpId constant_op = has_op("tessera.constant") ? op_id("tessera.constant") : 0;
    if (task.op != constant_op)
        throw GraphError("task {} carries a C++ payload (operation '{}') and cannot run on a "
                         "distributed cluster; use a registered operation",
                         task.key.str(), op_name(task.op));
    return dist::pack(*static_cast<const Value*>(task.local.get()));
}

// ------------------------------------------------------------------------------ connection

ClientCore::ClientCore(std::string addr, ClientOptions opts)
    : address(std::move(addr)), options(std::move(opts)), curve(dist::find_curve_keys(options.curve_key_dir)) {
    check_address(address);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::sndhwm, 0);
    if (curve) dist::set_curve_client(socket, *curve);
    // A failed CURVE handshake only shows in the socket's events: without watching them the
    // client would wait the whole timeout for a reply that cannot come.
    dist::HandshakeWatch watch(context, socket);
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
    // The handshake runs before the receiving thread exists.
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(options.connect_timeout));
    std::vector<zmq::pollitem_t> items{{socket.handle(), 0, ZMQ_POLLIN, 0}, {watch.events().handle(), 0, ZMQ_POLLIN, 0}};
    while (Clock::now() < deadline) {
        if (watch.failed())
            throw ProtocolError("the scheduler at {} refused the connection: {}", address,
                                dist::handshake_failure_reason(curve, "client",
                                                               "set TESSERA_CURVE_KEYS or ClientOptions::curve_key_dir"));
        std::optional<dist::Incoming> in;
        try {
            std::string identity;
            in = dist::receive(socket, false, identity);
        } catch (const ProtocolError& e) {
            dist::log("client", fmt::format("malformed message from the scheduler: {}", e.what()));
            continue;
        }
        if (in && in->type == dist::MsgType::Welcome) {
            last_received = Clock::now();
            return;
        }
        if (in && in->type == dist::MsgType::Refuse) throw ProtocolError(in->r->get_str());
        if (in) continue;
        try {
            zmq::poll(items, std::chrono::milliseconds(50));
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
        }
    }
    throw WorkerError("no answer from the scheduler at {} within {} s", address, options.connect_timeout);
}

ClientCore::~ClientCore() { close(); }

void ClientCore::start() { thread_ = std::thread([this] { loop(); }); }

void ClientCore::close() {
    {
        std::lock_guard lock(mutex);
        if (closed) return;
        stopping = true;
    }
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mutex);
    if (!release_out.empty()) send_locked(dist::Outgoing(dist::MsgType::Heartbeat));  // flushes releases
    dist::send(socket, {}, dist::Outgoing(dist::MsgType::Goodbye));
    closed = true;
    cv.notify_all();
}

bool ClientCore::send_locked(dist::Outgoing&& message) {
    if (!release_out.empty()) {
        // Releases go first: a key released and then submitted again must arrive in that order.
        dist::send(socket, {}, dist::encode_keys(dist::MsgType::FutureRelease, 0, release_out));
        release_out.clear();
    }
    last_sent = Clock::now();
    return dist::send(socket, {}, std::move(message));
}

void ClientCore::check_alive() const {
    if (closed) throw WorkerError("the client of the scheduler at {} is closed", address);
    if (Clock::now() - last_received > kSchedulerSilence)
        throw WorkerError("lost the scheduler at {}: no message for {} s", address, kSchedulerSilence.count());
}

void ClientCore::loop() {
    const int fd = [&] {
        std::lock_guard lock(mutex);
        return static_cast<int>(socket.get(zmq::sockopt::fd));
    }();
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        ::poll(&p, 1, 20);  // edge-triggered: the timeout covers events consumed by senders
        std::vector<std::shared_ptr<FutureState>> keep;  // dropped after unlocking
        std::lock_guard lock(mutex);
        if (stopping) return;
        bool any = false;
        for (;;) {
            try {
                std::string identity;
                std::optional<dist::Incoming> in = dist::receive(socket, false, identity);
                if (!in) break;
                any = true;
                last_received = Clock::now();
                dispatch(std::move(*in), keep);
            } catch (const Error& e) {
                dist::log("client", fmt::format("malformed message from the scheduler: {}", e.what()));
            }
        }
        // Heartbeats on their own clock: the scheduler answers them, which keeps last_received
        // fresh even while other messages flow only one way.
        if (Clock::now() - last_heartbeat > kHeartbeatInterval) {
            last_heartbeat = Clock::now();
            send_locked(dist::Outgoing(dist::MsgType::Heartbeat));
        } else if (!release_out.empty()) {
            send_locked(dist::encode_keys(dist::MsgType::FutureRelease, 0, std::exchange(release_out, {})));
        }
        if (any) cv.notify_all();
    }
}

void ClientCore::dispatch(dist::Incoming&& in, std::vector<std::shared_ptr<FutureState>>& keep) {
    dist::Reader& r = *in.r;
    switch (in.type) {
        case dist::MsgType::RunResult:
        case dist::MsgType::RunError: {
            auto it = run_replies.find(r.get<std::uint64_t>());
            if (it != run_replies.end()) it->second = std::move(in);
            return;
        }
        case dist::MsgType::Info:
            info_reply = std::move(in);
            ++info_count;
            return;
        case dist::MsgType::WhoHasReply: {
            const auto request = r.get<std::uint64_t>();
            who_has_replies.insert_or_assign(request, std::move(in));
            return;
        }
        case dist::MsgType::FutureStatus: {
            const std::uint64_t n = r.get_count(16);
            for (std::uint64_t k = 0; k < n; ++k) {
                dist::FutureStatusItem item = dist::read_status_item(r);
                auto it = futures.find(item.key);
                if (it == futures.end()) continue;
                std::shared_ptr<FutureState> state = it->second.lock();
                if (!state) continue;
                keep.push_back(state);
                using S = dist::FutureStatusItem::Status;
                if (item.status == S::Finished) {
                    mark_done(*state, FutureStatus::Finished, nullptr);
                    continue;
                }
                std::exception_ptr error = dist::make_error(item.error_kind, item.error_message);
                if (item.status == S::Error && !item.origin.name().empty()) {
                    try {
                        rethrow_task_error(error, item.origin);
                    } catch (...) {
                        error = std::current_exception();
                    }
                }
                mark_done(*state, item.status == S::Error ? FutureStatus::Error : FutureStatus::Cancelled, error);
            }
            return;
        }
        default: return;  // heartbeats
    }
}

void ClientCore::mark_done(FutureState& state, FutureStatus status, std::exception_ptr error) {
    if (state.status != FutureStatus::Pending) return;
    state.status = status;
    state.error = std::move(error);
    state.done_seq = next_done_seq++;
}

int ClientCore::refresh_info(std::unique_lock<std::mutex>& lock) {
    const std::uint64_t target = info_count + 1;
    send_locked(dist::Outgoing(dist::MsgType::InfoRequest));
    if (!wait_locked(lock, Clock::now() + kSchedulerSilence, [&] { return info_count >= target; }))
        throw WorkerError("no answer from the scheduler at {}", address);
    dist::Reader& r = *info_reply->r;
    const std::uint64_t n = r.get_count(8);
    known_ops.clear();
    for (std::uint64_t k = 0; k < n; ++k) {
        r.get_str();
        r.get_str();
        r.get<std::int32_t>();
        r.get<std::int64_t>();
        r.get<std::int64_t>();
        r.get<std::int64_t>();
        const std::uint64_t n_ops = r.get_count(8);
        for (std::uint64_t o = 0; o < n_ops; ++o) known_ops.insert(r.get_str());
    }
    return static_cast<int>(n);
}

FutureState::~FutureState() {
    if (core) core->release_key(key);
}

void ClientCore::release_key(const Key& key) {
    std::lock_guard lock(mutex);
    auto it = futures.find(key);
    // A new Future for the same key may have replaced this one already: then nothing to release.
    if (it == futures.end() || !it->second.expired()) return;
    futures.erase(it);
    if (!closed) release_out.push_back(key);
}

Future ClientCore::future_for(const Key& key, std::shared_ptr<ClientCore> self, bool& created) {
    auto& slot = futures[key];
    if (std::shared_ptr<FutureState> live = slot.lock()) {
        created = false;
        return Future(std::move(live));
    }
    created = true;
    auto state = std::make_shared<FutureState>(key, std::move(self));
    slot = state;
    return Future(std::move(state));
}

// ------------------------------------------------------------------------------------ runs

namespace {

dist::Submit build_submit(std::uint64_t run, const Graph& graph, const GraphIndex& index,
                          std::span<const std::int64_t> priority, std::span<const std::int64_t> outputs) {
    dist::Submit submit;
    submit.run = run;
    submit.tasks.resize(graph.tasks().size());
    for (std::size_t t = 0; t < graph.tasks().size(); ++t) {
        const Task& task = graph.tasks()[t];
        dist::TaskSpec& spec = submit.tasks[t];
        spec.key = task.key;
        spec.op = std::string(op_name(task.op));
        if (task.local) spec.constant = pack_local_payload(task);
        spec.params = task.params;
        spec.deps.assign(index.dep_ids.begin() + index.dep_offsets[t], index.dep_ids.begin() + index.dep_offsets[t + 1]);
        spec.nbytes_hint = task.nbytes_hint;
        spec.priority = priority[t];
    }
    submit.outputs.assign(outputs.begin(), outputs.end());
    return submit;
}

std::vector<Value> read_run_reply(dist::Incoming& in) {
    dist::Reader& r = *in.r;
    if (in.type == dist::MsgType::RunResult) {
        const std::uint64_t n = r.get_count(1);
        std::vector<Value> values;
        values.reserve(static_cast<std::size_t>(n));
        for (std::uint64_t k = 0; k < n; ++k) values.push_back(dist::unpack(in.get_value()));
        return values;
    }
    const bool has_key = r.get_bool();
    const Key key = r.get_key();
    const std::string kind = r.get_str();
    const std::string message = r.get_str();
    std::exception_ptr error = dist::make_error(kind, message);
    if (has_key) rethrow_task_error(error, key);
    std::rethrow_exception(error);
}

}  // namespace
}  // namespace detail

Client::Client(const std::string& address, ClientOptions options)
    : core_(std::make_shared<detail::ClientCore>(address, options)) {
    core_->start();
    if (options.set_as_default) installed_ = use_scheduler(std::shared_ptr<Scheduler>(this, [](Scheduler*) {}));
}

namespace {
ClientOptions with_cluster_keys(ClientOptions options, const LocalCluster& cluster) {
    if (options.curve_key_dir.empty()) options.curve_key_dir = cluster.curve_key_dir();
    return options;
}
}  // namespace

Client::Client(const LocalCluster& cluster, ClientOptions options)
    : Client(cluster.address(), with_cluster_keys(std::move(options), cluster)) {}

Client::~Client() {
    installed_.reset();
    core_->close();
}

const std::string& Client::address() const { return core_->address; }

int Client::n_workers() {
    std::unique_lock lock(core_->mutex);
    return core_->refresh_info(lock);
}

std::vector<Value> Client::run(const Graph& graph, const GraphIndex& index, std::span<const std::int64_t> priority,
                               std::span<const std::int64_t> outputs,
                               std::span<const std::shared_ptr<Observer>> observers) {
    detail::check_run_arguments(graph, index, priority, outputs);
    if (detail::has_remote_tasks(graph)) {
        // Blocks persisted on the cluster: run through the futures so they are read in place.
        detail::EventSink events(graph, observers);
        events.run_start(name(), 0);
        try {
            const std::vector<Future> futures = detail::submit_graph(*core_, core_, graph, index, priority, outputs);
            std::vector<Value> values = core_->gather(futures, -1);
            events.run_end(graph.size(), false);
            return values;
        } catch (...) {
            events.run_end(0, true);
            throw;
        }
    }
    detail::ClientCore& core = *core_;
    std::unique_lock lock(core.mutex);
    const std::uint64_t run_id = core.next_run++;
    dist::Submit submit = detail::build_submit(run_id, graph, index, priority, outputs);
    detail::EventSink events(graph, observers);
    events.run_start(name(), 0);
    core.run_replies[run_id];
    if (!core.send_locked(dist::encode(std::move(submit)))) {
        core.run_replies.erase(run_id);
        throw WorkerError("cannot send the graph to the scheduler at {}", core.address);
    }
    try {
        core.wait_locked(lock, Clock::time_point::max(), [&] { return core.run_replies.at(run_id).has_value(); });
        dist::Incoming reply = std::move(*core.run_replies.at(run_id));
        core.run_replies.erase(run_id);
        std::vector<Value> values = detail::read_run_reply(reply);
        events.run_end(graph.size(), false);
        return values;
    } catch (...) {
        core.run_replies.erase(run_id);
        events.run_end(0, true);
        dist::Outgoing out(dist::MsgType::Cancel);
        out.w.put(run_id);
        if (!core.closed) core.send_locked(std::move(out));
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
