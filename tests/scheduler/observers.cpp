// Observers (event counts, progress bar, JSON-lines trace) and the choice of scheduler.

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "helpers.hpp"
#include "tessera/config.hpp"
#include "tessera/error.hpp"
#include "tessera/scheduler.hpp"

namespace ts = tessera;
using namespace sched_test;
using Kind = ts::TaskEvent::Kind;

namespace {

// Counts events per task and kind; checks the time order of each task's events.
class Recorder final : public ts::Observer {
public:
    explicit Recorder(const ts::Graph& g) : graph_(g) {}
    void on_run_start(const ts::RunInfo& info) override {
        std::lock_guard lock(mutex_);
        info_ = info;
        ++starts_;
    }
    void on_task(const ts::TaskEvent& e) override {
        std::lock_guard lock(mutex_);
        auto& per_task = counts_[e.key->str()];
        ++per_task[static_cast<int>(e.kind)];
        if (e.group != e.key->group()) ++bad_groups_;
        if (e.kind == Kind::Started) started_at_[e.key->str()] = e.time_ns;
        if (e.kind == Kind::Queued) queued_at_[e.key->str()] = e.time_ns;
        if (e.kind == Kind::Finished) {
            if (e.time_ns < started_at_[e.key->str()]) ++bad_times_;
            if (started_at_[e.key->str()] < queued_at_[e.key->str()]) ++bad_times_;
            if (e.bytes != 8) ++bad_bytes_;
        }
        if (e.kind == Kind::Started || e.kind == Kind::Finished || e.kind == Kind::Failed)
            max_thread_ = std::max(max_thread_, e.thread);
        else if (e.thread != -1) ++bad_threads_;
        if (e.kind == Kind::Failed) errors_.emplace_back(e.error);
    }
    void on_run_end(const ts::RunSummary& s) override {
        std::lock_guard lock(mutex_);
        summary_ = s;
        ++ends_;
    }

    int count(const std::string& key, Kind kind) {
        return counts_[key][static_cast<int>(kind)];
    }

    const ts::Graph& graph_;
    std::mutex mutex_;
    std::map<std::string, std::map<int, int>> counts_;
    std::map<std::string, std::int64_t> started_at_, queued_at_;
    int bad_groups_ = 0, bad_times_ = 0, bad_bytes_ = 0, bad_threads_ = 0, max_thread_ = -1;
    int starts_ = 0, ends_ = 0;
    std::vector<std::string> errors_;
    ts::RunInfo info_;
    ts::RunSummary summary_;
};

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

int count_containing(const std::vector<std::string>& lines, const std::string& needle) {
    int n = 0;
    for (const auto& line : lines) n += line.find(needle) != std::string::npos;
    return n;
}

std::string temp_path(const std::string& name) {
    return std::string(TESSERA_BINARY_DIR) + "/" + name;
}

}  // namespace

TEST_CASE("observers see each task queued, started and finished once; non-outputs released" *
          doctest::timeout(60)) {
    ts::Graph g;
    const ts::Key root = build_tree(g, 1000, 8, ops().inc);
    g.add(task(ts::Key("extra-0123abcd"), ops().sum, 0, {ts::Key("inc", {5})}));
    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        auto recorder = std::make_shared<Recorder>(g);
        ts::ComputeOptions options = c.options;
        options.observers.push_back(recorder);
        const auto out = ts::compute_graph(g, {root, ts::Key("extra-0123abcd"), ts::Key("inc", {5})}, options);
        CHECK(out[0].as<std::int64_t>() == 500500);
        CHECK(out[1].as<std::int64_t>() == 6);
        CHECK(recorder->starts_ == 1);
        CHECK(recorder->ends_ == 1);
        CHECK(recorder->info_.n_tasks == g.size());
        CHECK(recorder->info_.scheduler == (c.label == "sync" ? "sync" : "threads"));
        CHECK(recorder->info_.n_threads == c.n_threads);
        const std::vector<std::pair<std::string, std::int64_t>> groups{
            {"inc", 1000}, {"sum", 144}, {"extra", 1}};
        auto sorted = recorder->info_.groups;
        std::sort(sorted.begin(), sorted.end());
        auto expected = groups;
        std::sort(expected.begin(), expected.end());
        CHECK(sorted == expected);
        CHECK(recorder->summary_.n_finished == g.size());
        CHECK_FALSE(recorder->summary_.failed);
        CHECK(recorder->summary_.run_id == recorder->info_.run_id);

        CHECK(recorder->counts_.size() == static_cast<std::size_t>(g.size()));
        int wrong = 0;
        for (const ts::Task& t : g.tasks()) {
            const std::string key = t.key.str();
            const bool output = t.key == root || t.key == ts::Key("extra-0123abcd") || t.key == ts::Key("inc", {5});
            wrong += recorder->count(key, Kind::Queued) != 1;
            wrong += recorder->count(key, Kind::Started) != 1;
            wrong += recorder->count(key, Kind::Finished) != 1;
            wrong += recorder->count(key, Kind::Released) != (output ? 0 : 1);
            wrong += recorder->count(key, Kind::Failed) != 0;
        }
        CHECK(wrong == 0);
        CHECK(recorder->bad_groups_ == 0);
        CHECK(recorder->bad_times_ == 0);
        CHECK(recorder->bad_bytes_ == 0);
        CHECK(recorder->bad_threads_ == 0);
        CHECK(recorder->max_thread_ >= 0);
        CHECK(recorder->max_thread_ < c.n_threads);
    }
}

