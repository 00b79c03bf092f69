// The dashboard's state model: runs with their task groups, the task stream ring, errors,
// workers and cumulative totals.

#include "dashboard/model.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tessera::dashboard {

StateCounts& StateCounts::operator+=(const StateCounts& o) {
    total += o.total;
    waiting += o.waiting;
    processing += o.processing;
    memory += o.memory;
    released += o.released;
    erred += o.erred;
    return *this;
}

StateCounts GroupStats::counts(bool run_ended) const {
    if (exact) {
        StateCounts c = state;
        c.total = total;
        c.waiting = std::max<std::int64_t>(0, total - c.processing - c.memory - c.released - c.erred);
        return c;
    }
    StateCounts c;
    c.total = total;
    c.erred = std::min(n_failed, total);
    c.released = std::min(n_released, n_finished);
    c.memory = n_finished - c.released;
    c.processing = run_ended ? 0 : std::max<std::int64_t>(0, n_queued - n_finished - n_failed);
    // Clamp so the states always add up to the total, whatever order events were drained in.
    std::int64_t room = total - c.erred;
    c.released = std::min(c.released, room);
    room -= c.released;
    c.memory = std::min(c.memory, room);
    room -= c.memory;
    c.processing = std::min(c.processing, room);
    c.waiting = room - c.processing;
    return c;
}

std::string_view to_string(TaskState state) {
    switch (state) {
        case TaskState::Waiting: return "waiting";
        case TaskState::Processing: return "processing";
        case TaskState::Memory: return "memory";
        case TaskState::Released: return "released";
        case TaskState::Erred: return "erred";
    }
    return "waiting";
}

std::int32_t RunRecord::find_group(std::string_view name) const {
    const auto it = group_index.find(std::string(name));
    return it == group_index.end() ? -1 : it->second;
}

StateCounts RunRecord::totals() const {
    StateCounts sum;
    for (const GroupStats& g : groups) sum += g.counts(ended());
    return sum;
}

std::string key_text(std::string_view name, const std::int64_t* index, int ndim) {
    if (ndim <= 0) return fmt::format("'{}'", name);
    std::string out = fmt::format("('{}'", name);
    for (int d = 0; d < ndim; ++d) fmt::format_to(std::back_inserter(out), ", {}", index[d]);
    out += ')';
    return out;
}

std::string StreamRecord::key() const {
    if (!key_text.empty() || name.empty()) return key_text;
    return dashboard::key_text(name, index, ndim);
}

Model::Model(std::int64_t stream_capacity)
    : origin_(std::chrono::steady_clock::now()) {
    stream_.reserve(static_cast<std::size_t>(std::max<std::int64_t>(1, std::min<std::int64_t>(stream_capacity, 4096))));
    stream_capacity_ = std::max<std::int64_t>(1, stream_capacity);
}

std::int64_t Model::now_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - origin_)
        .count();
}

RunRecord& Model::begin_run(RunMeta meta) {
    auto run = std::make_unique<RunRecord>();
    run->groups.reserve(meta.groups.size());
    for (const auto& [name, count] : meta.groups) {
        run->group_index.emplace(name, static_cast<std::int32_t>(run->groups.size()));
        GroupStats g;
        g.name = name;
        g.total = count;
        g.version = version_;
        run->groups.push_back(std::move(g));
    }
    run->meta = std::move(meta);
    run->version = version_;
    runs_.push_back(std::move(run));
    // Forget the oldest finished runs; running ones stay whatever their age.
    while (runs_.size() > kMaxRuns) {
        auto it = std::find_if(runs_.begin(), runs_.end(), [](const auto& r) { return r->ended(); });
        if (it == runs_.end()) break;
        runs_.erase(it);
    }
    return *runs_.back();
}

void Model::end_run(RunRecord& run, std::int64_t end_ns, bool failed, std::int64_t n_finished) {
    run.end_ns = std::max<std::int64_t>(end_ns, run.meta.start_ns);
    run.failed = failed;
    run.n_finished = n_finished;
    run.version = version_;
    for (GroupStats& g : run.groups) {
        g.version = version_;
        if (g.exact) g.state.processing = 0;  // cancelled with the run
    }
    if (run.meta.detail)
        for (TaskState& s : run.meta.detail->state)
            if (s == TaskState::Processing) s = TaskState::Waiting;
    ++(failed ? runs_failed_ : runs_finished_);
    // Locally, nothing runs on the threads of a run that has ended.
    if (!cluster_ && !workers_.empty())
        for (ThreadSlot& slot : workers_.front().threads) slot.busy = false;
}

void Model::task_event(RunRecord& run, std::int32_t group, std::int64_t task, TaskEvent::Kind kind,
                       std::int64_t bytes) {
    ++event_totals_[static_cast<int>(kind)];
    if (group < 0) return;
    GroupStats& g = run.groups[static_cast<std::size_t>(group)];
    g.version = version_;
    TaskState next = TaskState::Waiting;
    switch (kind) {
        case TaskEvent::Kind::Queued:
            ++g.n_queued;
            next = TaskState::Processing;
            break;
        case TaskEvent::Kind::Started:
            ++g.n_started;
            next = TaskState::Processing;
            break;
        case TaskEvent::Kind::Finished:
            ++g.n_finished;
            g.bytes_finished += bytes;
            next = TaskState::Memory;
            break;
        case TaskEvent::Kind::Released:
            ++g.n_released;
            g.bytes_released += bytes;
            next = TaskState::Released;
            break;
        case TaskEvent::Kind::Failed:
            ++g.n_failed;
            next = TaskState::Erred;
            break;
    }
    // States only move forward, so out-of-order draining cannot move a task back.
    if (task >= 0 && run.meta.detail) {
        TaskState& s = run.meta.detail->state[static_cast<std::size_t>(task)];
        if (static_cast<int>(next) > static_cast<int>(s)) s = next;
    }
}

