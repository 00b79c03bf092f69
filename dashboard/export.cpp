// Exports for other tools: Prometheus metrics and Chrome trace events (Perfetto).

#include <fmt/format.h>

#include <set>

#include "dashboard/api.hpp"
#include "tessera/ndarray.hpp"
#include "tessera/version.hpp"

namespace tessera::dashboard {
namespace {

using json = nlohmann::json;

// Label values escape backslash, double quote and newline (exposition format 0.0.4).
std::string label(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

std::string metrics_text(const Model& model, const SystemMonitor& system, std::int64_t n_event_clients) {
    const SystemSample s = system.latest();
    auto lock = model.lock();
    std::string out;
    auto line = [&out](std::string_view name, std::string_view labels, auto value) {
        if (labels.empty()) fmt::format_to(std::back_inserter(out), "{} {}\n", name, value);
        else fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", name, labels, value);
    };

    header(out, "tessera_tasks_total", "counter", "Task events since the dashboard started, by the state they entered.");
    static constexpr std::string_view kStates[] = {"queued", "started", "finished", "failed", "released"};
    for (int k = 0; k < 5; ++k) line("tessera_tasks_total", fmt::format("state=\"{}\"", kStates[k]), model.event_totals()[k]);

    header(out, "tessera_tasks", "gauge", "Tasks of the latest run by current state.");
    StateCounts counts;
    if (const RunRecord* run = model.latest_run()) counts = run->totals();
    line("tessera_tasks", "state=\"waiting\"", counts.waiting);
    line("tessera_tasks", "state=\"processing\"", counts.processing);
    line("tessera_tasks", "state=\"memory\"", counts.memory);
    line("tessera_tasks", "state=\"released\"", counts.released);
    line("tessera_tasks", "state=\"erred\"", counts.erred);

    header(out, "tessera_memory_bytes", "gauge",
           model.cluster() ? "Bytes of results held in the workers' memory." : "Bytes of array buffers alive in this process.");
    line("tessera_memory_bytes", "", memory_now(model));
    header(out, "tessera_process_resident_bytes", "gauge", "Resident set size of this process.");
    line("tessera_process_resident_bytes", "", s.process_rss);
    header(out, "tessera_host_cpu_percent", "gauge", "Host CPU use over the last sample, 100 = every core busy.");
    line("tessera_host_cpu_percent", "", fmt::format("{:.2f}", s.cpu_percent));

    header(out, "tessera_runs_total", "counter", "Computations that ended, by result.");
    line("tessera_runs_total", "result=\"finished\"", model.runs_finished());
    line("tessera_runs_total", "result=\"failed\"", model.runs_failed());
    header(out, "tessera_runs_active", "gauge", "Computations running now.");
    line("tessera_runs_active", "", model.active_runs());

    header(out, "tessera_threads_busy", "gauge", "Threads running a task, by worker.");
    for (const WorkerInfo& w : model.workers()) {
        std::int64_t busy = 0;
        for (const ThreadSlot& slot : w.threads) busy += slot.busy ? 1 : 0;
        line("tessera_threads_busy", fmt::format("worker=\"{}\"", label(w.id)), busy);
    }

    header(out, "tessera_group_compute_seconds_total", "counter", "Time spent running the tasks of each group.");
    for (const auto& [name, p] : model.profile())
        line("tessera_group_compute_seconds_total", fmt::format("group=\"{}\"", label(name)),
             fmt::format("{:.9f}", seconds(p.compute_ns)));
    header(out, "tessera_group_tasks_total", "counter", "Tasks of each group that finished or failed.");
    for (const auto& [name, p] : model.profile()) {
        line("tessera_group_tasks_total", fmt::format("group=\"{}\",result=\"finished\"", label(name)), p.n_finished);
        line("tessera_group_tasks_total", fmt::format("group=\"{}\",result=\"failed\"", label(name)), p.n_failed);
    }

    header(out, "tessera_dashboard_event_clients", "gauge", "Clients connected to /events.");
    line("tessera_dashboard_event_clients", "", n_event_clients);
    header(out, "tessera_info", "gauge", "Tessera version.");
    line("tessera_info", fmt::format("version=\"{}\"", label(std::string(tessera::version()))), 1);
    return out;
}

std::string trace_json(const Model& model, std::optional<std::int64_t> run_id) {
    json events = json::array();
    {
        auto lock = model.lock();
        if (run_id && model.find_run(*run_id) == nullptr)
            throw ApiError{404, fmt::format("no run with id {} (the dashboard keeps the last {} runs)", *run_id,
                                            Model::kMaxRuns)};
        const std::int64_t first = model.first_stream_seq();
        std::set<std::pair<std::int32_t, std::int32_t>> lanes;
        for (const StreamRecord& r : model.stream_since(first, model.next_stream_seq() - first, nullptr)) {
            if (run_id && r.run_id != *run_id) continue;
            lanes.emplace(r.worker, r.thread);
            events.push_back(json{{"name", r.key()},
                                  {"cat", r.group_name()},
                                  {"ph", "X"},
                                  {"ts", static_cast<double>(r.start_ns) / 1e3},
                                  {"dur", static_cast<double>(r.stop_ns - r.start_ns) / 1e3},
                                  {"pid", r.worker + 1},
                                  {"tid", r.thread},
                                  {"args", {{"group", r.group_name()}, {"run", r.run_id}, {"bytes", r.bytes},
                                            {"failed", r.failed}}}});
        }
        const auto& workers = model.workers();
        std::set<std::int32_t> pids;
        for (const auto& [worker, thread] : lanes) {
            if (pids.insert(worker).second) {
                const std::string name = worker >= 0 && static_cast<std::size_t>(worker) < workers.size()
                                             ? workers[static_cast<std::size_t>(worker)].name
                                             : fmt::format("worker {}", worker);
                events.push_back(json{{"name", "process_name"}, {"ph", "M"}, {"pid", worker + 1},
                                      {"args", {{"name", name}}}});
            }
            events.push_back(json{{"name", "thread_name"}, {"ph", "M"}, {"pid", worker + 1}, {"tid", thread},
                                  {"args", {{"name", fmt::format("thread {}", thread)}}}});
        }
    }
    json out{{"traceEvents", std::move(events)},
             {"displayTimeUnit", "ms"},
             {"otherData", {{"generator", "tessera dashboard"}, {"version", std::string(tessera::version())}}}};
    return out.dump();
}

}  // namespace tessera::dashboard
