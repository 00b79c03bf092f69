// The worker process's loop (see worker.hpp).

#include "scheduler/dist/worker.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <thread>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <tbb/global_control.h>

#include "dashboard/system_stats.hpp"
#include "scheduler/dist/data_store.hpp"
#include "scheduler/dist/messages.hpp"
#include "scheduler/dist/security.hpp"
#include "scheduler/parallel_tasks.hpp"
#include "scheduler/run_state.hpp"
#include "tessera/version.hpp"

namespace tessera::dist {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kHeartbeatInterval = std::chrono::milliseconds(500);
constexpr auto kFetchTimeout = std::chrono::seconds(15);

std::vector<std::string> registered_op_names() {
    std::vector<std::string> names;
    for (OpId id = 1;; ++id) {
        try {
            names.emplace_back(op_name(id));
        } catch (const GraphError&) {
            break;
        }
    }
    return names;
}

struct Pending {
    ComputeItem item;
    std::vector<Value> inputs;
    std::int64_t n_missing = 0;
};

struct DepFetch {
    std::vector<std::string> who_has;
    std::size_t next = 0;
    std::vector<std::string> failed;
    bool in_flight = false;
};

struct Completion {
    std::uint64_t tid = 0;
    bool send_result = false;
    Value value;
    std::exception_ptr error;
    std::int32_t thread = -1;
    std::int64_t start_ns = 0, stop_ns = 0;  // wall clock, for the dashboard
};

std::int64_t wall_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The worker's task threads: a queue and `n` threads that sleep while it is empty. (A TBB arena
// kept its idle threads spinning in sched_yield after every task: on a machine shared with the
// scheduler, the client and other workers that spinning took the cores the work needed.)
class TaskThreads {
public:
    explicit TaskThreads(int n) {
        for (int k = 0; k < n; ++k)
            threads_.emplace_back([this] {
                // Tasks here run next to the worker's other threads: no BLAS threads of their own.
                const tessera::detail::ParallelTasksScope scope;
                run();
            });
    }
    ~TaskThreads() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        for (auto& t : threads_) t.join();
    }
    TaskThreads(const TaskThreads&) = delete;
    TaskThreads& operator=(const TaskThreads&) = delete;

    void enqueue(std::function<void()> job) {
        {
            std::lock_guard lock(mutex_);
            jobs_.push_back(std::move(job));
        }
        wake_.notify_one();
    }

private:
    void run() {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
                if (jobs_.empty()) return;  // stopping and nothing left
                job = std::move(jobs_.front());
                jobs_.pop_front();
            }
            job();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> jobs_;
    bool stop_ = false;
    std::vector<std::thread> threads_;
};