void Model::transition(RunRecord& run, std::int32_t group, std::int64_t task, TaskState from, TaskState to,
                       std::int64_t old_bytes, std::int64_t bytes) {
    switch (to) {
        case TaskState::Processing: ++event_totals_[static_cast<int>(TaskEvent::Kind::Queued)]; break;
        case TaskState::Memory: ++event_totals_[static_cast<int>(TaskEvent::Kind::Finished)]; break;
        case TaskState::Released: ++event_totals_[static_cast<int>(TaskEvent::Kind::Released)]; break;
        case TaskState::Erred: ++event_totals_[static_cast<int>(TaskEvent::Kind::Failed)]; break;
        case TaskState::Waiting: break;
    }
    if (task >= 0 && run.meta.detail && static_cast<std::size_t>(task) < run.meta.detail->state.size())
        run.meta.detail->state[static_cast<std::size_t>(task)] = to;
    if (group < 0) return;
    GroupStats& g = run.groups[static_cast<std::size_t>(group)];
    g.version = version_;
    auto slot = [&g](TaskState s) -> std::int64_t* {
        switch (s) {
            case TaskState::Processing: return &g.state.processing;
            case TaskState::Memory: return &g.state.memory;
            case TaskState::Released: return &g.state.released;
            case TaskState::Erred: return &g.state.erred;
            case TaskState::Waiting: return nullptr;
        }
        return nullptr;
    };
    if (std::int64_t* n = slot(from)) *n = std::max<std::int64_t>(0, *n - 1);
    if (std::int64_t* n = slot(to)) ++*n;
    if (from == TaskState::Memory) g.bytes_released += old_bytes;
    if (to == TaskState::Memory) {
        g.bytes_finished += bytes;
        ++g.n_finished;
    }
    if (to == TaskState::Released) ++g.n_released;
    if (to == TaskState::Erred) ++g.n_failed;
}

void Model::add_stream(RunRecord& run, std::int32_t group, StreamRecord record) {
    const std::int64_t duration = std::max<std::int64_t>(0, record.stop_ns - record.start_ns);
    if (group >= 0) run.groups[static_cast<std::size_t>(group)].compute_ns += duration;
    auto it = profile_.find(record.group_name());
    if (it == profile_.end()) it = profile_.emplace(std::string(record.group_name()), ProfileEntry{}).first;
    ProfileEntry& p = it->second;
    ++(record.failed ? p.n_failed : p.n_finished);
    p.compute_ns += duration;
    p.max_ns = std::max(p.max_ns, duration);
    p.bytes += record.bytes;

    record.seq = next_seq_++;
    if (static_cast<std::int64_t>(stream_.size()) < stream_capacity_)
        stream_.push_back(std::move(record));
    else
        stream_[static_cast<std::size_t>(record.seq % stream_capacity_)] = std::move(record);
}

void Model::add_error(TaskErrorInfo error) {
    error.seq = next_error_seq_++;
    errors_.push_back(std::move(error));
    while (errors_.size() > kMaxErrors) errors_.pop_front();
}

std::int32_t Model::upsert_worker(WorkerInfo worker) {
    for (std::size_t w = 0; w < workers_.size(); ++w) {
        if (workers_[w].id == worker.id) {
            workers_[w] = std::move(worker);
            return static_cast<std::int32_t>(w);
        }
    }
    workers_.push_back(std::move(worker));
    return static_cast<std::int32_t>(workers_.size() - 1);
}

RunRecord* Model::find_run(std::int64_t id) {
    for (auto& run : runs_)
        if (run->meta.id == id) return run.get();
    return nullptr;
}

const RunRecord* Model::find_run(std::int64_t id) const {
    for (const auto& run : runs_)
        if (run->meta.id == id) return run.get();
    return nullptr;
}

std::int64_t Model::active_runs() const {
    return std::count_if(runs_.begin(), runs_.end(), [](const auto& r) { return !r->ended(); });
}

std::int64_t Model::first_stream_seq() const {
    return std::max<std::int64_t>(0, next_seq_ - static_cast<std::int64_t>(stream_.size()));
}

std::vector<StreamRecord> Model::stream_since(std::int64_t since, std::int64_t limit,
                                              std::int64_t* dropped) const {
    const std::int64_t first = first_stream_seq();
    if (dropped != nullptr) *dropped = since < first ? first - since : 0;
    std::vector<StreamRecord> out;
    const std::int64_t begin = std::max(since, first);
    const std::int64_t end = std::min(next_seq_, begin + std::max<std::int64_t>(0, limit));
    if (end <= begin) return out;
    out.reserve(static_cast<std::size_t>(end - begin));
    for (std::int64_t seq = begin; seq < end; ++seq)
        out.push_back(stream_[static_cast<std::size_t>(seq % stream_capacity_)]);
    return out;
}

}  // namespace tessera::dashboard
