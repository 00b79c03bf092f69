// Task transitions of the distributed scheduler (see scheduler_state.hpp).
//
// Task states: Waiting (inputs missing) -> Ready (queued here) -> Processing (on one worker)
// -> Memory (held by who_has) -> Released (every dependent done; data dropped). A lost result
// (its workers died) goes back to Released and, when still needed, to Waiting through need(),
// which walks its lineage and recomputes whatever inputs were released or lost too.

#include "scheduler/dist/scheduler_state.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace tessera::dist {

namespace {
constexpr std::string_view kConstantOp = "tessera.constant";
constexpr int kMaxSuspicious = 3;
}  // namespace

// ----------------------------------------------------------------------------------- peers

WorkerState& SchedulerState::add_worker(const std::string& identity, Hello&& hello) {
    if (workers_.contains(identity) || clients_.contains(identity))
        throw ProtocolError("second hello from the same peer");
    if (!hello.address.starts_with("tcp://"))
        throw ProtocolError("worker address '{}' is not a tcp:// endpoint", hello.address);
    WorkerState& w = workers_[identity];
    w.id = next_worker_id_++;
    w.identity = identity;
    w.name = hello.name.empty() ? fmt::format("worker-{}", w.id) : hello.name;
    w.address = hello.address;
    w.nthreads = hello.nthreads;
    w.pid = hello.pid;
    w.memory_limit = hello.memory_limit;
    w.ops.insert(hello.ops.begin(), hello.ops.end());
    w.last_seen = Clock::now();
    worker_ids_[w.id] = identity;
    if (dash_on_)
        dash_.workers_up.push_back({.id = w.id, .name = w.name, .address = w.address, .pid = w.pid,
                                    .nthreads = w.nthreads, .memory_limit = w.memory_limit});
    return w;
}

void SchedulerState::add_client(const std::string& identity) {
    if (workers_.contains(identity) || clients_.contains(identity))
        throw ProtocolError("second hello from the same peer");
    ClientState& c = clients_[identity];
    c.identity = identity;
    c.last_seen = Clock::now();
}

WorkerState* SchedulerState::worker(const std::string& identity) {
    auto it = workers_.find(identity);
    return it == workers_.end() ? nullptr : &it->second;
}

ClientState* SchedulerState::client(const std::string& identity) {
    auto it = clients_.find(identity);
    return it == clients_.end() ? nullptr : &it->second;
}

WorkerState* SchedulerState::worker_by_id(std::uint32_t id) {
    auto it = worker_ids_.find(id);
    return it == worker_ids_.end() ? nullptr : worker(it->second);
}

RunState* SchedulerState::find_run(std::uint64_t tid, std::int64_t& pos) {
    auto it = runs_.find(static_cast<std::uint32_t>(tid >> 32));
    if (it == runs_.end()) return nullptr;
    pos = static_cast<std::int64_t>(tid & 0xffffffffu);
    if (pos >= static_cast<std::int64_t>(it->second.tasks.size())) return nullptr;
    return &it->second;
}

