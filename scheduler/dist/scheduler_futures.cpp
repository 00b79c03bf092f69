// The futures API in the scheduler's state (see scheduler_state.hpp).
//
// Each client has one "futures run" that grows as it submits: a task's position never changes,
// so the ordinary transitions (placement, release, lineage recompute after a worker loss) apply
// unchanged. A task a client Future refers to is `held`: it stays in memory until the client
// releases its key. A failed task does not fail the run: it and the tasks depending on it are
// Erred, and the client hears about the held ones.

#include <algorithm>

#include <fmt/format.h>

#include "scheduler/dist/scheduler_state.hpp"

namespace tessera::dist {

namespace {
constexpr std::string_view kConstantOp = "tessera.constant";
}

void SchedulerState::notify(RunState& run, const TaskState& t, FutureStatusItem::Status status) {
    ClientState* c = client(run.client);
    if (!c) return;
    FutureStatusItem item;
    item.key = t.key;
    item.status = status;
    item.nbytes = t.nbytes;
    if (status != FutureStatusItem::Status::Finished) {
        item.error_kind = t.error_kind;
        item.error_message = t.error_message;
        item.origin = t.error_origin;
    }
    c->status_out.push_back(std::move(item));
}

void SchedulerState::fail_task(RunState& run, std::int64_t pos, const std::string& kind,
                               const std::string& message, const Key& origin,
                               FutureStatusItem::Status status) {
    std::vector<std::int64_t> stack{pos}, failed;
    while (!stack.empty()) {
        const std::int64_t x = stack.back();
        stack.pop_back();
        TaskState& t = run.tasks[static_cast<std::size_t>(x)];
        if (t.state == TState::Memory || t.state == TState::Erred) continue;
        if (t.state == TState::Ready) ready_.erase({run.id, t.priority, x});
        // A Processing task stays in its worker's processing set; its report is then dropped.
        t.state = TState::Erred;
        note(run, x);
        t.error_kind = kind;
        t.error_message = message;
        t.error_origin = origin;
        if (t.held) notify(run, t, status);
        failed.push_back(x);
        for (std::int64_t u : t.dependents) stack.push_back(u);
    }
    for (std::int64_t x : failed)
        for (std::int64_t d : run.tasks[static_cast<std::size_t>(x)].deps) maybe_release(run, d);
}

void SchedulerState::forget(RunState& run, std::int64_t pos) {
    std::vector<std::int64_t> stack{pos};
    while (!stack.empty()) {
        const std::int64_t x = stack.back();
        stack.pop_back();
        TaskState& t = run.tasks[static_cast<std::size_t>(x)];
        if (t.held) continue;
        if (t.state == TState::Memory) {
            maybe_release(run, x);
            continue;
        }
        if (t.state != TState::Waiting && t.state != TState::Ready && t.state != TState::Processing) continue;
        const bool needed = std::any_of(t.dependents.begin(), t.dependents.end(), [&](std::int64_t u) {
            const TState s = run.tasks[static_cast<std::size_t>(u)].state;
            return s == TState::Waiting || s == TState::Ready || s == TState::Processing;
        });
        if (needed) continue;
        if (t.state == TState::Ready) ready_.erase({run.id, t.priority, x});
        t.state = TState::Released;
        note(run, x);
        for (std::int64_t d : t.deps) stack.push_back(d);
    }
}

void SchedulerState::future_submit(const std::string& client_identity, std::vector<FutureSpec>&& specs) {
    ClientState* c = client(client_identity);
    if (!c) return;
    if (c->futures_run == 0 || !runs_.contains(c->futures_run)) {
        RunState fresh;
        fresh.id = next_run_id_++;
        fresh.client = client_identity;
        fresh.futures = true;
        c->futures_run = fresh.id;
        c->runs.insert(fresh.id);
        c->future_keys.clear();
        runs_.emplace(fresh.id, std::move(fresh));
    }
    RunState& run = runs_.at(c->futures_run);
    for (FutureSpec& spec : specs) {
        if (auto it = c->future_keys.find(spec.key); it != c->future_keys.end()) {
            TaskState& old = run.tasks[static_cast<std::size_t>(it->second)];
            if (old.state != TState::Released && (old.state != TState::Erred || old.held)) {
                old.held |= spec.held;  // the same computation, still alive
                continue;
            }
        }
        const auto pos = static_cast<std::int64_t>(run.tasks.size());
        run.tasks.emplace_back();
        TaskState& t = run.tasks.back();
        t.key = spec.key;
        t.op = std::move(spec.op);
        t.params = std::move(spec.params);
        t.priority = spec.priority;
        t.held = spec.held;
        t.broadcast = spec.broadcast;
        t.constant = std::move(spec.constant);
        c->future_keys[spec.key] = pos;

        std::string problem;
        for (const Key& dep : spec.deps) {
            auto it = c->future_keys.find(dep);
            if (it == c->future_keys.end() || it->second == pos) {
                problem = fmt::format("dependency {} of task {} is not a future of this client", dep.str(), t.key.str());
                break;
            }
            t.deps.push_back(it->second);
        }
        if (problem.empty() && t.op == kConstantOp && !t.constant)
            problem = fmt::format("constant task {} has no value", t.key.str());
        if (problem.empty() && t.op != kConstantOp && !workers_.empty() &&
            std::none_of(workers_.begin(), workers_.end(), [&](const auto& w) { return w.second.ops.contains(t.op); }))
            problem = fmt::format("operation '{}' of task {} is not registered on any worker", t.op, t.key.str());
        if (!problem.empty()) {
            t.deps.clear();
            const Key key = t.key;
            fail_task(run, pos, "GraphError", problem, key, FutureStatusItem::Status::Error);
            continue;
        }
        for (std::int64_t d : t.deps) run.tasks[static_cast<std::size_t>(d)].dependents.push_back(pos);

        // An erred input fails the task at once; a released one is recomputed from its lineage.
        const TaskState* erred = nullptr;
        for (std::int64_t d : run.tasks[static_cast<std::size_t>(pos)].deps) {
            const TaskState& dep = run.tasks[static_cast<std::size_t>(d)];
            if (dep.state == TState::Erred) erred = &dep;
        }
        if (erred) {
            const std::string kind = erred->error_kind, message = erred->error_message;
            const Key origin = erred->error_origin;
            const auto status = kind == "CancelledError" ? FutureStatusItem::Status::Cancelled
                                                         : FutureStatusItem::Status::Error;
            fail_task(run, pos, kind, message, origin, status);
            continue;
        }
        const std::vector<std::int64_t> deps = run.tasks[static_cast<std::size_t>(pos)].deps;
        for (std::int64_t d : deps)
            if (run.tasks[static_cast<std::size_t>(d)].state == TState::Released) need(run, d);
        recount(run, pos);
        if (run.tasks[static_cast<std::size_t>(pos)].n_missing == 0) make_ready(run, pos);
    }
}

void SchedulerState::future_release(const std::string& client_identity, const std::vector<Key>& keys) {
    ClientState* c = client(client_identity);
    if (!c || !runs_.contains(c->futures_run)) return;
    RunState& run = runs_.at(c->futures_run);
    for (const Key& key : keys) {
        auto it = c->future_keys.find(key);
        if (it == c->future_keys.end()) continue;
        const std::int64_t pos = it->second;
        TaskState& t = run.tasks[static_cast<std::size_t>(pos)];
        t.held = false;
        c->future_keys.erase(it);
        forget(run, pos);
    }
}

void SchedulerState::future_cancel(const std::string& client_identity, const std::vector<Key>& keys) {
    ClientState* c = client(client_identity);
    if (!c || !runs_.contains(c->futures_run)) return;
    RunState& run = runs_.at(c->futures_run);
    for (const Key& key : keys) {
        auto it = c->future_keys.find(key);
        if (it == c->future_keys.end()) continue;
        fail_task(run, it->second, "CancelledError", fmt::format("future {} was cancelled", key.str()), key,
                  FutureStatusItem::Status::Cancelled);
    }
}

std::vector<WhoHasItem> SchedulerState::who_has(const std::string& client_identity, const std::vector<Key>& keys) {
    std::vector<WhoHasItem> items(keys.size());
    ClientState* c = client(client_identity);
    if (!c || !runs_.contains(c->futures_run)) return items;
    RunState& run = runs_.at(c->futures_run);
    for (std::size_t k = 0; k < keys.size(); ++k) {
        auto it = c->future_keys.find(keys[k]);
        if (it == c->future_keys.end()) continue;
        const TaskState& t = run.tasks[static_cast<std::size_t>(it->second)];
        WhoHasItem& item = items[k];
        item.found = true;
        item.in_memory = t.state == TState::Memory;
        item.erred = t.state == TState::Erred;
        item.tid = make_tid(run.id, it->second);
        for (std::uint32_t id : t.who_has)
            if (WorkerState* w = worker_by_id(id)) item.addresses.push_back(w->address);
    }
    return items;
}

}  // namespace tessera::dist
