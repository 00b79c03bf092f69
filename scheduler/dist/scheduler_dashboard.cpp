// What the scheduler records for its dashboard (see SchedulerState::collect_dashboard_events):
// plain values appended on the scheduler's thread, handed to dashboard::ClusterDashboard once per
// loop turn.

#include <algorithm>
#include <numeric>

#include "scheduler/dist/scheduler_state.hpp"

namespace tessera::dist {

namespace {

dashboard::TaskState shown(TState state) {
    switch (state) {
        case TState::Waiting:
        case TState::Ready: return dashboard::TaskState::Waiting;
        case TState::Processing: return dashboard::TaskState::Processing;
        case TState::Memory: return dashboard::TaskState::Memory;
        case TState::Released: return dashboard::TaskState::Released;
        case TState::Erred: return dashboard::TaskState::Erred;
    }
    return dashboard::TaskState::Waiting;
}

}  // namespace

void SchedulerState::note(const RunState& run, std::int64_t pos) {
    if (!dash_on_) return;
    const TaskState& t = run.tasks[static_cast<std::size_t>(pos)];
    const dashboard::TaskState state = shown(t.state);
    dash_.changes.push_back({.run = run.id,
                             .pos = pos,
                             .state = state,
                             .bytes = state == dashboard::TaskState::Memory ? t.nbytes : 0});
}

void SchedulerState::note_run_begin(const RunState& run) {
    if (!dash_on_) return;
    dash_announced_[run.id] = run.tasks.size();
    dashboard::ClusterRunBegin begin;
    begin.run = run.id;
    begin.label = run.futures ? "futures" : "distributed";
    begin.n_threads = std::accumulate(workers_.begin(), workers_.end(), 0,
                                      [](int sum, const auto& w) { return sum + w.second.nthreads; });
    begin.started_at = std::chrono::system_clock::now();
    const std::size_t n = run.tasks.size();
    begin.groups.reserve(n);
    begin.dep_offsets.reserve(n + 1);
    begin.dep_offsets.push_back(0);
    const bool small = static_cast<std::int64_t>(n) <= dashboard::kMaxGraphNodes;
    if (small) begin.keys.reserve(n);
    for (const TaskState& t : run.tasks) {
        begin.groups.push_back(t.key.group());
        begin.deps.insert(begin.deps.end(), t.deps.begin(), t.deps.end());
        begin.dep_offsets.push_back(static_cast<std::int64_t>(begin.deps.size()));
        if (small) begin.keys.push_back(t.key.str());
    }
    dash_.runs_begun.push_back(std::move(begin));
}

void SchedulerState::note_execution(const RunState& run, std::int64_t pos, const WorkerState& worker,
                                    const DoneItem& item) {
    if (!dash_on_) return;
    const Key& key = run.tasks[static_cast<std::size_t>(pos)].key;
    dashboard::ClusterTaskRun e;
    e.run = run.id;
    e.pos = pos;
    e.worker = worker.id;
    e.thread = item.thread;
    e.start_wall_ns = item.start_ns;
    e.stop_wall_ns = item.stop_ns;
    e.bytes = item.status == DoneItem::Status::Ok ? item.nbytes : 0;
    e.failed = item.status != DoneItem::Status::Ok;
    e.name = key.name();
    e.group = key.group();
    const auto& index = key.index();
    e.ndim = static_cast<std::int8_t>(std::min<std::size_t>(index.size(), 4));
    std::copy_n(index.begin(), e.ndim, e.index);
    if (index.size() > 4) e.key_text = key.str();
    dash_.executions.push_back(std::move(e));
}

void SchedulerState::note_error(const RunState& run, const Key* key, const std::string& kind,
                                const std::string& message) {
    if (!dash_on_) return;
    dashboard::ClusterTaskError e;
    e.run = run.id;
    if (key != nullptr) {
        e.key = key->str();
        e.group = std::string(key->group());
    }
    e.message = kind.empty() ? message : kind + ": " + message;
    dash_.errors.push_back(std::move(e));
}

dashboard::ClusterBatch SchedulerState::take_dashboard_events() {
    // A client's futures run grows as it submits: announce it once, then its new tasks. Before
    // the batch goes out, so that the run and its tasks are applied before their changes.
    for (const auto& [id, run] : runs_) {
        if (!run.futures || !dash_on_) continue;
        auto it = dash_announced_.find(id);
        if (it == dash_announced_.end()) {
            RunState empty;
            empty.id = id;
            empty.futures = true;
            note_run_begin(empty);
            it = dash_announced_.find(id);
        }
        std::size_t& announced = it->second;
        if (announced >= run.tasks.size()) continue;
        dashboard::ClusterTasksAdded added;
        added.run = id;
        added.dep_offsets.push_back(0);
        for (std::size_t pos = announced; pos < run.tasks.size(); ++pos) {
            const TaskState& t = run.tasks[pos];
            added.groups.push_back(t.key.group());
            added.deps.insert(added.deps.end(), t.deps.begin(), t.deps.end());
            added.dep_offsets.push_back(static_cast<std::int64_t>(added.deps.size()));
        }
        announced = run.tasks.size();
        dash_.tasks_added.push_back(std::move(added));
    }
    return std::exchange(dash_, {});
}

}  // namespace tessera::dist