void SchedulerState::remove_worker(const std::string& identity) {
    auto it = workers_.find(identity);
    if (it == workers_.end()) return;
    WorkerState w = std::move(it->second);
    workers_.erase(it);
    worker_ids_.erase(w.id);
    lost_addresses_.push_back(w.address);
    if (dash_on_) dash_.workers_gone.push_back(w.id);

    std::vector<std::uint64_t> lost;
    for (std::uint64_t tid : w.has) {
        std::int64_t pos = 0;
        RunState* run = find_run(tid, pos);
        if (!run) continue;
        TaskState& t = run->tasks[static_cast<std::size_t>(pos)];
        std::erase(t.who_has, w.id);
        if (t.state == TState::Memory && t.who_has.empty()) {
            t.state = TState::Released;
            note(*run, pos);
            lost.push_back(tid);
        }
    }
    std::vector<std::uint64_t> rerun;
    for (std::uint64_t tid : w.processing) {
        std::int64_t pos = 0;
        RunState* run = find_run(tid, pos);
        if (!run) continue;
        TaskState& t = run->tasks[static_cast<std::size_t>(pos)];
        if (t.broadcast && t.state == TState::Processing) {
            if (--t.replicas_pending > 0) continue;
            if (!t.who_has.empty()) {
                memory_reached(*run, pos);
                continue;
            }
        } else if (t.state != TState::Processing || t.processing_on != w.id) {
            continue;
        }
        t.state = TState::Released;
        note(*run, pos);
        if (++t.suspicious >= kMaxSuspicious) {
            const std::string message = fmt::format("task {} killed {} workers; the last one was {} ({})",
                                                    t.key.str(), t.suspicious, w.name, w.address);
            if (run->futures) {
                // No origin: the message names the task already.
                note_error(*run, &t.key, "KilledWorker", message);
                fail_task(*run, pos, "KilledWorker", message, Key(), FutureStatusItem::Status::Error);
            } else {
                fail_run(*run, "KilledWorker", message, nullptr);
            }
            continue;
        }
        rerun.push_back(tid);
    }
    for (std::uint64_t tid : lost) {
        std::int64_t pos = 0;
        if (RunState* run = find_run(tid, pos)) lose(*run, pos);
    }
    for (std::uint64_t tid : rerun) {
        std::int64_t pos = 0;
        if (RunState* run = find_run(tid, pos)) need(*run, pos);
    }
}

void SchedulerState::remove_client(const std::string& identity) {
    auto it = clients_.find(identity);
    if (it == clients_.end()) return;
    const std::set<std::uint32_t> runs = it->second.runs;
    for (std::uint32_t id : runs) drop_run(id);
    clients_.erase(identity);
}

// ---------------------------------------------------------------------------------- requests

void SchedulerState::submit(const std::string& client_identity, Submit&& submit) {
    ClientState* c = client(client_identity);
    RunState run;
    run.id = next_run_id_++;
    run.client = client_identity;
    run.client_run = submit.run;
    run.tasks.resize(submit.tasks.size());
    for (std::size_t k = 0; k < submit.tasks.size(); ++k) {
        TaskSpec& spec = submit.tasks[k];
        TaskState& t = run.tasks[k];
        t.key = std::move(spec.key);
        t.op = std::move(spec.op);
        t.params = std::move(spec.params);
        t.deps = std::move(spec.deps);
        t.priority = spec.priority;
        t.nbytes = spec.nbytes_hint;
        t.constant = std::move(spec.constant);
        t.n_missing = static_cast<std::int64_t>(t.deps.size());
        for (std::int64_t d : t.deps) run.tasks[static_cast<std::size_t>(d)].dependents.push_back(static_cast<std::int64_t>(k));
    }
    run.outputs = std::move(submit.outputs);
    for (std::int64_t o : run.outputs) {
        TaskState& t = run.tasks[static_cast<std::size_t>(o)];
        if (!t.output) ++run.n_outputs_left;
        t.output = true;
    }
    const std::uint32_t id = run.id;
    auto [it, inserted] = runs_.emplace(id, std::move(run));
    RunState& r = it->second;
    if (c) c->runs.insert(id);
    note_run_begin(r);

    // Operations: refuse what no connected worker knows (constants need none).
    if (!workers_.empty()) {
        for (const TaskState& t : r.tasks) {
            if (t.op == kConstantOp) {
                if (!t.constant) return fail_run(r, "GraphError", fmt::format("constant task {} has no value", t.key.str()), nullptr);
                continue;
            }
            const bool known = std::any_of(workers_.begin(), workers_.end(),
                                           [&](const auto& w) { return w.second.ops.contains(t.op); });
            if (!known)
                return fail_run(r, "GraphError",
                                fmt::format("operation '{}' of task {} is not registered on any worker",
                                            t.op, t.key.str()),
                                nullptr);
        }
    }
    if (r.n_outputs_left == 0) return finish_run(r);
    for (std::int64_t pos = 0; pos < static_cast<std::int64_t>(r.tasks.size()); ++pos)
        if (r.tasks[static_cast<std::size_t>(pos)].n_missing == 0) make_ready(r, pos);
}

void SchedulerState::cancel(const std::string& client_identity, std::uint64_t client_run) {
    for (auto& [id, run] : runs_) {
        if (run.client == client_identity && run.client_run == client_run) {
            drop_run(id);
            return;
        }
    }
}

