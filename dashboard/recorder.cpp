// The Observer of local runs: per-thread event logs on the hot path, aggregation into the model
// off it.

#include "dashboard/recorder.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>

#include <fmt/format.h>

namespace tessera::dashboard {
namespace {

using Kind = TaskEvent::Kind;

std::atomic<std::uint64_t> g_next_recorder_id{1};

// A thread's logs, by recorder id: a few slots so that two live dashboards do not evict each other.
struct TlsEntry {
    std::uint64_t owner = 0;
    ThreadLog* log = nullptr;
};
constexpr int kTlsSlots = 4;
// initial-exec: a direct offset from the thread pointer instead of a __tls_get_addr call per event
// (the library is linked, not dlopen'ed late, so static TLS is available).
#if defined(__GNUC__)
#define TESSERA_FAST_TLS __attribute__((tls_model("initial-exec")))
#else
#define TESSERA_FAST_TLS
#endif
thread_local TlsEntry tls_entries[kTlsSlots] TESSERA_FAST_TLS;
thread_local unsigned tls_next TESSERA_FAST_TLS = 0;

// The graph of a run when RunInfo carries one (an additive `const Graph* graph` field that is
// valid until on_run_end); nullptr with a RunInfo that has no such field.
template <class Info>
const Graph* graph_of(const Info& info) {
    if constexpr (requires { info.graph; }) {
        return info.graph;
    } else {
        return nullptr;
    }
}

std::string host_name() {
    char buffer[256] = {};
    if (::gethostname(buffer, sizeof buffer - 1) != 0) return "localhost";
    return buffer;
}

// Group-level edges and, for small graphs, the per-task detail. Group lookups go through the
// key's interned name id, so this is one hash lookup per distinct name, not per task.
void describe_graph(const Graph& graph, RunMeta& meta,
                    const std::unordered_map<std::string, std::int32_t>& group_index) {
    // Groups are interned (one address per group): cache by that address.
    std::unordered_map<const char*, std::int32_t> group_by_ptr;
    const char* last_ptr = nullptr;
    std::int32_t last_group = -1;
    auto group_of = [&](const Key& key) -> std::int32_t {
        const std::string_view group = key.group();
        if (group.data() == last_ptr) return last_group;
        auto it = group_by_ptr.find(group.data());
        if (it == group_by_ptr.end()) {
            const auto found = group_index.find(std::string(group));
            it = group_by_ptr.emplace(group.data(), found == group_index.end() ? -1 : found->second).first;
        }
        last_ptr = group.data();
        last_group = it->second;
        return it->second;
    };

    const auto& tasks = graph.tasks();
    std::set<std::pair<std::int32_t, std::int32_t>> group_edges;
    for (const Task& task : tasks) {
        if (task.deps.empty()) continue;
        const std::int32_t to = group_of(task.key);
        std::int32_t previous_from = -2;
        for (const Key& dep : task.deps) {
            const std::int32_t from = group_of(dep);
            if (from == previous_from) continue;
            previous_from = from;
            if (from >= 0 && to >= 0 && from != to) group_edges.emplace(from, to);
        }
    }
    meta.group_edges.assign(group_edges.begin(), group_edges.end());

    const auto n = static_cast<std::int64_t>(tasks.size());
    if (n == 0 || n > kMaxGraphNodes) return;
    GraphDetail detail;
    detail.keys.reserve(tasks.size());
    detail.group.reserve(tasks.size());
    detail.state.assign(tasks.size(), TaskState::Waiting);
    detail.depth.assign(tasks.size(), 0);
    std::vector<std::vector<std::int32_t>> deps(tasks.size());
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        detail.keys.push_back(tasks[t].key.str());
        detail.group.push_back(group_of(tasks[t].key));
        std::vector<std::int32_t>& d = deps[t];
        for (const Key& dep : tasks[t].deps) {
            const std::int64_t position = graph.find(dep);
            if (position >= 0) d.push_back(static_cast<std::int32_t>(position));
        }
        std::sort(d.begin(), d.end());
        d.erase(std::unique(d.begin(), d.end()), d.end());
        for (std::int32_t from : d) detail.edges.emplace_back(from, static_cast<std::int32_t>(t));
    }
    try {
        for (std::int64_t t : graph.topological_order()) {
            std::int32_t depth = 0;
            for (std::int32_t from : deps[static_cast<std::size_t>(t)])
                depth = std::max(depth, detail.depth[static_cast<std::size_t>(from)] + 1);
            detail.depth[static_cast<std::size_t>(t)] = depth;
        }
    } catch (...) {
        // A graph the scheduler accepted has no cycle; without an order all depths stay 0.
    }
    meta.detail = std::move(detail);
}

}  // namespace