TEST_CASE("observers see a failure and a failed run" * doctest::timeout(60)) {
    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        ts::Graph g;
        g.add(task(ts::Key("a"), ops().konst, 1));
        g.add(task(ts::Key("f-1a2b", {3}), ops().fail_value, 0, {ts::Key("a")}));
        g.add(task(ts::Key("b"), ops().sum, 0, {ts::Key("f-1a2b", {3})}));
        auto recorder = std::make_shared<Recorder>(g);
        ts::ComputeOptions options = c.options;
        options.observers.push_back(recorder);
        CHECK_THROWS_WITH_AS(ts::compute_graph(g, {ts::Key("b")}, options), "task ('f-1a2b', 3): boom",
                             ts::ValueError);
        CHECK(recorder->errors_ == std::vector<std::string>{"boom"});
        CHECK(recorder->count("('f-1a2b', 3)", Kind::Failed) == 1);
        CHECK(recorder->count("('f-1a2b', 3)", Kind::Finished) == 0);
        CHECK(recorder->count("'b'", Kind::Started) == 0);
        CHECK(recorder->ends_ == 1);
        CHECK(recorder->summary_.failed);
        CHECK(recorder->summary_.n_finished == 1);
    }
}

TEST_CASE("global observers join every run until removed" * doctest::timeout(60)) {
    ts::Graph g;
    const ts::Key root = build_tree(g, 20, 8, ops().inc);
    auto recorder = std::make_shared<Recorder>(g);
    ts::add_global_observer(recorder);
    for (const auto& c : scheduler_cases()) ts::compute_graph(g, {root}, c.options);
    ts::remove_global_observer(recorder);
    ts::compute_graph(g, {root}, scheduler_cases()[0].options);
    CHECK(recorder->starts_ == 4);
    CHECK(recorder->count(root.str(), Kind::Finished) == 4);
    CHECK_THROWS_WITH_AS(ts::add_global_observer(nullptr), "add_global_observer: the observer is null",
                         ts::ValueError);
}

TEST_CASE("progress bar: Dask-like line, redrawn with \\r, final line with a newline" * doctest::timeout(60)) {
    const std::regex final_line(R"(\r\[#{40}\] \| 100% Completed \| 7/7 tasks \| \d+\.\ds\n$)");
    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        ts::Graph g;
        const ts::Key root = build_tree(g, 6, 8, ops().inc);  // 7 tasks
        std::ostringstream text;
        ts::ComputeOptions options = c.options;
        options.observers.push_back(ts::make_progress_bar(&text));
        ts::compute_graph(g, {root}, options);
        const std::string out = text.str();
        CAPTURE(out);
        CHECK(out.starts_with("\r["));
        CHECK(std::regex_search(out, final_line));
    }
    // A slow run (4 x 250 ms on one thread) is redrawn about every 100 ms while it runs.
    ts::Graph slow;
    for (std::int64_t i = 0; i < 4; ++i) slow.add(task(ts::Key("slow", {i}), ops().count, 250000));
    std::vector<ts::Key> keys;
    for (const auto& t : slow.tasks()) keys.push_back(t.key);
    std::ostringstream text;
    ts::ComputeOptions options = scheduler_cases()[0].options;
    options.observers.push_back(ts::make_progress_bar(&text));
    ts::compute_graph(slow, keys, options);
    const std::string out = text.str();
    CAPTURE(out);
    CHECK(std::count(out.begin(), out.end(), '\r') >= 5);
    CHECK(std::count(out.begin(), out.end(), '\n') == 1);
    CHECK(out.find("\r[####################                    ] | 50% Completed | 2/4 tasks | 0.") !=
          std::string::npos);
    CHECK(std::regex_search(out, std::regex(R"(\r\[#{40}\] \| 100% Completed \| 4/4 tasks \| 1\.\ds\n$)")));
}

