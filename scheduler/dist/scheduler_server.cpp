// The scheduler's socket loop: receive, dispatch to SchedulerState, schedule, flush batches,
// check heartbeats (see scheduler_server.hpp).

#include "scheduler/dist/scheduler_server.hpp"

#include <fmt/format.h>

#include "dashboard/cluster.hpp"
#include "scheduler/dist/scheduler_state.hpp"
#include "scheduler/dist/security.hpp"
#include "tessera/version.hpp"

namespace tessera::dist {

namespace {
constexpr auto kHeartbeatInterval = std::chrono::milliseconds(1000);
constexpr auto kDashboardStatusInterval = std::chrono::milliseconds(200);
}

struct SchedulerServer::Impl {
    SchedulerOptions options;
    zmq::context_t context{1};
    zmq::socket_t socket{context, zmq::socket_type::router};
    std::unique_ptr<CurveServer> curve;  // before bind; destroyed before the socket
    std::string address;
    SchedulerState state;
    std::int64_t n_protocol_errors = 0;
    Clock::time_point last_heartbeat = Clock::now();
    std::unique_ptr<dashboard::ClusterDashboard> dashboard;
    Clock::time_point last_dashboard_status;

    explicit Impl(SchedulerOptions opts) : options(std::move(opts)), state(options.extra_tasks_per_worker) {
        socket.set(zmq::sockopt::router_mandatory, 1);
        socket.set(zmq::sockopt::sndhwm, 0);
        socket.set(zmq::sockopt::rcvhwm, 0);
        socket.set(zmq::sockopt::linger, 0);
        if (!options.curve_key_dir.empty())
            curve = std::make_unique<CurveServer>(context, socket, read_curve_keys(options.curve_key_dir), "scheduler");
        const std::string endpoint =
            fmt::format("tcp://{}:{}", options.host, options.port == 0 ? std::string("*") : std::to_string(options.port));
        try {
            socket.bind(endpoint);
        } catch (const zmq::error_t& e) {
            throw IOError("cannot bind the scheduler to tcp://{}:{}: {}", options.host, options.port, e.what());
        }
        address = socket.get(zmq::sockopt::last_endpoint);
        if (options.dashboard_port >= 0) start_dashboard();
    }

    void start_dashboard() {
        std::string host = options.dashboard_host.empty() ? options.host : options.dashboard_host;
        if (host == "*") host = "0.0.0.0";
        try {
            dashboard = std::make_unique<dashboard::ClusterDashboard>(
                DashboardOptions{.host = host, .port = options.dashboard_port, .print_url = false});
        } catch (const IOError& e) {
            // Like Dask: a taken port is no reason to go without a dashboard.
            if (options.dashboard_port == 0) throw;
            log("scheduler", fmt::format("{}; serving the dashboard on a free port instead", e.what()));
            dashboard = std::make_unique<dashboard::ClusterDashboard>(
                DashboardOptions{.host = host, .port = 0, .print_url = false});
        }
        state.collect_dashboard_events();
    }

    // Hands this turn's events (and every 200 ms the workers' figures) to the dashboard: one
    // short lock, never waiting for HTTP.
    void publish_dashboard() {
        if (!dashboard) return;
        dashboard::ClusterBatch batch = state.take_dashboard_events();
        const auto now = Clock::now();
        if (now - last_dashboard_status > kDashboardStatusInterval) {
            last_dashboard_status = now;
            for (const auto& [identity, w] : state.workers()) {
                dashboard::ClusterWorkerStatus s;
                s.id = w.id;
                s.n_processing = static_cast<std::int64_t>(w.processing.size());
                s.n_in_memory = static_cast<std::int64_t>(w.has.size());
                s.has_metrics = w.has_metrics;
                s.memory_bytes = w.metrics.memory_bytes;
                s.spilled_bytes = w.metrics.spilled_bytes;
                s.rss_bytes = w.metrics.rss_bytes;
                s.cpu_percent = w.metrics.cpu_percent;
                s.last_seen = w.last_seen;
                batch.worker_status.push_back(s);
            }
        }
        dashboard->publish(std::move(batch));
    }

    void protocol_error(const std::string& identity, const std::string& what) {
        ++n_protocol_errors;
        if (n_protocol_errors <= 10 || n_protocol_errors % 1000 == 0)
            log("scheduler", fmt::format("dropping peer after a malformed message ({} so far): {}",
                                         n_protocol_errors, what));
        drop(identity);
    }

    void drop(const std::string& identity) {
        if (identity.empty()) return;
        if (WorkerState* w = state.worker(identity)) {
            log("scheduler", fmt::format("removing worker {} ({})", w->name, w->address));
            state.remove_worker(identity);
        } else if (state.client(identity)) {
            state.remove_client(identity);
        }
    }

