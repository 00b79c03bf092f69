// The dashboard of a distributed scheduler: a queue of batches from the scheduler's thread,
// applied to the shared model by the dashboard's threads (see cluster.hpp).

#include "dashboard/cluster.hpp"

#include <algorithm>
#include <condition_variable>
#include <set>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "dashboard/api.hpp"
#include "dashboard/server.hpp"
#include "dashboard/system_stats.hpp"

namespace tessera::dashboard {
namespace {

template <class T>
void move_into(std::vector<T>& to, std::vector<T>& from) {
    if (to.empty()) {
        to = std::move(from);
        return;
    }
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

std::int64_t wall_ns(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::int64_t wall_now_ns() { return wall_ns(std::chrono::system_clock::now()); }

// Longest path from a task without dependencies (Kahn's order over the CSR lists); all 0 when
// the lists do not describe a DAG.
std::vector<std::int32_t> task_depths(std::size_t n, const std::vector<std::int64_t>& offsets,
                                      const std::vector<std::int64_t>& deps) {
    std::vector<std::int32_t> depth(n, 0);
    std::vector<std::int64_t> missing(n, 0);
    std::vector<std::vector<std::int32_t>> dependents(n);
    for (std::size_t t = 0; t < n; ++t) {
        for (std::int64_t k = offsets[t]; k < offsets[t + 1]; ++k) {
            const auto d = static_cast<std::size_t>(deps[static_cast<std::size_t>(k)]);
            dependents[d].push_back(static_cast<std::int32_t>(t));
            ++missing[t];
        }
    }
    std::vector<std::int32_t> ready;
    for (std::size_t t = 0; t < n; ++t)
        if (missing[t] == 0) ready.push_back(static_cast<std::int32_t>(t));
    while (!ready.empty()) {
        const std::int32_t t = ready.back();
        ready.pop_back();
        for (std::int32_t u : dependents[static_cast<std::size_t>(t)]) {
            auto& du = depth[static_cast<std::size_t>(u)];
            du = std::max(du, depth[static_cast<std::size_t>(t)] + 1);
            if (--missing[static_cast<std::size_t>(u)] == 0) ready.push_back(u);
        }
    }
    return depth;
}

}  // namespace

bool ClusterBatch::empty() const {
    return workers_up.empty() && worker_status.empty() && runs_begun.empty() && tasks_added.empty() && changes.empty() &&
           executions.empty() && errors.empty() && runs_ended.empty() && workers_gone.empty();
}

void ClusterBatch::append(ClusterBatch&& other) {
    move_into(workers_up, other.workers_up);
    move_into(worker_status, other.worker_status);
    move_into(runs_begun, other.runs_begun);
    move_into(tasks_added, other.tasks_added);
    move_into(changes, other.changes);
    move_into(executions, other.executions);
    move_into(errors, other.errors);
    move_into(runs_ended, other.runs_ended);
    move_into(workers_gone, other.workers_gone);
}

struct ClusterDashboard::Impl {
    DashboardOptions options;
    int port = 0;
    std::string url;
    std::shared_ptr<Model> model;
    std::shared_ptr<SystemMonitor> system = std::make_shared<SystemMonitor>();
    EventHub hub;
    std::unique_ptr<Server> server;
    UpdateBuilder builder;
    // Model time = wall-clock ns - wall_offset (the scheduler's clock; workers' bars are placed
    // with their own wall clocks, so skew between hosts shifts a worker's bars).
    std::int64_t wall_offset = 0;

    mutable std::mutex queue_mutex;  // guards queue
    std::vector<ClusterBatch> queue;

    // Applied state; guarded by apply_mutex (one drainer at a time), then the model's lock.
    struct Run {
        RunRecord* record = nullptr;
        std::vector<std::int32_t> group;  // per task
        std::vector<TaskState> state;
        std::vector<std::int64_t> bytes;
    };
    std::mutex apply_mutex;
    std::unordered_map<std::int64_t, Run> runs;
    std::unordered_map<std::int64_t, std::int32_t> workers;  // scheduler id -> model index

    std::mutex mutex;
    std::condition_variable wake;
    bool stopping = false;
    std::thread ticker;

    static constexpr auto kTick = std::chrono::milliseconds(200);
    static constexpr int kTicksPerSample = 5;

    void tick_loop() {
        int tick = 0;
        std::unique_lock lock(mutex);
        while (!stopping) {
            lock.unlock();
            drain();
            if (tick % kTicksPerSample == 0) system->sample(seconds(model->now_ns()));
            if (hub.n_clients.load() > 0)
                if (auto update = builder.next(*model, *system, 0)) hub.publish(std::move(*update));
            ++tick;
            lock.lock();
            wake.wait_for(lock, kTick, [this] { return stopping; });
        }
    }

    void drain() {
        try {
            std::lock_guard apply_lock(apply_mutex);
            std::vector<ClusterBatch> batches;
            {
                std::lock_guard lock(queue_mutex);
                batches.swap(queue);
            }
            if (batches.empty()) return;
            auto model_lock = model->lock();
            for (ClusterBatch& batch : batches) apply(batch);
            model->bump();
        } catch (...) {
            // The dashboard shows less rather than stopping anything.
        }
    }

    std::int64_t model_ns(std::int64_t wall_ns) const {
        return wall_ns == 0 ? model->now_ns() : wall_ns - wall_offset;
    }

    WorkerInfo* worker(std::int64_t id) {
        const auto it = workers.find(id);
        return it == workers.end() ? nullptr : &model->worker(it->second);
    }

    void apply(ClusterBatch& b) {
        for (ClusterWorkerUp& up : b.workers_up) worker_up(up);
        for (const ClusterWorkerStatus& s : b.worker_status) worker_status(s);
        for (ClusterRunBegin& r : b.runs_begun) run_begin(r);
        for (const ClusterTasksAdded& a : b.tasks_added) tasks_added(a);
        for (const ClusterTaskChange& c : b.changes) change(c);
        for (ClusterTaskRun& e : b.executions) execution(e);
        for (ClusterTaskError& e : b.errors) error(e);
        for (const ClusterRunEnd& e : b.runs_ended) run_end(e);
        for (std::int64_t id : b.workers_gone)
            if (WorkerInfo* w = worker(id)) {
                w->closed = true;
                w->n_processing = 0;
            }
    }

    void worker_up(ClusterWorkerUp& up) {
        WorkerInfo w;
        w.id = up.address;
        w.name = std::move(up.name);
        w.address = std::move(up.address);
        w.pid = up.pid;
        // "tcp://HOST:PORT" -> HOST
        std::string host = w.address.substr(std::min<std::size_t>(w.address.size(), 6));
        if (const auto colon = host.rfind(':'); colon != std::string::npos) host.resize(colon);
        w.host = host;
        w.threads.resize(static_cast<std::size_t>(std::max(1, up.nthreads)));
        w.memory_limit = up.memory_limit;
        w.n_processing = 0;
        w.last_seen_ns = model->now_ns();
        workers[up.id] = model->upsert_worker(std::move(w));
    }

    void worker_status(const ClusterWorkerStatus& s) {
        WorkerInfo* w = worker(s.id);
        if (w == nullptr) return;
        w->n_processing = s.n_processing;
        w->n_in_memory = s.n_in_memory;
        w->last_seen_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(s.last_seen - model->origin()).count();
        if (!s.has_metrics) return;
        w->memory_bytes = s.memory_bytes;
        w->task_bytes = s.memory_bytes;
        w->spilled_bytes = s.spilled_bytes;
        w->rss_bytes = s.rss_bytes;
        w->cpu_percent = s.cpu_percent;
    }

    void run_begin(ClusterRunBegin& r) {
        const std::size_t n = r.groups.size();
        RunMeta meta;
        meta.id = r.run;
        meta.scheduler = std::move(r.label);
        meta.n_threads = std::max(1, r.n_threads);
        meta.n_tasks = static_cast<std::int64_t>(n);
        meta.started_at = r.started_at;
        // When it was submitted, not when this batch is applied (up to a tick later).
        meta.start_ns = std::min(model->now_ns(), model_ns(wall_ns(r.started_at)));
        Run run;
        run.group.resize(n);
        run.state.assign(n, TaskState::Waiting);
        run.bytes.assign(n, 0);
        // Groups in order of first appearance; interned names compare by address first.
        std::unordered_map<const char*, std::int32_t> by_ptr;
        for (std::size_t t = 0; t < n; ++t) {
            const std::string_view g = r.groups[t];
            auto it = by_ptr.find(g.data());
            if (it == by_ptr.end()) {
                std::int32_t index = -1;
                for (std::size_t k = 0; k < meta.groups.size(); ++k)
                    if (meta.groups[k].first == g) index = static_cast<std::int32_t>(k);
                if (index < 0) {
                    index = static_cast<std::int32_t>(meta.groups.size());
                    meta.groups.emplace_back(std::string(g), 0);
                }
                it = by_ptr.emplace(g.data(), index).first;
            }
            run.group[t] = it->second;
            ++meta.groups[static_cast<std::size_t>(it->second)].second;
        }
        const bool have_deps = r.dep_offsets.size() == n + 1;
        if (have_deps) {
            std::set<std::pair<std::int32_t, std::int32_t>> edges;
            for (std::size_t t = 0; t < n; ++t)
                for (std::int64_t k = r.dep_offsets[t]; k < r.dep_offsets[t + 1]; ++k) {
                    const std::int32_t from = run.group[static_cast<std::size_t>(r.deps[static_cast<std::size_t>(k)])];
                    if (from != run.group[t]) edges.emplace(from, run.group[t]);
                }
            meta.group_edges.assign(edges.begin(), edges.end());
        }
        if (have_deps && n > 0 && r.keys.size() == n && static_cast<std::int64_t>(n) <= kMaxGraphNodes) {
            GraphDetail detail;
            detail.keys = std::move(r.keys);
            detail.group = run.group;
            detail.state.assign(n, TaskState::Waiting);
            detail.depth = task_depths(n, r.dep_offsets, r.deps);
            for (std::size_t t = 0; t < n; ++t) {
                std::vector<std::int32_t> from;
                for (std::int64_t k = r.dep_offsets[t]; k < r.dep_offsets[t + 1]; ++k)
                    from.push_back(static_cast<std::int32_t>(r.deps[static_cast<std::size_t>(k)]));
                std::sort(from.begin(), from.end());
                from.erase(std::unique(from.begin(), from.end()), from.end());
                for (std::int32_t f : from) detail.edges.emplace_back(f, static_cast<std::int32_t>(t));
            }
            meta.detail = std::move(detail);
        }
        run.record = &model->begin_run(std::move(meta));
        for (GroupStats& g : run.record->groups) g.exact = true;
        // begin_run may have forgotten old finished runs: drop our view of any it removed.
        std::erase_if(runs, [this](const auto& entry) { return model->find_run(entry.first) == nullptr; });
        runs[r.run] = std::move(run);
    }

    void tasks_added(const ClusterTasksAdded& a) {
        const auto it = runs.find(a.run);
        if (it == runs.end()) return;
        Run& run = it->second;
        RunRecord& record = *run.record;
        const std::size_t first = run.group.size();
        for (const std::string_view g : a.groups) {
            std::int32_t index = record.find_group(g);
            if (index < 0) {
                index = static_cast<std::int32_t>(record.groups.size());
                GroupStats stats;
                stats.name = std::string(g);
                stats.exact = true;
                record.groups.push_back(std::move(stats));
                record.group_index.emplace(std::string(g), index);
                record.meta.groups.emplace_back(std::string(g), 0);
            }
            GroupStats& stats = record.groups[static_cast<std::size_t>(index)];
            ++stats.total;
            stats.version = model->version();
            ++record.meta.groups[static_cast<std::size_t>(index)].second;
            run.group.push_back(index);
            run.state.push_back(TaskState::Waiting);
            run.bytes.push_back(0);
        }
        record.meta.n_tasks = static_cast<std::int64_t>(run.group.size());
        record.version = model->version();
        if (a.dep_offsets.size() != a.groups.size() + 1) return;
        for (std::size_t t = 0; t < a.groups.size(); ++t)
            for (std::int64_t k = a.dep_offsets[t]; k < a.dep_offsets[t + 1]; ++k) {
                const auto d = static_cast<std::size_t>(a.deps[static_cast<std::size_t>(k)]);
                if (d >= run.group.size()) continue;
                const std::pair<std::int32_t, std::int32_t> edge{run.group[d], run.group[first + t]};
                auto& edges = record.meta.group_edges;
                if (edge.first != edge.second && std::find(edges.begin(), edges.end(), edge) == edges.end())
                    edges.push_back(edge);
            }
    }

    void change(const ClusterTaskChange& c) {
        const auto it = runs.find(c.run);
        if (it == runs.end()) return;
        Run& run = it->second;
        if (c.pos < 0 || static_cast<std::size_t>(c.pos) >= run.state.size()) return;
        const auto pos = static_cast<std::size_t>(c.pos);
        const TaskState from = run.state[pos];
        if (from == c.state) return;
        model->transition(*run.record, run.group[pos], c.pos, from, c.state, run.bytes[pos], c.bytes);
        run.state[pos] = c.state;
        run.bytes[pos] = c.state == TaskState::Memory ? c.bytes : 0;
    }

    void execution(ClusterTaskRun& e) {
        const auto it = runs.find(e.run);
        if (it == runs.end()) return;
        Run& run = it->second;
        const std::int32_t group = e.pos >= 0 && static_cast<std::size_t>(e.pos) < run.group.size()
                                       ? run.group[static_cast<std::size_t>(e.pos)]
                                       : -1;
        StreamRecord record;
        record.run_id = e.run;
        record.name = e.name;
        record.group = e.group;
        std::copy_n(e.index, 4, record.index);
        record.ndim = e.ndim;
        record.key_text = std::move(e.key_text);
        record.failed = e.failed;
        record.thread = std::max<std::int32_t>(0, e.thread);
        record.stop_ns = model_ns(e.stop_wall_ns);
        record.start_ns = std::min(record.stop_ns, e.start_wall_ns == 0 ? record.stop_ns : model_ns(e.start_wall_ns));
        record.bytes = e.bytes;
        record.worker = -1;
        if (const auto w = workers.find(e.worker); w != workers.end()) {
            record.worker = w->second;
            WorkerInfo& info = model->worker(w->second);
            if (static_cast<std::size_t>(record.thread) >= info.threads.size())
                info.threads.resize(static_cast<std::size_t>(record.thread) + 1);
            ThreadSlot& slot = info.threads[static_cast<std::size_t>(record.thread)];
            ++slot.n_tasks;
            slot.busy_ns += record.stop_ns - record.start_ns;
            if (!e.failed) ++info.n_finished;
        }
        model->add_stream(*run.record, group, std::move(record));
    }

    void error(ClusterTaskError& e) {
        TaskErrorInfo info;
        info.run_id = e.run;
        info.key = std::move(e.key);
        info.group = std::move(e.group);
        info.message = std::move(e.message);
        info.time_ns = model->now_ns();
        model->add_error(std::move(info));
    }

    void run_end(const ClusterRunEnd& e) {
        const auto it = runs.find(e.run);
        if (it == runs.end()) return;
        Run& run = it->second;
        std::int64_t n_done = 0;
        for (TaskState s : run.state) n_done += s == TaskState::Memory || s == TaskState::Released;
        model->end_run(*run.record, std::min(model->now_ns(), model_ns(wall_ns(e.ended_at))), e.failed, n_done);
        runs.erase(it);
    }
};

ClusterDashboard::ClusterDashboard(DashboardOptions options) : impl_(std::make_unique<Impl>()) {
    check_options(options);
    Impl& d = *impl_;
    d.options = std::move(options);
    d.model = std::make_shared<Model>(d.options.task_stream_capacity);
    d.model->set_cluster(true);
    d.wall_offset = wall_now_ns() - d.model->now_ns();
    d.system->sample(0);
    d.server = std::make_unique<Server>(d.model, [&d] { d.drain(); }, d.system, d.hub);
    d.port = d.server->start(d.options.host, d.options.port);
    d.url = dashboard_url(d.options.host, d.port);
    d.ticker = std::thread([&d] { d.tick_loop(); });
    if (d.options.print_url) fmt::print(stderr, "Tessera dashboard: {}\n", d.url);
}

ClusterDashboard::~ClusterDashboard() {
    Impl& d = *impl_;
    {
        std::lock_guard lock(d.mutex);
        d.stopping = true;
    }
    d.wake.notify_all();
    if (d.ticker.joinable()) d.ticker.join();
    d.server->stop();
}

void ClusterDashboard::publish(ClusterBatch&& batch) {
    if (batch.empty()) return;
    std::lock_guard lock(impl_->queue_mutex);
    impl_->queue.push_back(std::move(batch));
}

void ClusterDashboard::drain() { impl_->drain(); }

std::string ClusterDashboard::url() const { return impl_->url; }
int ClusterDashboard::port() const { return impl_->port; }

}  // namespace tessera::dashboard