TEST_CASE("trace writer: one JSON line per event plus run_start and run_end" * doctest::timeout(60)) {
    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        const std::string path = temp_path("test_scheduler_trace_" + c.label + ".jsonl");
        std::remove(path.c_str());
        ts::Graph g;
        g.add(task(ts::Key("we\"ird\\name", {1}), ops().konst, 4));
        g.add(task(ts::Key("total-0123abcd"), ops().sum, 0, {ts::Key("we\"ird\\name", {1})}));
        {
            ts::ConfigUpdate update;
            update.trace_file = path;
            ts::config::Scoped scoped(update);
            CHECK(ts::compute_graph(g, {ts::Key("total-0123abcd")}, c.options)[0].as<std::int64_t>() == 4);
        }
        const auto lines = read_lines(path);
        REQUIRE(lines.size() == 9);  // run_start, 2 x (queued, started, finished), released, run_end
        CHECK(lines[0].starts_with("{\"event\": \"run_start\", \"run_id\": "));
        CHECK(lines[0].find("\"n_tasks\": 2, \"scheduler\": \"" +
                            std::string(c.label == "sync" ? "sync" : "threads") + "\", \"threads\": " +
                            std::to_string(c.n_threads) + ", ") != std::string::npos);
        CHECK(lines[0].ends_with("\"groups\": {\"we\\\"ird\\\\name\": 1, \"total\": 1}}"));
        CHECK(lines[8].starts_with("{\"event\": \"run_end\", \"run_id\": "));
        CHECK(lines[8].find("\"n_finished\": 2, \"failed\": false, \"seconds\": ") != std::string::npos);
        CHECK(count_containing(lines, "{\"event\": \"queued\", ") == 2);
        CHECK(count_containing(lines, "{\"event\": \"started\", ") == 2);
        CHECK(count_containing(lines, "{\"event\": \"finished\", ") == 2);
        CHECK(count_containing(lines, "{\"event\": \"released\", \"key\": \"('we\\\"ird\\\\name', 1)\", "
                                      "\"group\": \"we\\\"ird\\\\name\", \"thread\": -1, \"bytes\": 8, "
                                      "\"t_ns\": ") == 1);
        CHECK(count_containing(lines, "{\"event\": \"finished\", \"key\": \"'total-0123abcd'\", \"group\": "
                                      "\"total\", \"thread\": ") == 1);
        for (const auto& line : lines) CHECK(line.ends_with("}"));
    }
}

TEST_CASE("trace writer: failures carry the escaped error; unopenable paths" * doctest::timeout(60)) {
    const std::string path = temp_path("test_scheduler_trace_fail.jsonl");
    ts::Graph g;
    g.add(task(ts::Key("bad"), ops().fail_invalid));
    {
        auto writer = ts::make_trace_writer(path);
        ts::ComputeOptions options = scheduler_cases()[0].options;
        options.observers.push_back(writer);
        CHECK_THROWS_AS(ts::compute_graph(g, {ts::Key("bad")}, options), std::invalid_argument);
    }
    const auto lines = read_lines(path);
    REQUIRE(lines.size() == 5);
    CHECK(lines[3].starts_with("{\"event\": \"failed\", \"key\": \"'bad'\", \"group\": \"bad\", \"thread\": 0, "
                               "\"bytes\": 0, \"t_ns\": "));
    CHECK(lines[3].ends_with(", \"error\": \"bad argument\"}"));
    CHECK(lines[4].find("\"n_finished\": 0, \"failed\": true") != std::string::npos);

    CHECK_THROWS_WITH_AS(ts::make_trace_writer("/nonexistent-dir/trace.jsonl"),
                         "cannot open trace file '/nonexistent-dir/trace.jsonl': No such file or directory",
                         ts::IOError);
}