void SchedulerState::task_done(WorkerState& w, DoneItem&& item) {
    w.processing.erase(item.tid);
    std::int64_t pos = 0;
    RunState* run = find_run(item.tid, pos);
    const bool ok = item.status == DoneItem::Status::Ok;
    if (!run) {
        if (ok) w.release_out.push_back(static_cast<std::int64_t>(item.tid));
        return;
    }
    TaskState& t = run->tasks[static_cast<std::size_t>(pos)];
    if (item.status != DoneItem::Status::MissingData) note_execution(*run, pos, w, item);
    if (t.broadcast && ok && t.state == TState::Processing) {
        t.who_has.push_back(w.id);
        t.nbytes = item.nbytes;
        w.has.insert(item.tid);
        if (--t.replicas_pending == 0) memory_reached(*run, pos);
        return;
    }
    if (t.state != TState::Processing || (!t.broadcast && t.processing_on != w.id)) {
        if (ok && std::find(t.who_has.begin(), t.who_has.end(), w.id) == t.who_has.end())
            w.release_out.push_back(static_cast<std::int64_t>(item.tid));
        return;
    }
    if (item.status == DoneItem::Status::Error) {
        if (run->futures) {
            const Key key = t.key;
            note_error(*run, &key, item.error_kind, item.error_message);
            return fail_task(*run, pos, item.error_kind, item.error_message, key, FutureStatusItem::Status::Error);
        }
        t.state = TState::Erred;
        note(*run, pos);
        return fail_run(*run, item.error_kind, item.error_message, &t.key);
    }
    if (item.status == DoneItem::Status::MissingData) {
        std::int64_t dep_pos = 0;
        RunState* dep_run = find_run(item.missing_tid, dep_pos);
        if (dep_run != run) throw ProtocolError("missing data {} is not in the task's run", item.missing_tid);
        TaskState& d = run->tasks[static_cast<std::size_t>(dep_pos)];
        for (const std::string& address : item.failed_addresses) {
            for (auto& [identity, other] : workers_) {
                if (other.address != address) continue;
                std::erase(d.who_has, other.id);
                if (other.has.erase(item.missing_tid)) other.release_out.push_back(static_cast<std::int64_t>(item.missing_tid));
            }
        }
        t.state = TState::Released;
        note(*run, pos);
        if (d.state == TState::Memory && d.who_has.empty()) {
            d.state = TState::Released;
            note(*run, dep_pos);
            lose(*run, dep_pos);
        }
        need(*run, pos);
        return;
    }
    t.state = TState::Memory;
    t.who_has = {w.id};
    t.nbytes = item.nbytes;
    w.has.insert(item.tid);
    if (t.output) {
        if (!item.value) throw ProtocolError("worker did not send the value of output {}", t.key.str());
        // A recomputed output (its worker died) was counted already.
        if (run->output_values.insert_or_assign(pos, std::move(*item.value)).second) --run->n_outputs_left;
    }
    memory_reached(*run, pos);
}

void SchedulerState::memory_reached(RunState& run, std::int64_t pos) {
    TaskState& t = run.tasks[static_cast<std::size_t>(pos)];
    t.state = TState::Memory;
    note(run, pos);
    if (run.futures && t.held) notify(run, t, FutureStatusItem::Status::Finished);
    for (std::int64_t u : t.dependents) {
        TaskState& dependent = run.tasks[static_cast<std::size_t>(u)];
        if (dependent.state == TState::Waiting && --dependent.n_missing == 0) make_ready(run, u);
    }
    for (std::int64_t d : t.deps) maybe_release(run, d);
    maybe_release(run, pos);
    if (!run.futures && run.n_outputs_left == 0) finish_run(run);
}

// ------------------------------------------------------------------------------- transitions

void SchedulerState::make_ready(RunState& run, std::int64_t pos) {
    TaskState& t = run.tasks[static_cast<std::size_t>(pos)];
    t.state = TState::Ready;
    ready_.emplace(run.id, t.priority, pos);
}

void SchedulerState::unready(RunState& run, std::int64_t pos) {
    TaskState& t = run.tasks[static_cast<std::size_t>(pos)];
    ready_.erase({run.id, t.priority, pos});
    t.state = TState::Waiting;
}