    void refuse(const std::string& identity, const std::string& message) {
        Outgoing out(MsgType::Refuse);
        out.w.put_str(message);
        send(socket, identity, std::move(out));
    }

    void handle(Incoming& in) {
        const std::string& id = in.identity;
        if (in.type == MsgType::Hello) {
            Hello hello = decode_hello(in);
            // Before its role can be read, a peer of another protocol is just a "peer".
            const char* role = hello.protocol != kProtocolVersion ? "peer"
                               : hello.role == Role::Worker       ? "worker"
                                                                  : "client";
            if (hello.protocol != kProtocolVersion || hello.version != version()) {
                const std::string message = version_mismatch("scheduler", role, hello.version, hello.protocol);
                log("scheduler", "refusing a peer: " + message);
                return refuse(id, message);
            }
            Outgoing out(MsgType::Welcome);
            out.w.put_str(version());
            if (hello.role == Role::Worker) {
                WorkerState& w = state.add_worker(id, std::move(hello));
                log("scheduler", fmt::format("worker {} connected from {} ({} threads)", w.name, w.address, w.nthreads));
                out.w.put(static_cast<std::uint64_t>(w.id));
            } else {
                state.add_client(id);
                out.w.put(std::uint64_t{0});
            }
            send(socket, id, std::move(out));
            return;
        }
        if (WorkerState* w = state.worker(id)) {
            w->last_seen = Clock::now();
            switch (in.type) {
                case MsgType::Heartbeat:
                    if (auto metrics = decode_worker_metrics(in)) {
                        w->metrics = *metrics;
                        w->has_metrics = true;
                    }
                    return;
                case MsgType::Goodbye: return drop(id);
                case MsgType::TaskDone: {
                    const std::uint64_t n = in.r->get_count(40);
                    for (std::uint64_t k = 0; k < n; ++k) state.task_done(*w, read_done_item(in));
                    in.r->finish();
                    return;
                }
                default:
                    throw ProtocolError("unexpected {} message from worker {}", to_string(in.type), w->name);
            }
        }
        if (ClientState* c = state.client(id)) {
            c->last_seen = Clock::now();
            switch (in.type) {
                case MsgType::Heartbeat: send(socket, id, Outgoing(MsgType::Heartbeat)); return;
                case MsgType::Goodbye: return drop(id);
                case MsgType::Submit: return state.submit(id, decode_submit(in));
                case MsgType::Cancel: {
                    const auto run = in.r->get<std::uint64_t>();
                    in.r->finish();
                    return state.cancel(id, run);
                }
                case MsgType::InfoRequest: return send_info(id);
                case MsgType::FutureSubmit: return state.future_submit(id, decode_future_submit(in));
                case MsgType::FutureRelease: {
                    std::uint64_t request = 0;
                    return state.future_release(id, decode_keys(in, request));
                }
                case MsgType::FutureCancel: {
                    std::uint64_t request = 0;
                    return state.future_cancel(id, decode_keys(in, request));
                }
                case MsgType::WhoHas: {
                    std::uint64_t request = 0;
                    const std::vector<Key> keys = decode_keys(in, request);
                    Outgoing out(MsgType::WhoHasReply);
                    out.w.put(request);
                    const std::vector<WhoHasItem> items = state.who_has(id, keys);
                    out.w.put(static_cast<std::uint64_t>(items.size()));
                    for (const WhoHasItem& item : items) write_who_has_item(out.w, item);
                    send(socket, id, std::move(out));
                    return;
                }
                default:
                    throw ProtocolError("unexpected {} message from a client", to_string(in.type));
            }
        }
        throw ProtocolError("{} message from a peer that has not said hello", to_string(in.type));
    }

    void send_info(const std::string& id) {
        Outgoing out(MsgType::Info);
        out.w.put(static_cast<std::uint64_t>(state.workers().size()));
        for (const auto& [identity, w] : state.workers()) {
            out.w.put_str(w.name);
            out.w.put_str(w.address);
            out.w.put(static_cast<std::int32_t>(w.nthreads));
            out.w.put(w.pid);
            out.w.put(static_cast<std::int64_t>(w.processing.size()));
            out.w.put(static_cast<std::int64_t>(w.has.size()));
            out.w.put(static_cast<std::uint64_t>(w.ops.size()));
            for (const std::string& op : w.ops) out.w.put_str(op);
        }
        send(socket, id, std::move(out));
    }