namespace {
class CountingScheduler final : public ts::Scheduler {
public:
    std::string name() const override { return "counting"; }
    std::vector<ts::Value> run(const ts::Graph& graph, const ts::GraphIndex& index,
                               std::span<const std::int64_t> priority, std::span<const std::int64_t> outputs,
                               std::span<const std::shared_ptr<ts::Observer>> observers) override {
        ++runs;
        return ts::make_sync_scheduler()->run(graph, index, priority, outputs, observers);
    }
    int runs = 0;
};
}  // namespace

TEST_CASE("use_scheduler installs a scheduler for the handle's lifetime" * doctest::timeout(60)) {
    ts::Graph g;
    g.add(task(ts::Key("x"), ops().konst, 9));
    ts::ComputeOptions threads = scheduler_cases()[2].options;
    auto outer = std::make_shared<CountingScheduler>();
    auto inner = std::make_shared<CountingScheduler>();
    {
        auto handle = ts::use_scheduler(outer);
        CHECK(handle != nullptr);
        CHECK(ts::compute_graph(g, {ts::Key("x")}, threads)[0].as<std::int64_t>() == 9);
        {
            auto nested = ts::use_scheduler(inner);
            ts::compute_graph(g, {ts::Key("x")}, threads);
            {
                auto none = ts::use_scheduler(nullptr);
                ts::compute_graph(g, {ts::Key("x")}, threads);
            }
            ts::compute_graph(g, {ts::Key("x")}, threads);
        }
        ts::compute_graph(g, {ts::Key("x")}, threads);
    }
    ts::compute_graph(g, {ts::Key("x")}, threads);
    CHECK(outer->runs == 2);
    CHECK(inner->runs == 2);
}

TEST_CASE("scheduler choice: options, configuration, errors" * doctest::timeout(60)) {
    ts::Graph g;
    g.add(task(ts::Key("x"), ops().konst, 2));
    auto recorder = std::make_shared<Recorder>(g);
    ts::ComputeOptions options;
    options.progress = false;
    options.observers.push_back(recorder);
    {
        ts::ConfigUpdate update;
        update.num_threads = 3;
        update.scheduler = "threads";
        ts::config::Scoped scoped(update);
        ts::compute_graph(g, {ts::Key("x")}, options);
        CHECK(recorder->info_.scheduler == "threads");
        CHECK(recorder->info_.n_threads == 3);
    }
    {
        ts::ConfigUpdate update;
        update.scheduler = "sync";
        ts::config::Scoped scoped(update);
        ts::compute_graph(g, {ts::Key("x")}, options);
        CHECK(recorder->info_.scheduler == "sync");
        options.scheduler = "threads";
        options.num_threads = 2;
        ts::compute_graph(g, {ts::Key("x")}, options);
        CHECK(recorder->info_.scheduler == "threads");
        CHECK(recorder->info_.n_threads == 2);
        options.num_threads = 0;
        ts::compute_graph(g, {ts::Key("x")}, options);
        CHECK(recorder->info_.n_threads == static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    }
    options.scheduler = "synchronous";
    ts::compute_graph(g, {ts::Key("x")}, options);
    CHECK(recorder->info_.scheduler == "sync");

    // "tcp://HOST:PORT" addresses connect to a cluster: tested in test_distributed.
    options.scheduler = "processes";
    CHECK_THROWS_WITH_AS(ts::compute_graph(g, {ts::Key("x")}, options),
                         "unknown scheduler 'processes': expected 'sync', 'threads' or 'tcp://HOST:PORT'",
                         ts::ConfigError);
    options.scheduler = "threads";
    options.num_threads = -1;
    CHECK_THROWS_WITH_AS(ts::compute_graph(g, {ts::Key("x")}, options), "num_threads must be >= 0, got -1",
                         ts::ConfigError);
}