class Worker {
public:
    explicit Worker(const WorkerOptions& options)
        : options_(options),
          data_(MemoryLimits{.limit = options.memory_limit, .directory = options.local_directory}),
          // TBB inside a task (a kernel's own parallel loop) may use the task threads' count.
          parallelism_(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(options.nthreads) + 1),
          threads_(options.nthreads),
          event_fd_(::eventfd(0, EFD_NONBLOCK)) {
        if (event_fd_ < 0) throw IOError("cannot create an eventfd");
        if (!options.curve_key_dir.empty()) curve_ = read_curve_keys(options.curve_key_dir);
        check_bind_allowed("the worker's peer socket", options.host, curve_.has_value(), options.insecure_bind_all);
        name_ = options.name.empty() ? fmt::format("worker-{}", ::getpid()) : options.name;
        for (auto* s : {&sched_, &peer_}) {
            s->set(zmq::sockopt::linger, 0);
            s->set(zmq::sockopt::sndhwm, 0);
            s->set(zmq::sockopt::rcvhwm, 0);
        }
        peer_.set(zmq::sockopt::router_mandatory, 1);
        if (curve_) {
            curve_server_ = std::make_unique<CurveServer>(context_, peer_, *curve_, name_);
            set_curve_client(sched_, *curve_);
        }
        watch_.emplace(context_, sched_);
        try {
            peer_.bind(fmt::format("tcp://{}:*", options.host));
            sched_.connect(options.scheduler);
        } catch (const zmq::error_t& e) {
            throw IOError("worker cannot listen on {} or connect to {}: {}", options.host, options.scheduler, e.what());
        }
        address_ = peer_.get(zmq::sockopt::last_endpoint);
    }
    ~Worker() {
        // Tasks still running refer to this object: let them finish.
        while (running_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        ::close(event_fd_);
    }

    int run() {
        Hello hello;
        hello.version = version();
        hello.role = Role::Worker;
        hello.name = name_;
        hello.nthreads = options_.nthreads;
        hello.address = address_;
        hello.memory_limit = options_.memory_limit;
        hello.pid = ::getpid();
        hello.ops = registered_op_names();
        send(sched_, {}, encode(hello));
        last_from_scheduler_ = Clock::now();
        while (!stop_) {
            std::vector<zmq::pollitem_t> items{{sched_.handle(), 0, ZMQ_POLLIN, 0},
                                               {peer_.handle(), 0, ZMQ_POLLIN, 0},
                                               {nullptr, event_fd_, ZMQ_POLLIN, 0}};
            std::vector<zmq::socket_t*> dealers;
            for (auto& [address, socket] : dealers_) {
                items.push_back({socket.handle(), 0, ZMQ_POLLIN, 0});
                dealers.push_back(&socket);
            }
            try {
                zmq::poll(items, std::chrono::milliseconds(100));
            } catch (const zmq::error_t& e) {
                if (e.num() == EINTR) continue;
                throw;
            }
            check_handshake();
            drain_scheduler();
            drain_peers();
            for (zmq::socket_t* s : dealers) drain_dealer(*s);
            drain_completions();
            housekeeping();
            flush();
        }
        return exit_code_;
    }

private:
    // ------------------------------------------------------------------ scheduler messages
    // Until the Welcome: a failed CURVE handshake means the scheduler will never hear us.
    void check_handshake() {
        if (!watch_) return;
        if (watch_->failed()) {
            log(name_, fmt::format("the scheduler at {} refused this worker: {}", options_.scheduler,
                                   handshake_failure_reason(curve_, "worker",
                                                            "pass --curve-key-dir or set TESSERA_CURVE_KEYS")));
            exit_code_ = 1;
            stop_ = true;
        }
    }

    void drain_scheduler() {
        for (;;) {
            std::string identity;
            std::optional<Incoming> in;
            try {
                in = receive(sched_, false, identity);
                if (!in) return;
                last_from_scheduler_ = Clock::now();
                handle_scheduler(*in);
            } catch (const ProtocolError& e) {
                log(name_, fmt::format("malformed message from the scheduler: {}", e.what()));
            }
        }
    }

    void handle_scheduler(Incoming& in) {
        Reader& r = *in.r;
        switch (in.type) {
            case MsgType::Welcome:
                welcomed_ = true;
                watch_.reset();
                return;
            case MsgType::Refuse: {
                log(name_, fmt::format("the scheduler refused this worker: {}", r.get_str()));
                exit_code_ = 1;
                stop_ = true;
                return;
            }
            case MsgType::Heartbeat: return;
            case MsgType::Shutdown: stop_ = true; return;
            case MsgType::Compute: {
                const std::uint64_t n = r.get_count(40);
                for (std::uint64_t k = 0; k < n; ++k) compute(read_compute_item(in));
                return;
            }
            case MsgType::Release:
                for (std::int64_t tid : r.get_i64s()) data_.erase(static_cast<std::uint64_t>(tid));
                return;
            case MsgType::WorkerLost: {
                const std::string address = r.get_str();
                closing_.push_back(address);  // closed after this loop turn: it may be polled
                for (auto it = requests_.begin(); it != requests_.end();) {
                    if (it->second.address == address) {
                        const auto tids = std::move(it->second.tids);
                        it = requests_.erase(it);
                        for (std::uint64_t tid : tids) fetch_failed(tid, address);
                    } else {
                        ++it;
                    }
                }
                return;
            }
            default: throw ProtocolError("unexpected {} message from the scheduler", to_string(in.type));
        }
    }

    void compute(ComputeItem&& item) {
        const std::uint64_t tid = item.tid;
        if (item.constant) {
            Completion done{tid, item.send_result, {}, nullptr};
            try {
                done.value = unpack(std::move(*item.constant));
            } catch (...) {
                done.error = std::current_exception();
            }
            return complete(std::move(done));
        }
        Pending p;
        p.inputs.resize(item.deps.size());
        for (std::size_t k = 0; k < item.deps.size(); ++k) {
            const auto& dep = item.deps[k];
            if (std::optional<Value> held = data_.get(dep.tid)) {
                p.inputs[k] = std::move(*held);
                continue;
            }
            ++p.n_missing;
            waiting_[dep.tid].emplace_back(tid, k);
            DepFetch& f = fetches_[dep.tid];
            if (!f.in_flight && f.next == 0 && f.who_has.empty()) f.who_has = dep.who_has;
        }
        p.item = std::move(item);
        const bool ready = p.n_missing == 0;
        pending_[tid] = std::move(p);
        if (ready) return launch(tid);
        for (const auto& dep : pending_[tid].item.deps)
            if (!data_.contains(dep.tid)) start_fetch(dep.tid);
    }

    // ------------------------------------------------------------------ fetching inputs
    void start_fetch(std::uint64_t dep) {
        DepFetch& f = fetches_[dep];
        if (f.in_flight) return;
        while (f.next < f.who_has.size() && f.who_has[f.next] == address_) ++f.next;
        if (f.next >= f.who_has.size()) return give_up(dep);
        f.in_flight = true;
        fetch_queue_[f.who_has[f.next]].push_back(dep);
    }

    void fetch_failed(std::uint64_t dep, const std::string& address) {
        auto it = fetches_.find(dep);
        if (it == fetches_.end()) return;
        it->second.in_flight = false;
        it->second.failed.push_back(address);
        ++it->second.next;
        start_fetch(dep);
    }

    // Every address failed: the tasks waiting for `dep` go back to the scheduler.
    void give_up(std::uint64_t dep) {
        std::vector<std::string> failed = fetches_[dep].failed;
        fetches_.erase(dep);
        auto waiting = std::move(waiting_[dep]);
        waiting_.erase(dep);
        for (const auto& [tid, index] : waiting) {
            if (!pending_.erase(tid)) continue;
            DoneItem done;
            done.tid = tid;
            done.status = DoneItem::Status::MissingData;
            done.missing_tid = dep;
            done.failed_addresses = failed;
            done_out_.push_back(std::move(done));
        }
    }

    void deliver(std::uint64_t dep, const Value& value) {
        fetches_.erase(dep);
        auto waiting = std::move(waiting_[dep]);
        waiting_.erase(dep);
        for (const auto& [tid, index] : waiting) {
            auto it = pending_.find(tid);
            if (it == pending_.end()) continue;
            it->second.inputs[index] = value;
            if (--it->second.n_missing == 0) launch(tid);
        }
    }

    void drain_dealer(zmq::socket_t& socket) {
        for (;;) {
            std::string identity;
            try {
                std::optional<Incoming> in = receive(socket, false, identity);
                if (!in) return;
                if (in->type != MsgType::Data) throw ProtocolError("unexpected {} from a peer", to_string(in->type));
                const auto request = in->r->get<std::uint64_t>();
                auto req = requests_.find(request);
                if (req == requests_.end()) continue;
                const std::string address = req->second.address;
                requests_.erase(req);
                const std::uint64_t n = in->r->get_count(9);
                for (std::uint64_t k = 0; k < n; ++k) {
                    const auto tid = in->r->get<std::uint64_t>();
                    if (in->r->get_bool()) deliver(tid, unpack(in->get_value()));
                    else fetch_failed(tid, address);
                }
            } catch (const Error& e) {
                log(name_, fmt::format("bad data from a peer: {}", e.what()));
            }
        }
    }

    // ------------------------------------------------------------------ serving peers
    void drain_peers() {
        for (int k = 0; k < 10000; ++k) {
            std::string identity;
            try {
                std::optional<Incoming> in = receive(peer_, true, identity);
                if (!in) return;
                if (in->type != MsgType::GetData)
                    throw ProtocolError("unexpected {} message from a peer", to_string(in->type));
                const auto request = in->r->get<std::uint64_t>();
                const std::vector<std::int64_t> tids = in->r->get_i64s();
                in->r->finish();
                Outgoing out(MsgType::Data);
                out.w.put(request);
                out.w.put(static_cast<std::uint64_t>(tids.size()));
                for (std::int64_t t : tids) {
                    out.w.put(static_cast<std::uint64_t>(t));
                    const std::optional<Value> held = data_.get(static_cast<std::uint64_t>(t));
                    out.w.put(static_cast<std::uint8_t>(held.has_value()));
                    if (held) out.put_value(pack(*held));
                }
                send(peer_, identity, std::move(out));
            } catch (const Error& e) {
                if (++n_protocol_errors_ <= 10 || n_protocol_errors_ % 1000 == 0)
                    log(name_, fmt::format("dropping a malformed peer request ({} so far): {}", n_protocol_errors_, e.what()));
            }
        }
    }

    // ------------------------------------------------------------------ running tasks
    void launch(std::uint64_t tid) {
        if (data_.paused()) {
            paused_.push_back(tid);  // started when spilling or releases bring memory down
            return;
        }
        auto node = pending_.extract(tid);
        auto job = std::make_shared<Pending>(std::move(node.mapped()));
        running_.fetch_add(1);
        threads_.enqueue([this, job] {
            Completion done{job->item.tid, job->item.send_result, {}, nullptr};
            done.thread = lane();
            done.start_ns = wall_ns();
            try {
                Task task;
                task.key = job->item.key;
                task.op = op_id(job->item.op);
                task.params = std::move(job->item.params);
                task.deps.resize(job->inputs.size());
                std::vector<const Value*> inputs;
                inputs.reserve(job->inputs.size());
                for (const Value& v : job->inputs) inputs.push_back(&v);
                const TaskContext ctx{task, inputs, done.thread};
                done.value = op_fn(task.op)(ctx);
            } catch (...) {
                done.error = std::current_exception();
            }
            done.stop_ns = wall_ns();
            job->inputs.clear();  // release the inputs before reporting
            {
                std::lock_guard lock(completions_mutex_);
                completions_.push_back(std::move(done));
            }
            const std::uint64_t one = 1;
            [[maybe_unused]] auto n = ::write(event_fd_, &one, sizeof one);
            running_.fetch_sub(1);
        });
    }

    void drain_completions() {
        std::uint64_t count = 0;
        [[maybe_unused]] auto n = ::read(event_fd_, &count, sizeof count);
        std::vector<Completion> done;
        {
            std::lock_guard lock(completions_mutex_);
            done.swap(completions_);
        }
        for (auto& c : done) complete(std::move(c));
    }

    void complete(Completion&& c) {
        DoneItem item;
        item.tid = c.tid;
        item.thread = c.thread;
        item.start_ns = c.start_ns;
        item.stop_ns = c.stop_ns;
        if (!c.error) {
            try {
                if (c.send_result || c.value.is_object() || c.value.is_list()) {
                    PackedValue packed = pack(c.value);  // Error for C++ objects
                    if (c.send_result) item.value = std::move(packed);
                }
            } catch (...) {
                c.error = std::current_exception();
            }
        }
        if (c.error) {
            item.status = DoneItem::Status::Error;
            item.error_kind = error_kind(c.error);
            item.error_message = tessera::detail::exception_message(c.error);
        } else {
            item.nbytes = c.value.nbytes();
            try {
                data_.put(c.tid, std::move(c.value));
            } catch (const Error& e) {
                log(name_, fmt::format("cannot spill: {}", e.what()));
            }
            if (data_.must_terminate()) {
                log(name_, fmt::format("managed memory {} bytes is above 95% of the limit {} bytes; restarting",
                                       data_.memory_bytes(), options_.memory_limit));
                std::_Exit(3);
            }
        }
        done_out_.push_back(std::move(item));
    }

    // The dashboard's lane (and TaskContext::thread) of the calling task thread: 0..nthreads-1
    // in order of first use.
    std::int32_t lane() {
        thread_local const Worker* owner = nullptr;
        thread_local std::int32_t index = 0;
        if (owner != this) {
            owner = this;
            index = next_lane_.fetch_add(1);
        }
        return index;
    }

    // ------------------------------------------------------------------ periodic work
    // The heartbeat's figures for the scheduler's dashboard.
    WorkerMetrics metrics() {
        const dashboard::SystemSample sample = system_.sample(std::chrono::duration<double>(Clock::now().time_since_epoch()).count());
        WorkerMetrics m;
        m.memory_bytes = data_.memory_bytes();
        m.spilled_bytes = data_.spilled_bytes();
        m.rss_bytes = sample.process_rss;
        m.cpu_percent = sample.process_cpu_percent;
        m.n_executing = running_.load();
        return m;
    }

    void housekeeping() {
        while (!paused_.empty() && !data_.paused()) {
            const std::uint64_t tid = paused_.front();
            paused_.pop_front();
            if (pending_.contains(tid)) launch(tid);
        }
        const auto now = Clock::now();
        if (now - last_heartbeat_ > kHeartbeatInterval) {
            last_heartbeat_ = now;
            send(sched_, {}, encode(metrics()));
        }
        if (now - last_from_scheduler_ > std::chrono::duration<double>(options_.scheduler_timeout)) {
            log(name_, "lost the scheduler; exiting");
            exit_code_ = 1;
            stop_ = true;
        }
        for (auto it = requests_.begin(); it != requests_.end();) {
            if (now - it->second.sent > kFetchTimeout) {
                const std::string address = it->second.address;
                const auto tids = std::move(it->second.tids);
                it = requests_.erase(it);
                for (std::uint64_t tid : tids) fetch_failed(tid, address);
            } else {
                ++it;
            }
        }
    }

    void flush() {
        for (const auto& address : closing_) dealers_.erase(address);
        closing_.clear();
        std::vector<std::pair<std::string, std::vector<std::uint64_t>>> failed_now;
        for (auto& [address, deps] : fetch_queue_) {
            auto [it, inserted] = dealers_.try_emplace(address, context_, zmq::socket_type::dealer);
            zmq::socket_t& socket = it->second;
            if (inserted) {
                socket.set(zmq::sockopt::linger, 0);
                socket.set(zmq::sockopt::sndhwm, 0);
                if (curve_) set_curve_client(socket, *curve_);
                try {
                    socket.connect(address);
                } catch (const zmq::error_t& e) {
                    log(name_, fmt::format("cannot connect to peer '{}': {}", address, e.what()));
                    dealers_.erase(it);
                    failed_now.emplace_back(address, deps);
                    continue;
                }
            }
            const std::uint64_t request = next_request_++;
            Outgoing out(MsgType::GetData);
            out.w.put(request);
            std::vector<std::int64_t> ids(deps.begin(), deps.end());
            out.w.put_i64s(ids);
            send(socket, {}, std::move(out));
            requests_[request] = Request{address, deps, Clock::now()};
        }
        fetch_queue_.clear();
        for (const auto& [address, deps] : failed_now)
            for (std::uint64_t dep : deps) fetch_failed(dep, address);
        if (!fetch_queue_.empty()) return flush();  // retries on other peers
        if (!done_out_.empty()) {
            Outgoing out(MsgType::TaskDone);
            out.w.put(static_cast<std::uint64_t>(done_out_.size()));
            for (auto& item : done_out_) write_done_item(out, std::move(item));
            done_out_.clear();
            send(sched_, {}, std::move(out));
        }
    }

    struct Request {
        std::string address;
        std::vector<std::uint64_t> tids;
        Clock::time_point sent;
    };

    WorkerOptions options_;
    DataStore data_;
    zmq::context_t context_{1};
    zmq::socket_t sched_{context_, zmq::socket_type::dealer};
    zmq::socket_t peer_{context_, zmq::socket_type::router};
    std::map<std::string, zmq::socket_t> dealers_;
    // After the sockets: destroyed before them.
    std::optional<CurveKeys> curve_;
    std::unique_ptr<CurveServer> curve_server_;
    std::optional<HandshakeWatch> watch_;
    std::vector<std::string> closing_;
    std::string address_, name_;
    tbb::global_control parallelism_;
    TaskThreads threads_;
    int event_fd_;
    std::atomic<int> running_{0};
    std::mutex completions_mutex_;
    std::vector<Completion> completions_;
    std::deque<std::uint64_t> paused_;
    std::unordered_map<std::uint64_t, Pending> pending_;
    std::unordered_map<std::uint64_t, std::vector<std::pair<std::uint64_t, std::size_t>>> waiting_;
    std::unordered_map<std::uint64_t, DepFetch> fetches_;
    std::map<std::string, std::vector<std::uint64_t>> fetch_queue_;
    std::map<std::uint64_t, Request> requests_;
    std::uint64_t next_request_ = 1;
    std::vector<DoneItem> done_out_;
    dashboard::SystemMonitor system_;
    std::atomic<std::int32_t> next_lane_{0};
    Clock::time_point last_heartbeat_ = Clock::now(), last_from_scheduler_ = Clock::now();
    std::int64_t n_protocol_errors_ = 0;
    bool welcomed_ = false, stop_ = false;
    int exit_code_ = 0;
};

}  // namespace

int run_worker(const WorkerOptions& options) {
    Worker worker(options);
    return worker.run();
}

}  // namespace tessera::dist
