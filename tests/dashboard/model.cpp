// The model and the observer without a server: state counting under reordering, the task-stream
// ring, the graph view from a known graph, exports, and the observer's cost.

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "dashboard/api.hpp"
#include "helpers.hpp"
#include "dashboard/model.hpp"
#include "dashboard/recorder.hpp"

using namespace dash_test;
namespace db = tessera::dashboard;
using Kind = ts::TaskEvent::Kind;

namespace {

// Emits one event for task `t` of `graph` to `observer`.
void emit(ts::Observer& observer, const ts::Graph& graph, std::int64_t t, Kind kind, int thread = -1,
          std::int64_t time_ns = 0, std::int64_t bytes = 0, std::string_view error = {}) {
    const ts::Key& key = graph.tasks()[static_cast<std::size_t>(t)].key;
    observer.on_task(ts::TaskEvent{kind, &key, key.group(), thread, bytes, time_ns, error});
}

ts::RunInfo run_info(const ts::Graph& graph, std::int64_t id) {
    ts::RunInfo info;
    info.run_id = id;
    info.n_tasks = graph.size();
    info.scheduler = "test";
    info.n_threads = 2;
    info.started_at = std::chrono::system_clock::now();
    std::map<std::string, std::int64_t> counts;
    std::vector<std::string> order;
    for (const ts::Task& t : graph.tasks()) {
        if (counts[std::string(t.key.group())]++ == 0) order.emplace_back(t.key.group());
    }
    for (const auto& g : order) info.groups.emplace_back(g, counts[g]);
    return info;
}

// load-<token> x n, each read by one clean-<token>, all summed by one total.
ts::Graph pipeline(std::int64_t n) {
    ts::Graph g;
    const std::string load = "load-0123456789abcdef", clean = "clean-fedcba9876543210";
    std::vector<ts::Key> cleaned;
    for (std::int64_t i = 0; i < n; ++i) {
        g.add(ts::Task{ts::Key(load, {i}), 0, {}, {}, nullptr, 0});
        g.add(ts::Task{ts::Key(clean, {i}), 0, {}, {ts::Key(load, {i})}, nullptr, 0});
        cleaned.push_back(ts::Key(clean, {i}));
    }
    g.add(ts::Task{ts::Key("total-00000000aaaaaaaa"), 0, {}, cleaned, nullptr, 0});
    return g;
}

}  // namespace

TEST_CASE("model: states add up whatever order events of several threads arrive in") {
    db::GroupStats g;
    g.total = 10;
    g.n_finished = 3;  // finished seen before they were queued
    g.n_released = 4;  // released seen before finished
    db::StateCounts c = g.counts(false);
    CHECK(c.waiting + c.processing + c.memory + c.released + c.erred == 10);
    CHECK(c.released == 3);
    CHECK(c.memory == 0);
    CHECK(c.processing == 0);
    g.n_queued = 8;
    g.n_released = 1;
    c = g.counts(false);
    CHECK(c.processing == 5);
    CHECK(c.memory == 2);
    CHECK(c.released == 1);
    CHECK(c.waiting == 2);
    // After the run ended nothing is processing: what never ran is waiting.
    c = g.counts(true);
    CHECK(c.processing == 0);
    CHECK(c.waiting == 7);
    g.n_failed = 20;  // more events than tasks cannot exceed the total
    c = g.counts(false);
    CHECK(c.erred == 10);
    CHECK(c.waiting == 0);
}

TEST_CASE("model: the task stream keeps the newest records") {
    db::Model model(3);
    auto lock = model.lock();
    db::RunMeta meta;
    meta.id = 1;
    meta.groups = {{"g", 5}};
    db::RunRecord& run = model.begin_run(meta);
    const std::string group_name = "g";
    for (int k = 0; k < 5; ++k) {
        db::StreamRecord r;
        r.key_text = fmt::format("k{}", k);
        r.group_text = group_name;
        r.start_ns = k * 10;
        r.stop_ns = k * 10 + 5;
        model.add_stream(run, 0, r);
    }
    CHECK(model.next_stream_seq() == 5);
    CHECK(model.first_stream_seq() == 2);
    std::int64_t dropped = -1;
    const auto records = model.stream_since(0, 100, &dropped);
    CHECK(dropped == 2);
    REQUIRE(records.size() == 3);
    CHECK(records[0].seq == 2);
    CHECK(records[0].key() == "k2");
    CHECK(records[2].key() == "k4");
    CHECK(model.stream_since(4, 100, &dropped).size() == 1);
    CHECK(dropped == 0);
    CHECK(model.stream_since(5, 100, &dropped).empty());
    CHECK(run.groups[0].compute_ns == 25);
    CHECK(model.profile().at("g").n_finished == 5);
    CHECK(db::key_text("x", nullptr, 0) == "'x'");
    const std::int64_t index[2] = {3, 14};
    CHECK(db::key_text("sum-ab", index, 2) == "('sum-ab', 3, 14)");
}