std::int32_t Recorder::ActiveRun::group_of(const EventRecord& r) {
    if (r.group == last_group_ptr) return last_group;
    last_group_ptr = r.group;
    last_group = lookup_group(r);
    return last_group;
}

std::int32_t Recorder::ActiveRun::lookup_group(const EventRecord& r) {
    const auto it = group_by_ptr.find(r.group);
    if (it != group_by_ptr.end()) return it->second;
    const std::int32_t group = record->find_group(std::string_view(r.group, r.group_len));
    group_by_ptr.emplace(r.group, group);
    return group;
}

bool Recorder::ActiveRun::owns(const Key* key) const {
    const auto address = reinterpret_cast<std::uintptr_t>(key);
    return stride != 0 && address >= key_begin && address < key_end && (address - key_begin) % stride == 0;
}

std::int64_t Recorder::ActiveRun::position_of(const Key* key) const {
    if (!record->meta.detail || !owns(key)) return -1;
    return static_cast<std::int64_t>((reinterpret_cast<std::uintptr_t>(key) - key_begin) / stride);
}

Recorder::Recorder(std::shared_ptr<Model> model)
    : id_(g_next_recorder_id.fetch_add(1, std::memory_order_relaxed)), model_(std::move(model)) {}

Recorder::~Recorder() = default;

ThreadLog& Recorder::local_log() {
    for (TlsEntry& entry : tls_entries)
        if (entry.owner == id_) return *entry.log;
    return register_thread();
}

ThreadLog& Recorder::register_thread() {
    std::lock_guard lock(logs_mutex_);
    ThreadLog*& log = by_thread_[std::this_thread::get_id()];
    if (log == nullptr) {
        logs_.push_back(std::make_unique<ThreadLog>(pool_));
        log = logs_.back().get();
    }
    tls_entries[tls_next++ % kTlsSlots] = TlsEntry{id_, log};
    return *log;
}

void Recorder::on_run_start(const RunInfo& info) {
    try {
        start_run(info, graph_of(info));
    } catch (...) {
        // Observers must not throw; the run is simply not shown.
    }
}

void Recorder::start_run(const RunInfo& info, const Graph* graph) {
    RunMeta meta;
    meta.id = info.run_id;
    meta.scheduler = info.scheduler;
    meta.n_threads = std::max(1, info.n_threads);
    meta.n_tasks = info.n_tasks;
    meta.groups = info.groups;
    meta.started_at = info.started_at;
    meta.start_ns = model_->now_ns();
    auto active = std::make_unique<ActiveRun>();
    active->offset_ns = meta.start_ns;
    if (graph != nullptr && !graph->empty()) {
        std::unordered_map<std::string, std::int32_t> group_index;
        for (std::size_t g = 0; g < meta.groups.size(); ++g)
            group_index.emplace(meta.groups[g].first, static_cast<std::int32_t>(g));
        describe_graph(*graph, meta, group_index);
        const auto& tasks = graph->tasks();
        active->key_begin = reinterpret_cast<std::uintptr_t>(&tasks.front().key);
        active->stride = sizeof(Task);
        active->key_end = active->key_begin + active->stride * tasks.size();
    }
    std::lock_guard drain_lock(drain_mutex_);
    auto model_lock = model_->lock();
    ensure_local_worker(meta.n_threads);
    active->record = &model_->begin_run(std::move(meta));
    model_->bump();
    active_.push_back(std::move(active));
}

void Recorder::on_task(const TaskEvent& event) {
    local_log().push(EventRecord{event.key, event.group.data(), static_cast<std::uint32_t>(event.group.size()),
                                 static_cast<std::int16_t>(event.thread), static_cast<std::uint8_t>(event.kind),
                                 event.time_ns, event.bytes});
    if (event.kind == Kind::Failed) {
        try {
            std::lock_guard lock(errors_mutex_);
            pending_errors_[event.key] = std::string(event.error);
        } catch (...) {
        }
    }
}

void Recorder::on_run_end(const RunSummary& summary) {
    try {
        std::lock_guard drain_lock(drain_mutex_);
        auto model_lock = model_->lock();
        drain_locked();
        auto it = std::find_if(active_.begin(), active_.end(),
                               [&](const auto& a) { return a->record->meta.id == summary.run_id; });
        if (it == active_.end()) return;
        ActiveRun& run = **it;
        const std::int64_t end_ns = run.offset_ns + static_cast<std::int64_t>(summary.seconds * 1e9);
        model_->end_run(*run.record, end_ns, summary.failed, summary.n_finished);
        // Keys of this run die with its graph: forget any pairing that points into it.
        for (ThreadLog* log : drain_list_)
            if (log->open_key != nullptr && (run.owns(log->open_key) || active_.size() == 1))
                log->open_key = nullptr;
        active_.erase(it);
        model_->bump();
    } catch (...) {
    }
}