void SchedulerState::recount(RunState& run, std::int64_t pos) {
    TaskState& t = run.tasks[static_cast<std::size_t>(pos)];
    t.n_missing = 0;
    for (std::int64_t d : t.deps)
        if (run.tasks[static_cast<std::size_t>(d)].state != TState::Memory) ++t.n_missing;
}

void SchedulerState::maybe_release(RunState& run, std::int64_t pos) {
    TaskState& t = run.tasks[static_cast<std::size_t>(pos)];
    if (t.state != TState::Memory || t.held) return;
    for (std::int64_t u : t.dependents) {
        const TState s = run.tasks[static_cast<std::size_t>(u)].state;
        if (s != TState::Memory && s != TState::Released && s != TState::Erred) return;
    }
    release_data(run, pos);
    t.state = TState::Released;
    note(run, pos);
}

void SchedulerState::release_data(RunState& run, std::int64_t pos) {
    TaskState& t = run.tasks[static_cast<std::size_t>(pos)];
    const std::uint64_t tid = make_tid(run.id, pos);
    for (std::uint32_t id : t.who_has) {
        if (WorkerState* w = worker_by_id(id)) {
            w->has.erase(tid);
            w->release_out.push_back(static_cast<std::int64_t>(tid));
        }
    }
    t.who_has.clear();
}

void SchedulerState::lose(RunState& run, std::int64_t pos) {
    TaskState& t = run.tasks[static_cast<std::size_t>(pos)];
    bool needed = false;
    for (std::int64_t u : t.dependents) {
        TaskState& dependent = run.tasks[static_cast<std::size_t>(u)];
        if (dependent.state == TState::Ready) unready(run, u);
        if (dependent.state == TState::Waiting) recount(run, u);
        needed |= dependent.state == TState::Waiting || dependent.state == TState::Processing;
    }
    needed |= t.held;
    if (needed) need(run, pos);
}

void SchedulerState::need(RunState& run, std::int64_t pos) {
    std::vector<std::int64_t> stack{pos}, touched;
    while (!stack.empty()) {
        const std::int64_t x = stack.back();
        stack.pop_back();
        TaskState& t = run.tasks[static_cast<std::size_t>(x)];
        if (t.state != TState::Released) continue;
        t.state = TState::Waiting;
        note(run, x);
        touched.push_back(x);
        for (std::int64_t d : t.deps) stack.push_back(d);
    }
    for (std::int64_t x : touched) {
        recount(run, x);
        if (run.tasks[static_cast<std::size_t>(x)].n_missing == 0) make_ready(run, x);
    }
}

// --------------------------------------------------------------------------------- placement

void SchedulerState::schedule() {
    if (ready_.empty()) return;
    std::vector<WorkerState*> room;
    for (auto& [identity, w] : workers_)
        if (static_cast<std::int64_t>(w.processing.size()) < w.nthreads + extra_) room.push_back(&w);
    auto it = ready_.begin();
    while (!room.empty() && it != ready_.end()) {
        const auto [run_id, priority, pos] = *it;
        RunState& run = runs_.at(run_id);
        WorkerState* w = choose_worker(run, run.tasks[static_cast<std::size_t>(pos)], room);
        if (!w) {
            ++it;
            continue;
        }
        it = ready_.erase(it);
        if (run.tasks[static_cast<std::size_t>(pos)].broadcast) {
            // Every worker gets a copy; the task is in memory when all have reported.
            TaskState& t = run.tasks[static_cast<std::size_t>(pos)];
            t.state = TState::Processing;
            t.replicas_pending = static_cast<std::int64_t>(workers_.size());
            for (auto& [identity, each] : workers_) {
                each.processing.insert(make_tid(run.id, pos));
                each.compute_out.push_back(make_item(run, pos));
            }
            continue;
        }
        assign(run, pos, *w);
        if (static_cast<std::int64_t>(w->processing.size()) >= w->nthreads + extra_) std::erase(room, w);
    }
}