TEST_CASE("recorder: a known graph gives tasks, dependencies and per-task states") {
    auto model = std::make_shared<db::Model>(1000);
    db::Recorder recorder(model);
    const ts::Graph graph = pipeline(4);  // 4 load, 4 clean, 1 total
    recorder.start_run(run_info(graph, 501), &graph);
    // Tasks 0..7 alternate load/clean; 8 is the total.
    emit(recorder, graph, 0, Kind::Queued);
    emit(recorder, graph, 0, Kind::Started, 0, 100);
    emit(recorder, graph, 0, Kind::Finished, 0, 400, 64);
    emit(recorder, graph, 1, Kind::Queued);
    emit(recorder, graph, 1, Kind::Started, 0, 500);
    emit(recorder, graph, 1, Kind::Finished, 0, 900, 64);
    emit(recorder, graph, 0, Kind::Released, -1, 950, 64);
    emit(recorder, graph, 2, Kind::Queued);
    emit(recorder, graph, 2, Kind::Started, 1, 1000);
    emit(recorder, graph, 2, Kind::Failed, 1, 1500, 0, "disk on fire");
    recorder.drain();

    json g = db::graph_json(*model, 501);
    CHECK(g["mode"] == "tasks");
    REQUIRE(g["nodes"].size() == 9);
    CHECK(g["edges"].size() == 4 + 4);
    CHECK(g["nodes"][0]["state"] == "released");
    CHECK(g["nodes"][0]["key"] == "('load-0123456789abcdef', 0)");
    CHECK(g["nodes"][0]["group"] == "load");
    CHECK(g["nodes"][0]["depth"] == 0);
    CHECK(g["nodes"][1]["state"] == "memory");
    CHECK(g["nodes"][1]["depth"] == 1);
    CHECK(g["nodes"][2]["state"] == "erred");
    CHECK(g["nodes"][3]["state"] == "waiting");
    CHECK(g["nodes"][8]["depth"] == 2);

    json workers = db::workers_json(*model, db::SystemMonitor{});
    REQUIRE(workers["workers"].size() == 1);
    CHECK(workers["workers"][0]["threads"][0]["n_tasks"] == 2);
    CHECK(workers["workers"][0]["threads"][1]["n_tasks"] == 1);

    recorder.on_run_end(ts::RunSummary{501, 2, true, 2e-6});
    const json status = db::status_json(*model, 501);
    CHECK(status["run"]["state"] == "failed");
    CHECK(status["totals"]["erred"] == 1);
    CHECK(status["totals"]["released"] == 1);
    CHECK(status["totals"]["memory"] == 1);
    CHECK(status["totals"]["waiting"] == 6);
    REQUIRE(status["errors"].size() == 1);
    CHECK(status["errors"][0]["key"] == "('load-0123456789abcdef', 1)");
    CHECK(status["errors"][0]["message"] == "disk on fire");
    const json tasks = db::tasks_json(*model, 0, 100);
    REQUIRE(tasks["tasks"].size() == 3);
    CHECK(tasks["tasks"][0]["duration"].get<double>() == doctest::Approx(300e-9));
    CHECK(tasks["tasks"][2]["failed"] == true);
    CHECK(recorder.n_unmatched() == 0);
}

TEST_CASE("recorder: graphs over 5,000 tasks are shown by group, with group dependencies") {
    auto model = std::make_shared<db::Model>(100);
    db::Recorder recorder(model);
    const ts::Graph graph = pipeline(2600);  // 5,201 tasks
    recorder.start_run(run_info(graph, 502), &graph);
    recorder.on_run_end(ts::RunSummary{502, 0, false, 0.0});
    const json g = db::graph_json(*model, 502);
    CHECK(g["mode"] == "groups");
    CHECK(g["n_tasks"] == 5201);
    REQUIRE(g["nodes"].size() == 3);
    CHECK(g["nodes"][0]["group"] == "load");
    CHECK(g["nodes"][0]["total"] == 2600);
    CHECK(g["nodes"][2]["depth"] == 2);
    CHECK(g["edges"] == json::parse("[[0, 1], [1, 2]]"));
}

TEST_CASE("exports: metrics escape label values; the trace names its lanes") {
    auto model = std::make_shared<db::Model>(10);
    {
        auto lock = model->lock();
        db::RunMeta meta;
        meta.id = 9;
        meta.groups = {{"we\"ird\\name", 1}};
        db::RunRecord& run = model->begin_run(meta);
        db::StreamRecord r;
        r.run_id = 9;
        r.key_text = "'k'";
        r.group_text = "we\"ird\\name";
        r.start_ns = 1000;
        r.stop_ns = 3000;
        model->add_stream(run, 0, r);
    }
    const std::string metrics = db::metrics_text(*model, db::SystemMonitor{}, 0);
    CHECK(metrics.find("tessera_group_tasks_total{group=\"we\\\"ird\\\\name\",result=\"finished\"} 1\n") !=
          std::string::npos);
    const json trace = json::parse(db::trace_json(*model, 9));
    REQUIRE(trace["traceEvents"].size() == 3);  // the task, process_name, thread_name
    CHECK(trace["traceEvents"][0]["ts"] == 1.0);
    CHECK(trace["traceEvents"][0]["dur"] == 2.0);
    CHECK(trace["traceEvents"][0]["name"] == "'k'");
}

TEST_CASE("recorder: on_task costs a few nanoseconds and never blocks on the reader" * doctest::timeout(60)) {
    auto model = std::make_shared<db::Model>(1000);
    db::Recorder recorder(model);
    const ts::Graph graph = pipeline(1000);
    recorder.start_run(run_info(graph, 503), &graph);
    constexpr int kRounds = 200;
    const auto t0 = std::chrono::steady_clock::now();
    for (int round = 0; round < kRounds; ++round)
        for (std::int64_t t = 0; t < graph.size(); ++t) emit(recorder, graph, t, Kind::Queued, -1, round);
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() /
                      (kRounds * static_cast<double>(graph.size()));
    MESSAGE("Recorder::on_task: " << ns << " ns per event");
    CHECK(ns < 1000);  // a smoke bound: the measured figure is printed above
    recorder.on_run_end(ts::RunSummary{503, 0, false, 0.0});
    auto lock = model->lock();
    CHECK(model->event_totals()[0] == kRounds * graph.size());
}