void Recorder::drain() {
    try {
        std::lock_guard drain_lock(drain_mutex_);
        auto model_lock = model_->lock();
        drain_locked();
    } catch (...) {
    }
}

void Recorder::drain_locked() {
    {
        std::lock_guard lock(logs_mutex_);
        drain_list_.clear();
        for (const auto& log : logs_) drain_list_.push_back(log.get());
    }
    std::int64_t n = 0;
    for (ThreadLog* log : drain_list_) n += log->drain([&](const EventRecord& r) { apply(r, *log); });
    if (n > 0) model_->bump();
}

Recorder::ActiveRun* Recorder::resolve_run(const EventRecord& r) {
    if (active_.size() == 1) return active_.front().get();
    for (auto& run : active_)
        if (run->owns(r.key)) return run.get();
    // Without graph addresses: the latest run that has this group.
    for (auto it = active_.rbegin(); it != active_.rend(); ++it)
        if ((*it)->stride == 0 && (*it)->group_of(r) >= 0) return it->get();
    return nullptr;
}

void Recorder::ensure_local_worker(int n_threads) {
    if (local_worker_ < 0) {
        WorkerInfo worker;
        worker.id = kLocalWorker;
        worker.host = host_name();
        worker.pid = static_cast<std::int64_t>(::getpid());
        worker.name = fmt::format("local (pid {})", worker.pid);
        worker.address = fmt::format("inproc://{}/{}", worker.host, worker.pid);
        local_worker_ = model_->upsert_worker(std::move(worker));
    }
    WorkerInfo& worker = model_->worker(local_worker_);
    if (static_cast<int>(worker.threads.size()) < n_threads)
        worker.threads.resize(static_cast<std::size_t>(n_threads));
}

void Recorder::apply(const EventRecord& r, ThreadLog& log) {
    ActiveRun* run = resolve_run(r);
    if (run == nullptr) {
        ++n_unmatched_;
        return;
    }
    const auto kind = static_cast<Kind>(r.kind);
    const std::int32_t group = run->group_of(r);
    model_->task_event(*run->record, group, run->position_of(r.key), kind, r.bytes);

    WorkerInfo& worker = model_->worker(local_worker_);
    ThreadSlot* slot = nullptr;
    if (r.thread >= 0) {
        if (static_cast<std::size_t>(r.thread) >= worker.threads.size())
            worker.threads.resize(static_cast<std::size_t>(r.thread) + 1);
        slot = &worker.threads[static_cast<std::size_t>(r.thread)];
    }
    const std::string_view name = r.key->name();
    const auto& index = r.key->index();
    const auto ndim = static_cast<std::int8_t>(std::min<std::size_t>(index.size(), 4));
    if (kind == Kind::Started) {
        log.open_key = r.key;
        log.open_start_ns = r.time_ns;
        if (slot != nullptr) {
            slot->busy = true;
            slot->name = name;
            slot->ndim = ndim;
            std::copy_n(index.begin(), ndim, slot->index);
            slot->since_ns = run->offset_ns + r.time_ns;
        }
        return;
    }
    if (kind != Kind::Finished && kind != Kind::Failed) return;

    const std::int64_t start = log.open_key == r.key ? log.open_start_ns : r.time_ns;
    log.open_key = nullptr;
    StreamRecord record;
    record.run_id = run->record->meta.id;
    record.name = name;
    record.group = std::string_view(r.group, r.group_len);
    record.ndim = ndim;
    std::copy_n(index.begin(), ndim, record.index);
    if (index.size() > 4) record.key_text = r.key->str();
    record.failed = kind == Kind::Failed;
    record.worker = local_worker_;
    record.thread = std::max<std::int32_t>(0, r.thread);
    record.start_ns = run->offset_ns + start;
    record.stop_ns = run->offset_ns + r.time_ns;
    record.bytes = r.bytes;
    if (slot != nullptr) {
        slot->busy = false;
        ++slot->n_tasks;
        slot->busy_ns += record.stop_ns - record.start_ns;
    }
    if (kind == Kind::Finished) {
        ++worker.n_finished;
    } else {
        TaskErrorInfo error;
        error.run_id = record.run_id;
        error.key = r.key->str();
        error.group = std::string(record.group);
        error.time_ns = record.stop_ns;
        {
            std::lock_guard lock(errors_mutex_);
            auto it = pending_errors_.find(r.key);
            if (it != pending_errors_.end()) {
                error.message = std::move(it->second);
                pending_errors_.erase(it);
            }
        }
        model_->add_error(std::move(error));
    }
    model_->add_stream(*run->record, group, std::move(record));
}

}  // namespace tessera::dashboard
