// JSON documents of the dashboard API and the SSE diffs.

#include "dashboard/api.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "tessera/ndarray.hpp"

namespace tessera::dashboard {
namespace {

using json = nlohmann::json;

std::string iso_time(std::chrono::system_clock::time_point t) {
    const std::time_t seconds_part = std::chrono::system_clock::to_time_t(t);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", fmt::gmtime(seconds_part), static_cast<int>(ms));
}

const RunRecord* select_run(const Model& model, std::optional<std::int64_t> run_id) {
    if (!run_id) return model.latest_run();
    const RunRecord* run = model.find_run(*run_id);
    if (run == nullptr) throw ApiError{404, fmt::format("no run with id {} (the dashboard keeps the last {} runs)",
                                                        *run_id, Model::kMaxRuns)};
    return run;
}

json sample_json(const SystemSample& s) {
    return json{{"time", s.time},
                {"cpu_percent", s.cpu_percent},
                {"process_cpu_percent", s.process_cpu_percent},
                {"memory_total", s.memory_total},
                {"memory_available", s.memory_available},
                {"memory_used", std::max<std::int64_t>(0, s.memory_total - s.memory_available)},
                {"process_rss", s.process_rss},
                {"process_threads", s.process_threads},
                {"live_bytes", s.live_bytes},
                {"load", {s.load[0], s.load[1], s.load[2]}},
                {"n_cpus", s.n_cpus}};
}

// Longest path from a source in a small DAG given as edges (relaxation; groups are few).
std::vector<std::int32_t> dag_depth(std::size_t n, const std::vector<std::pair<std::int32_t, std::int32_t>>& edges) {
    std::vector<std::int32_t> depth(n, 0);
    for (std::size_t round = 0; round < n; ++round) {
        bool changed = false;
        for (const auto& [from, to] : edges) {
            if (depth[static_cast<std::size_t>(to)] < depth[static_cast<std::size_t>(from)] + 1) {
                depth[static_cast<std::size_t>(to)] = depth[static_cast<std::size_t>(from)] + 1;
                changed = true;
            }
        }
        if (!changed) break;
    }
    return depth;
}

}  // namespace

double seconds(std::int64_t ns) { return static_cast<double>(ns) * 1e-9; }

std::int64_t memory_now(const Model& model) {
    if (!model.cluster()) return Buffer::live_bytes();
    std::int64_t sum = 0;
    for (const WorkerInfo& w : model.workers())
        if (!w.closed) sum += w.memory_bytes;
    return sum;
}

json counts_json(const StateCounts& c) {
    return json{{"total", c.total},       {"waiting", c.waiting}, {"processing", c.processing},
                {"memory", c.memory},     {"released", c.released}, {"erred", c.erred}};
}

json group_json(const GroupStats& g, bool run_ended) {
    json out = counts_json(g.counts(run_ended));
    out["name"] = g.name;
    out["bytes"] = g.bytes_in_memory();
    out["seconds"] = seconds(g.compute_ns);
    return out;
}

json run_json(const RunRecord& run, double now) {
    const StateCounts totals = run.totals();
    const double start = seconds(run.meta.start_ns);
    const double elapsed = run.ended() ? seconds(run.end_ns - run.meta.start_ns) : std::max(0.0, now - start);
    return json{{"id", run.meta.id},
                {"scheduler", run.meta.scheduler},
                {"n_threads", run.meta.n_threads},
                {"n_tasks", run.meta.n_tasks},
                {"n_groups", run.groups.size()},
                {"state", run.ended() ? (run.failed ? "failed" : "finished") : "running"},
                {"started_at", iso_time(run.meta.started_at)},
                {"start", start},
                {"elapsed", elapsed},
                {"n_done", totals.memory + totals.released},
                {"totals", counts_json(totals)}};
}

json stream_json(const StreamRecord& r, const Model& model) {
    const auto& workers = model.workers();
    const std::string worker = r.worker >= 0 && static_cast<std::size_t>(r.worker) < workers.size()
                                   ? workers[static_cast<std::size_t>(r.worker)].id
                                   : std::string();
    return json{{"seq", r.seq},       {"run", r.run_id},           {"key", r.key()},
                {"group", r.group_name()}, {"worker", worker},     {"thread", r.thread},
                {"start", seconds(r.start_ns)}, {"stop", seconds(r.stop_ns)},
                {"duration", seconds(r.stop_ns - r.start_ns)}, {"bytes", r.bytes}, {"failed", r.failed}};
}

json error_json(const TaskErrorInfo& e) {
    return json{{"seq", e.seq},         {"run", e.run_id},         {"key", e.key},
                {"group", e.group},     {"message", e.message},    {"time", seconds(e.time_ns)}};
}

json workers_array(const Model& model, const SystemSample& latest) {
    json out = json::array();
    const double now = seconds(model.now_ns());
    // Bytes of task results held, from the latest run's groups (the local worker holds them all).
    std::int64_t task_bytes = 0;
    if (const RunRecord* run = model.latest_run(); run != nullptr && !run->ended())
        for (const GroupStats& g : run->groups) task_bytes += g.bytes_in_memory();
    for (const WorkerInfo& w : model.workers()) {
        if (w.closed) continue;
        const bool local = !model.cluster() && w.id == "local";
        json threads = json::array();
        std::int64_t processing = 0;
        for (std::size_t t = 0; t < w.threads.size(); ++t) {
            const ThreadSlot& s = w.threads[t];
            processing += s.busy ? 1 : 0;
            threads.push_back(json{{"thread", t},
                                   {"busy", s.busy},
                                   {"key", s.busy ? key_text(s.name, s.index, s.ndim) : std::string()},
                                   {"running_for", s.busy ? std::max(0.0, now - seconds(s.since_ns)) : 0.0},
                                   {"n_tasks", s.n_tasks},
                                   {"busy_seconds", seconds(s.busy_ns)}});
        }
        out.push_back(json{{"id", w.id},
                           {"name", w.name},
                           {"address", w.address},
                           {"host", w.host},
                           {"pid", w.pid},
                           {"n_threads", w.threads.size()},
                           {"processing", w.n_processing >= 0 ? w.n_processing : processing},
                           {"in_memory", w.n_in_memory},
                           {"spilled_bytes", w.spilled_bytes},
                           {"last_seen", local ? 0.0 : std::max(0.0, now - seconds(w.last_seen_ns))},
                           {"memory_bytes", local ? Buffer::live_bytes() : w.memory_bytes},
                           {"task_bytes", local ? task_bytes : w.task_bytes},
                           {"rss_bytes", local ? latest.process_rss : w.rss_bytes},
                           {"memory_limit", local ? latest.memory_total : w.memory_limit},
                           {"cpu_percent", local ? latest.process_cpu_percent : w.cpu_percent},
                           {"n_finished", w.n_finished},
                           {"threads", std::move(threads)}});
    }
    return out;
}

json status_json(const Model& model, std::optional<std::int64_t> run_id) {
    auto lock = model.lock();
    const double now = seconds(model.now_ns());
    const RunRecord* run = select_run(model, run_id);
    json out{{"time", now}, {"version", model.version()}, {"memory_bytes", memory_now(model)},
             {"tasks_next", model.next_stream_seq()}};
    json groups = json::array();
    if (run != nullptr) {
        out["run"] = run_json(*run, now);
        for (const GroupStats& g : run->groups) groups.push_back(group_json(g, run->ended()));
        out["totals"] = counts_json(run->totals());
    } else {
        out["run"] = nullptr;
        out["totals"] = counts_json(StateCounts{});
    }
    out["groups"] = std::move(groups);
    json runs = json::array();
    for (auto it = model.runs().rbegin(); it != model.runs().rend(); ++it) runs.push_back(run_json(**it, now));
    out["runs"] = std::move(runs);
    json errors = json::array();
    for (const TaskErrorInfo& e : model.errors()) errors.push_back(error_json(e));
    out["errors"] = std::move(errors);
    return out;
}

json tasks_json(const Model& model, std::int64_t since, std::int64_t limit) {
    std::vector<StreamRecord> records;
    std::int64_t dropped = 0;
    json out;
    {
        auto lock = model.lock();
        records = model.stream_since(since, limit, &dropped);
        out["next"] = records.empty() ? std::max(since, model.first_stream_seq()) : records.back().seq + 1;
        out["available"] = model.next_stream_seq();
        out["dropped"] = dropped;
        json tasks = json::array();
        for (const StreamRecord& r : records) tasks.push_back(stream_json(r, model));
        out["tasks"] = std::move(tasks);
    }
    out["since"] = since;
    return out;
}

json workers_json(const Model& model, const SystemMonitor& system) {
    const SystemSample latest = system.latest();
    auto lock = model.lock();
    return json{{"time", seconds(model.now_ns())}, {"workers", workers_array(model, latest)}};
}

json graph_json(const Model& model, std::optional<std::int64_t> run_id) {
    auto lock = model.lock();
    const RunRecord* run = select_run(model, run_id);
    json out{{"run", nullptr}, {"mode", "groups"}, {"n_tasks", 0}, {"max_task_nodes", kMaxGraphNodes},
             {"dependencies_known", false}, {"nodes", json::array()}, {"edges", json::array()}};
    if (run == nullptr) return out;
    out["run"] = run->meta.id;
    out["n_tasks"] = run->meta.n_tasks;
    json nodes = json::array();
    json edges = json::array();
    if (run->meta.detail) {
        const GraphDetail& d = *run->meta.detail;
        out["mode"] = "tasks";
        out["dependencies_known"] = true;
        for (std::size_t t = 0; t < d.keys.size(); ++t) {
            const std::int32_t g = d.group[t];
            nodes.push_back(json{{"id", t},
                                 {"key", d.keys[t]},
                                 {"group", g >= 0 ? run->groups[static_cast<std::size_t>(g)].name : std::string()},
                                 {"state", to_string(d.state[t])},
                                 {"depth", d.depth[t]}});
        }
        for (const auto& [from, to] : d.edges) edges.push_back(json::array({from, to}));
    } else {
        out["dependencies_known"] = !run->meta.group_edges.empty() || run->meta.n_tasks == 0;
        const auto depth = dag_depth(run->groups.size(), run->meta.group_edges);
        for (std::size_t g = 0; g < run->groups.size(); ++g) {
            json node = group_json(run->groups[g], run->ended());
            node["id"] = g;
            node["group"] = run->groups[g].name;
            node["depth"] = depth[g];
            nodes.push_back(std::move(node));
        }
        for (const auto& [from, to] : run->meta.group_edges) edges.push_back(json::array({from, to}));
    }
    out["nodes"] = std::move(nodes);
    out["edges"] = std::move(edges);
    return out;
}

json profile_json(const Model& model) {
    auto lock = model.lock();
    json groups = json::array();
    std::int64_t total_ns = 0;
    for (const auto& [name, p] : model.profile()) total_ns += p.compute_ns;
    for (const auto& [name, p] : model.profile()) {
        const std::int64_t n = p.n_finished + p.n_failed;
        groups.push_back(json{{"name", name},
                              {"n_finished", p.n_finished},
                              {"n_failed", p.n_failed},
                              {"seconds", seconds(p.compute_ns)},
                              {"mean_seconds", n > 0 ? seconds(p.compute_ns) / static_cast<double>(n) : 0.0},
                              {"max_seconds", seconds(p.max_ns)},
                              {"bytes", p.bytes},
                              {"fraction", total_ns > 0 ? static_cast<double>(p.compute_ns) / static_cast<double>(total_ns) : 0.0}});
    }
    std::sort(groups.begin(), groups.end(),
              [](const json& a, const json& b) { return a["seconds"].get<double>() > b["seconds"].get<double>(); });
    json threads = json::array();
    for (const WorkerInfo& w : model.workers())
        for (std::size_t t = 0; t < w.threads.size(); ++t)
            threads.push_back(json{{"worker", w.id},
                                   {"thread", t},
                                   {"n_tasks", w.threads[t].n_tasks},
                                   {"busy_seconds", seconds(w.threads[t].busy_ns)}});
    return json{{"time", seconds(model.now_ns())},
                {"total_seconds", seconds(total_ns)},
                {"groups", std::move(groups)},
                {"threads", std::move(threads)}};
}

json system_json(const SystemMonitor& system) {
    json history = json::array();
    for (const SystemSample& s : system.history()) history.push_back(sample_json(s));
    return json{{"latest", sample_json(system.latest())}, {"history", std::move(history)}};
}

json UpdateBuilder::snapshot(const Model& model, const SystemMonitor& system, std::int64_t seq) {
    json status = status_json(model, std::nullopt);
    json out{{"seq", seq}, {"status", std::move(status)}};
    const SystemSample latest = system.latest();
    auto lock = model.lock();
    out["workers"] = workers_array(model, latest);
    const std::int64_t next = model.next_stream_seq();
    json tasks = json::array();
    for (const StreamRecord& r : model.stream_since(std::max<std::int64_t>(0, next - 1000), 1000, nullptr))
        tasks.push_back(stream_json(r, model));
    out["tasks"] = std::move(tasks);
    out["tasks_next"] = next;
    return out;
}

std::optional<json> UpdateBuilder::next(const Model& model, const SystemMonitor& system, std::int64_t seq) {
    const SystemSample latest = system.latest();
    auto lock = model.lock();
    const double now = seconds(model.now_ns());
    const std::int64_t memory = memory_now(model);
    // Nothing new: stay quiet, but send the (changing) memory figure and a heartbeat now and then.
    if (started_ && model.version() == version_ && memory == memory_ && now - sent_at_ < 2.0) return std::nullopt;
    memory_ = memory;
    sent_at_ = now;
    json out{{"seq", seq}, {"time", now}, {"memory_bytes", memory}};
    const RunRecord* run = model.latest_run();
    json groups = json::array();
    json runs = json::array();
    for (const auto& r : model.runs())
        if (r->version >= version_ || !r->ended()) runs.push_back(run_json(*r, now));
    if (run != nullptr) {
        out["run"] = run_json(*run, now);
        for (const GroupStats& g : run->groups)
            if (!started_ || g.version >= version_) groups.push_back(group_json(g, run->ended()));
    } else {
        out["run"] = nullptr;
    }
    out["groups"] = std::move(groups);
    out["runs"] = std::move(runs);

    std::int64_t dropped = 0;
    const std::int64_t available = model.next_stream_seq();
    const std::int64_t from = std::max(task_seq_, available - kMaxTasksPerEvent);
    json tasks = json::array();
    for (const StreamRecord& r : model.stream_since(from, kMaxTasksPerEvent, &dropped)) tasks.push_back(stream_json(r, model));
    out["tasks"] = std::move(tasks);
    out["tasks_skipped"] = from - task_seq_ + dropped;
    out["tasks_next"] = available;
    json errors = json::array();
    for (const TaskErrorInfo& e : model.errors())
        if (e.seq >= error_seq_) errors.push_back(error_json(e));
    out["errors"] = std::move(errors);
    out["workers"] = workers_array(model, latest);

    // Every change so far was followed by a bump(), so it carries a version below this one; later
    // changes carry this version or a newer one.
    version_ = model.version();
    task_seq_ = available;
    error_seq_ = model.next_error_seq();
    started_ = true;
    return out;
}

}  // namespace tessera::dashboard