    void check_timeouts() {
        const auto now = Clock::now();
        const auto worker_limit = std::chrono::duration<double>(options.worker_timeout);
        std::vector<std::string> dead;
        for (const auto& [identity, w] : state.workers())
            if (now - w.last_seen > worker_limit) dead.push_back(identity);
        for (const auto& identity : dead) {
            const WorkerState& w = *state.worker(identity);
            log("scheduler", fmt::format("worker {} ({}) missed its heartbeats; removing it", w.name, w.address));
            state.remove_worker(identity);
        }
        const auto client_limit = std::chrono::duration<double>(options.client_timeout);
        std::vector<std::string> gone;
        for (const auto& [identity, c] : state.clients())
            if (!c.runs.empty() && now - c.last_seen > client_limit) gone.push_back(identity);
        for (const auto& identity : gone) {
            log("scheduler", "a client with running work went silent; cancelling its work");
            state.remove_client(identity);
        }
    }

    void flush() {
        std::vector<std::string> unreachable;
        const bool heartbeat = Clock::now() - last_heartbeat > kHeartbeatInterval;
        if (heartbeat) last_heartbeat = Clock::now();
        for (const std::string& lost : state.take_lost_addresses()) {
            for (auto& [identity, w] : state.workers()) {
                Outgoing out(MsgType::WorkerLost);
                out.w.put_str(lost);
                send(socket, identity, std::move(out));
            }
        }
        for (auto& [identity, w] : state.workers()) {
            bool ok = true;
            if (!w.compute_out.empty()) {
                Outgoing out(MsgType::Compute);
                out.w.put(static_cast<std::uint64_t>(w.compute_out.size()));
                for (auto& item : w.compute_out) write_compute_item(out, std::move(item));
                w.compute_out.clear();
                ok &= send(socket, identity, std::move(out));
            }
            if (!w.release_out.empty()) {
                Outgoing out(MsgType::Release);
                out.w.put_i64s(w.release_out);
                w.release_out.clear();
                ok &= send(socket, identity, std::move(out));
            }
            if (heartbeat) ok &= send(socket, identity, Outgoing(MsgType::Heartbeat));
            if (!ok) unreachable.push_back(identity);
        }
        for (auto& [identity, c] : state.clients()) {
            if (c.status_out.empty()) continue;
            Outgoing out(MsgType::FutureStatus);
            out.w.put(static_cast<std::uint64_t>(c.status_out.size()));
            for (const FutureStatusItem& item : c.status_out) write_status_item(out.w, item);
            c.status_out.clear();
            send(socket, identity, std::move(out));
        }
        for (auto& message : state.client_out()) send(socket, message.identity, std::move(message.message));
        state.client_out().clear();
        for (const auto& identity : unreachable) {
            log("scheduler", "a worker is unreachable; removing it");
            state.remove_worker(identity);
        }
    }

    void run(std::atomic<bool>& stop, std::atomic<int>& n_workers) {
        std::vector<zmq::pollitem_t> items{{socket.handle(), 0, ZMQ_POLLIN, 0}};
        while (!stop.load()) {
            try {
                zmq::poll(items, std::chrono::milliseconds(100));
            } catch (const zmq::error_t& e) {
                if (e.num() == EINTR) continue;
                throw;
            }
            // Drain everything waiting before judging heartbeats: a busy loop must not declare
            // live workers dead.
            for (int k = 0; k < 100000; ++k) {
                std::string identity;
                try {
                    std::optional<Incoming> in = receive(socket, true, identity);
                    if (!in) break;
                    handle(*in);
                } catch (const ProtocolError& e) {
                    protocol_error(identity, e.what());
                } catch (const std::exception& e) {
                    protocol_error(identity, fmt::format("{}", e.what()));
                }
            }
            check_timeouts();
            state.schedule();
            // Before the replies go out: a client that got its result finds it on the dashboard.
            publish_dashboard();
            flush();
            state.schedule();  // workers removed while flushing
            publish_dashboard();
            flush();
            n_workers.store(static_cast<int>(state.workers().size()));
        }
        if (options.shutdown_workers)
            for (auto& [identity, w] : state.workers()) send(socket, identity, Outgoing(MsgType::Shutdown));
    }
};

SchedulerServer::SchedulerServer(SchedulerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

SchedulerServer::~SchedulerServer() {
    stop();
    if (thread_.joinable()) thread_.join();
}

const std::string& SchedulerServer::address() const { return impl_->address; }

std::string SchedulerServer::dashboard_url() const {
    return impl_->dashboard ? impl_->dashboard->url() : std::string();
}

void SchedulerServer::run() { impl_->run(stop_, n_workers_); }

void SchedulerServer::start_thread() {
    thread_ = std::thread([this] {
        try {
            run();
        } catch (const std::exception& e) {
            log("scheduler", fmt::format("stopped by an error: {}", e.what()));
        }
    });
}

}  // namespace tessera::dist