WorkerState* SchedulerState::choose_worker(const RunState& run, const TaskState& task,
                                           const std::vector<WorkerState*>& candidates) {
    WorkerState* best = nullptr;
    std::int64_t best_bytes = -1;
    double best_load = 0;
    for (WorkerState* w : candidates) {
        if (task.op != kConstantOp && !w->ops.contains(task.op)) continue;
        std::int64_t bytes = 0;
        for (std::int64_t d : task.deps) {
            const TaskState& dep = run.tasks[static_cast<std::size_t>(d)];
            if (std::find(dep.who_has.begin(), dep.who_has.end(), w->id) != dep.who_has.end())
                bytes += std::max<std::int64_t>(dep.nbytes, 1);
        }
        const double load = static_cast<double>(w->processing.size()) / w->nthreads;
        if (!best || bytes > best_bytes || (bytes == best_bytes && load < best_load)) {
            best = w;
            best_bytes = bytes;
            best_load = load;
        }
    }
    return best;
}

void SchedulerState::assign(RunState& run, std::int64_t pos, WorkerState& w) {
    TaskState& t = run.tasks[static_cast<std::size_t>(pos)];
    t.state = TState::Processing;
    t.processing_on = w.id;
    note(run, pos);
    w.processing.insert(make_tid(run.id, pos));
    w.compute_out.push_back(make_item(run, pos));
}

ComputeItem SchedulerState::make_item(RunState& run, std::int64_t pos) {
    TaskState& t = run.tasks[static_cast<std::size_t>(pos)];
    const std::uint64_t tid = make_tid(run.id, pos);
    ComputeItem item;
    item.tid = tid;
    item.key = t.key;
    item.op = t.op;
    item.params = t.params;
    item.deps.reserve(t.deps.size());
    for (std::int64_t d : t.deps) {
        ComputeItem::Dep dep;
        dep.tid = make_tid(run.id, d);
        for (std::uint32_t id : run.tasks[static_cast<std::size_t>(d)].who_has)
            if (WorkerState* holder = worker_by_id(id)) dep.who_has.push_back(holder->address);
        item.deps.push_back(std::move(dep));
    }
    item.send_result = t.output;
    if (t.constant) item.constant = t.constant->share();
    return item;
}

// -------------------------------------------------------------------------------------- runs

void SchedulerState::finish_run(RunState& run) {
    Outgoing out(MsgType::RunResult);
    out.w.put(run.client_run);
    out.w.put(static_cast<std::uint64_t>(run.outputs.size()));
    for (std::int64_t o : run.outputs) out.put_value(run.output_values.at(o).share());
    if (clients_.contains(run.client)) client_out_.push_back({run.client, std::move(out)});
    run.succeeded = true;
    drop_run(run.id);
}

void SchedulerState::fail_run(RunState& run, const std::string& kind, const std::string& message,
                              const Key* key) {
    Outgoing out(MsgType::RunError);
    out.w.put(run.client_run);
    out.w.put(static_cast<std::uint8_t>(key != nullptr));
    out.w.put_key(key ? *key : Key());
    out.w.put_str(kind);
    out.w.put_str(message);
    if (clients_.contains(run.client)) client_out_.push_back({run.client, std::move(out)});
    note_error(run, key, kind, message);
    drop_run(run.id);
}

void SchedulerState::drop_run(std::uint32_t id) {
    auto it = runs_.find(id);
    if (it == runs_.end()) return;
    RunState& run = it->second;
    for (std::int64_t pos = 0; pos < static_cast<std::int64_t>(run.tasks.size()); ++pos) {
        TaskState& t = run.tasks[static_cast<std::size_t>(pos)];
        if (t.state == TState::Ready) ready_.erase({run.id, t.priority, pos});
        if (t.state == TState::Memory) release_data(run, pos);
        // Processing tasks stay in their workers' processing sets until reported; their results
        // are then released (their run is gone).
    }
    if (ClientState* c = client(run.client)) c->runs.erase(id);
    if (dash_on_ && dash_announced_.erase(run.id) > 0)
        dash_.runs_ended.push_back({.run = run.id,
                                    .failed = !run.succeeded && !run.futures,
                                    .ended_at = std::chrono::system_clock::now()});
    runs_.erase(it);
}

}  // namespace tessera::dist
