// The distributed scheduler's dashboard: a real SchedulerServer in this process with its
// dashboard on a free port, two worker processes (this binary in worker mode), computations
// through a Client, then the same JSON API, event stream and errors as the local dashboard.

#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/processes.hpp"
#include "scheduler/dist/scheduler_server.hpp"
#include "tessera/array.hpp"
#include "tessera/distributed.hpp"
#include "tessera/error.hpp"
#include "tessera/graph.hpp"
#include "tessera/scheduler.hpp"

namespace ts = tessera;
using tessera::test::wait_exit;
using json = nlohmann::json;

namespace {

std::int64_t param(const ts::TaskContext& ctx) {
    std::int64_t v = 0;
    if (ctx.task.params.size() == sizeof v) std::memcpy(&v, ctx.task.params.data(), sizeof v);
    return v;
}
ts::Value op_konst(const ts::TaskContext& ctx) { return ts::Value::from(param(ctx)); }
ts::Value op_fail(const ts::TaskContext& ctx) { throw ts::ValueError("boom {}", param(ctx)); }
ts::Value op_add(const ts::TaskContext& ctx) {
    std::int64_t total = 0;
    for (const ts::Value* v : ctx.inputs) total += v->as<std::int64_t>();
    return ts::Value::from(total);
}

ts::Value op_slow_add(const ts::TaskContext& ctx) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::int64_t total = param(ctx);
    for (const ts::Value* v : ctx.inputs) total += v->as<std::int64_t>();
    return ts::Value::from(total);
}

}  // namespace

TESSERA_REGISTER_KERNEL("cdash_test.konst", op_konst);
TESSERA_REGISTER_KERNEL("cdash_test.slow_add", op_slow_add);
TESSERA_REGISTER_KERNEL("cdash_test.fail", op_fail);
TESSERA_REGISTER_KERNEL("cdash_test.add", op_add);

#include "tests/support/worker_mode.hpp"

namespace {

// After the kernels: in worker mode the process becomes a worker here.
const bool g_worker_mode = (test_support::become_worker_if_asked(), false);

constexpr std::int64_t kMemoryLimit = std::int64_t{1} << 30;  // "1GiB"

std::string params_of(std::int64_t v) {
    std::string s(sizeof v, '\0');
    std::memcpy(s.data(), &v, sizeof v);
    return s;
}

pid_t spawn_worker(const std::string& address, const std::string& name, int nthreads) {
    const std::string self = "/proc/self/exe";
    std::vector<std::string> args{self, address, "--nthreads", std::to_string(nthreads), "--memory-limit", "1GiB",
                                  "--name", name};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_text{"TESSERA_TEST_WORKER_MODE=1"};
    for (char** e = ::environ; *e != nullptr; ++e)
        if (std::strncmp(*e, "TESSERA_TEST_WORKER_MODE=", 25) != 0) env_text.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    REQUIRE(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), envp.data()) == 0);
    return pid;
}

/// The scheduler (dashboard on a free port) and two workers: "w-two" with 2 threads, "w-one"
/// with 1, both with a 1 GiB memory limit.
struct Cluster {
    ts::dist::SchedulerServer server{{.host = "127.0.0.1", .port = 0, .dashboard_port = 0}};
    std::vector<pid_t> workers;
    int port = 0;

    Cluster() {
        server.start_thread();
        const std::string url = server.dashboard_url();
        REQUIRE(url.rfind("http://127.0.0.1:", 0) == 0);
        port = std::stoi(url.substr(17));
        REQUIRE(port > 0);
        workers.push_back(spawn_worker(server.address(), "w-two", 2));
        workers.push_back(spawn_worker(server.address(), "w-one", 1));
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (server.n_workers() < 2 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        REQUIRE(server.n_workers() == 2);
    }
    ~Cluster() {
        server.stop();  // sends Shutdown to the workers
        for (pid_t pid : workers) wait_exit(pid, 10);
    }

    httplib::Result get(const std::string& path) const {
        httplib::Client cli("127.0.0.1", port);
        cli.set_connection_timeout(5);
        cli.set_read_timeout(10);
        return cli.Get(path);
    }
    json get_json(const std::string& path, int expected = 200) const {
        auto res = get(path);
        REQUIRE(res);
        INFO(path << " -> " << res->status << " " << res->body.substr(0, 400));
        REQUIRE(res->status == expected);
        REQUIRE(res->get_header_value("Content-Type").rfind("application/json", 0) == 0);
        return json::parse(res->body);
    }
};

/// Records what compute() announces for each run (the graph's task count and groups).
struct RunLog final : ts::Observer {
    std::mutex mutex;
    std::vector<ts::RunInfo> runs;
    void on_run_start(const ts::RunInfo& info) override {
        std::lock_guard lock(mutex);
        ts::RunInfo copy = info;
        copy.graph = nullptr;
        runs.push_back(std::move(copy));
    }
};

struct ObserverScope {
    std::shared_ptr<RunLog> log = std::make_shared<RunLog>();
    ObserverScope() { ts::add_global_observer(log); }
    ~ObserverScope() { ts::remove_global_observer(log); }
};

const json* find_worker(const json& workers, const std::string& name) {
    for (const json& w : workers)
        if (w["name"] == name) return &w;
    return nullptr;
}

}  // namespace

TEST_CASE("the cluster dashboard shows a 1,000-task array run, its workers and the task stream" *
          doctest::timeout(60)) {
    Cluster cluster;
    ObserverScope observer;
    ts::Client client(cluster.server.address());

    // x = 0..63999 in 1000 chunks: sum(2x + 1) = n^2.
    constexpr std::int64_t n = 64000;
    const ts::Array x = ts::arange(n, {.chunks = ts::ChunkSpec(std::int64_t{64})});
    const double total = (x * 2.0 + 1.0).sum().compute().item<double>();
    CHECK(total == static_cast<double>(n) * static_cast<double>(n));

    REQUIRE(observer.log->runs.size() == 1);
    const ts::RunInfo info = observer.log->runs.front();
    REQUIRE(info.n_tasks >= 1000);

    const json status = cluster.get_json("/api/v1/status");
    REQUIRE(status["run"].is_object());
    const json& run = status["run"];
    CHECK(run["n_tasks"] == info.n_tasks);
    CHECK(run["state"] == "finished");
    CHECK(run["scheduler"] == "distributed");
    CHECK(run["n_threads"] == 3);
    // Every group as announced by compute(), every task in memory or released.
    std::map<std::string, std::int64_t> expected(info.groups.begin(), info.groups.end());
    std::map<std::string, std::int64_t> shown;
    std::int64_t sum = 0;
    for (const json& g : status["groups"]) {
        shown[g["name"].get<std::string>()] = g["total"].get<std::int64_t>();
        sum += g["total"].get<std::int64_t>();
        CHECK(g["memory"].get<std::int64_t>() + g["released"].get<std::int64_t>() == g["total"].get<std::int64_t>());
        CHECK(g["waiting"] == 0);
        CHECK(g["processing"] == 0);
        CHECK(g["erred"] == 0);
    }
    CHECK(shown == expected);
    CHECK(sum == info.n_tasks);
    CHECK(status["totals"]["total"] == info.n_tasks);
    CHECK(status["totals"]["memory"].get<std::int64_t>() + status["totals"]["released"].get<std::int64_t>() ==
          info.n_tasks);
    CHECK(status["errors"].empty());

    // The workers: names, addresses, threads, memory limits; figures from their heartbeats.
    json workers;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
        workers = cluster.get_json("/api/v1/workers")["workers"];
        bool reported = workers.size() == 2;
        for (const json& w : workers) reported = reported && w["rss_bytes"].get<std::int64_t>() > 0;
        if (reported || std::chrono::steady_clock::now() > deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(workers.size() == 2);
    const json* two = find_worker(workers, "w-two");
    const json* one = find_worker(workers, "w-one");
    REQUIRE(two != nullptr);
    REQUIRE(one != nullptr);
    CHECK((*two)["n_threads"] == 2);
    CHECK((*one)["n_threads"] == 1);
    std::set<std::string> addresses;
    std::int64_t finished = 0;
    for (const json* w : {two, one}) {
        CHECK((*w)["memory_limit"] == kMemoryLimit);
        CHECK((*w)["address"].get<std::string>().rfind("tcp://127.0.0.1:", 0) == 0);
        CHECK((*w)["id"] == (*w)["address"]);
        CHECK((*w)["rss_bytes"].get<std::int64_t>() > 0);
        CHECK((*w)["spilled_bytes"] == 0);
        CHECK((*w)["processing"] == 0);
        CHECK((*w)["last_seen"].get<double>() < 3.0);
        addresses.insert((*w)["address"].get<std::string>());
        finished += (*w)["n_finished"].get<std::int64_t>();
    }
    CHECK(finished == info.n_tasks);

    // The task stream: one bar per task, on a lane (worker address, thread) of a real thread.
    const json tasks = cluster.get_json("/api/v1/tasks?since=0&limit=100000");
    CHECK(tasks["tasks"].size() == static_cast<std::size_t>(info.n_tasks));
    std::set<std::string> keys;
    std::map<std::string, std::int64_t> per_group;
    for (const json& t : tasks["tasks"]) {
        const std::string worker = t["worker"].get<std::string>();
        CHECK(addresses.count(worker) == 1);
        const int threads = worker == (*two)["address"] ? 2 : 1;
        CHECK(t["thread"].get<int>() >= 0);
        CHECK(t["thread"].get<int>() < threads);
        CHECK(t["stop"].get<double>() >= t["start"].get<double>());
        CHECK_FALSE(t["failed"].get<bool>());
        keys.insert(t["key"].get<std::string>());
        ++per_group[t["group"].get<std::string>()];
    }
    CHECK(keys.size() == static_cast<std::size_t>(info.n_tasks));
    CHECK(per_group == expected);

    // Exports built from the same model.
    auto metrics = cluster.get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->status == 200);
    auto trace = cluster.get("/api/v1/trace.json");
    REQUIRE(trace);
    CHECK(trace->status == 200);
    CHECK(json::parse(trace->body)["traceEvents"].size() > static_cast<std::size_t>(info.n_tasks));
    CHECK(cluster.get_json("/api/v1/graph")["n_tasks"] == info.n_tasks);
}

TEST_CASE("the cluster dashboard streams events and shows a task's error" * doctest::timeout(60)) {
    Cluster cluster;
    ts::Client client(cluster.server.address());

    // An event stream open during the runs: a snapshot, then updates.
    std::atomic<bool> stop{false};
    std::mutex text_mutex;
    std::string text;
    std::thread reader([&] {
        httplib::Client cli("127.0.0.1", cluster.port);
        cli.set_connection_timeout(5);
        cli.set_read_timeout(20);
        cli.Get("/events", [&](const char* data, std::size_t size) {
            std::lock_guard lock(text_mutex);
            text.append(data, size);
            return !stop.load();
        });
    });
    auto stream_has = [&](const std::string& needle) {
        std::lock_guard lock(text_mutex);
        return text.find(needle) != std::string::npos;
    };
    auto wait_for = [&](const std::string& needle) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        while (!stream_has(needle) && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return stream_has(needle);
    };
    CHECK(wait_for("event: snapshot"));

    ts::Graph g;
    const ts::Key input("seed");
    const ts::Key bad("explode", {3});
    g.add(ts::Task{input, ts::op_id("cdash_test.konst"), params_of(5), {}});
    g.add(ts::Task{bad, ts::op_id("cdash_test.fail"), params_of(7), {input}});
    CHECK_THROWS_WITH_AS(ts::compute_graph(g, {bad}), "task ('explode', 3): boom 7", ts::ValueError);

    const json status = cluster.get_json("/api/v1/status");
    REQUIRE(status["run"].is_object());
    CHECK(status["run"]["state"] == "failed");
    CHECK(status["run"]["n_tasks"] == 2);
    REQUIRE(status["errors"].size() == 1);
    CHECK(status["errors"][0]["key"] == "('explode', 3)");
    CHECK(status["errors"][0]["group"] == "explode");
    CHECK(status["errors"][0]["message"] == "ValueError: boom 7");
    CHECK(status["errors"][0]["run"] == status["run"]["id"]);
    const json groups = status["groups"];
    for (const json& group : groups) {
        if (group["name"] == "explode") CHECK(group["erred"] == 1);
        if (group["name"] == "seed") CHECK(group["memory"].get<std::int64_t>() + group["released"].get<std::int64_t>() == 1);
    }
    // The failed execution is a red bar of the stream.
    bool failed_bar = false;
    const json stream = cluster.get_json("/api/v1/tasks");
    INFO(stream.dump());
    for (const json& t : stream["tasks"])
        failed_bar |= t["key"] == "('explode', 3)" && t["failed"].get<bool>();
    CHECK(failed_bar);

    // The stream carries the failure as an update event.
    CHECK(wait_for("event: update"));
    CHECK(wait_for("boom 7"));
    stop = true;
    reader.join();

    // Three runs at once from three clients' threads: each shown with its own totals.
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int k = 0; k < 3; ++k) {
        threads.emplace_back([&, k] {
            ts::Client other(cluster.server.address(), {.set_as_default = false});
            const std::int64_t m = 1000 * (k + 1);
            ts::Graph graph;
            graph.add(ts::Task{ts::Key("k", {k}), ts::op_id("cdash_test.konst"), params_of(m), {}});
            const ts::GraphIndex index = ts::index_graph(graph);
            const std::vector<std::int64_t> priority(graph.size(), 0);
            const std::vector<std::int64_t> outputs{0};
            const std::vector<ts::Value> out = other.run(graph, index, priority, outputs, {});
            if (out.size() == 1 && out[0].as<std::int64_t>() == m) ++ok;
        });
    }
    for (auto& t : threads) t.join();
    CHECK(ok == 3);
    const json after = cluster.get_json("/api/v1/status");
    std::int64_t finished_runs = 0;
    for (const json& r : after["runs"]) finished_runs += r["state"] == "finished" && r["n_tasks"] == 1;
    CHECK(finished_runs == 3);
}

TEST_CASE("bad dashboard requests get 404 and 400 and leave the scheduler running" * doctest::timeout(60)) {
    Cluster cluster;
    ts::Client client(cluster.server.address());

    CHECK(cluster.get_json("/api/v1/nothing-here", 404)["status"] == 404);
    CHECK(cluster.get_json("/api/v1/tasks?since=abc", 400)["error"] ==
          "invalid query parameter 'since': expected an integer in [0, 9223372036854775807], got 'abc'");
    CHECK(cluster.get_json("/api/v1/status?run=12345", 404)["error"] ==
          "no run with id 12345 (the dashboard keeps the last 16 runs)");
    CHECK(cluster.get_json("/api/v1/workers?verbose=1", 400)["error"] ==
          "unknown query parameter 'verbose' for /api/v1/workers (allowed: none)");
    auto post = httplib::Client("127.0.0.1", cluster.port).Post("/api/v1/status", "x", "text/plain");
    REQUIRE(post);
    CHECK(post->status == 405);
    auto page = cluster.get("/workers");
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(page->body.find("<html") != std::string::npos);

    // The scheduler still serves computations, and the dashboard shows them.
    const ts::Array x = ts::arange(std::int64_t{100}, {.chunks = ts::ChunkSpec(std::int64_t{10})});
    CHECK(x.sum().compute().item<std::int64_t>() == 4950);
    CHECK(cluster.get_json("/api/v1/status")["run"]["state"] == "finished");
    CHECK(cluster.server.n_workers() == 2);
}

TEST_CASE("the dashboard is off by default and a taken port falls back to a free one" * doctest::timeout(60)) {
    ts::dist::SchedulerServer plain({.host = "127.0.0.1", .port = 0});
    CHECK(plain.dashboard_url().empty());

    ts::dist::SchedulerServer first({.host = "127.0.0.1", .port = 0, .dashboard_port = 0});
    const std::string url = first.dashboard_url();
    const int taken = std::stoi(url.substr(17));
    ts::dist::SchedulerServer second({.host = "127.0.0.1", .port = 0, .dashboard_port = taken});
    const std::string other = second.dashboard_url();
    REQUIRE(other.rfind("http://127.0.0.1:", 0) == 0);
    CHECK(std::stoi(other.substr(17)) != taken);

    CHECK_THROWS_WITH_AS(ts::dist::SchedulerServer({.host = "127.0.0.1", .port = 0, .dashboard_port = 70000}),
                         "dashboard port must be in [0, 65535], got 70000", ts::ConfigError);
}

TEST_CASE("a client's futures are one growing run of the cluster dashboard" * doctest::timeout(60)) {
    Cluster cluster;
    ts::Client client(cluster.server.address());

    // add(k, 1) for k < 20, then a sum of all twenty: 21 tasks plus their literal arguments.
    std::vector<ts::Future> parts;
    for (std::int64_t k = 0; k < 20; ++k)
        parts.push_back(client.submit("cdash_test.add", {k, std::int64_t{1}}));
    std::vector<ts::TaskArg> all(parts.begin(), parts.end());
    const ts::Future total = client.submit("cdash_test.add", all, {.key = "total"});
    CHECK(total.result().as<std::int64_t>() == 210);  // sum of 1..20

    json status = cluster.get_json("/api/v1/status");
    REQUIRE(status["run"].is_object());
    CHECK(status["run"]["scheduler"] == "futures");
    CHECK(status["run"]["state"] == "running");
    std::map<std::string, std::int64_t> done;
    std::int64_t sum = 0;
    for (const json& g : status["groups"]) {
        sum += g["total"].get<std::int64_t>();
        CHECK(g["waiting"] == 0);
        CHECK(g["processing"] == 0);
        CHECK(g["erred"] == 0);
        done[g["name"].get<std::string>()] = g["memory"].get<std::int64_t>() + g["released"].get<std::int64_t>();
    }
    CHECK(sum == status["run"]["n_tasks"].get<std::int64_t>());
    INFO(status["groups"].dump());
    CHECK(done["cdash_test.add"] == 20);
    CHECK(done["total"] == 1);

    // A failing future: its key and message, and the run goes on.
    const ts::Future bad = client.submit("cdash_test.fail", {}, {.key = "doomed"});
    CHECK_THROWS_AS(bad.result(), ts::ValueError);
    status = cluster.get_json("/api/v1/status");
    REQUIRE(status["errors"].size() == 1);
    CHECK(status["errors"][0]["key"] == "'doomed'");
    CHECK(status["errors"][0]["message"] == "ValueError: boom 0");
    CHECK(status["run"]["state"] == "running");
    for (const json& g : status["groups"])
        if (g["name"] == "doomed") CHECK(g["erred"] == 1);
}

TEST_CASE("after a worker dies the cluster dashboard's counts still add up" * doctest::timeout(60)) {
    Cluster cluster;
    ts::Client client(cluster.server.address());

    // 90 slow leaves (20 ms each) summed by one task: sum of k + 1 for k < 90 = 4095.
    ts::Graph g;
    std::vector<ts::Key> leaves;
    for (std::int64_t k = 0; k < 90; ++k) {
        leaves.emplace_back("leaf", std::vector<std::int64_t>{k});
        g.add(ts::Task{leaves.back(), ts::op_id("cdash_test.slow_add"), params_of(k + 1), {}});
    }
    const ts::Key root("root");
    g.add(ts::Task{root, ts::op_id("cdash_test.slow_add"), params_of(0), leaves});

    std::int64_t result = 0;
    std::thread run([&] { result = ts::compute_graph(g, {root})[0].as<std::int64_t>(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::kill(cluster.workers[1], SIGKILL);  // w-one, with results and a task in flight
    run.join();
    CHECK(result == 4095);

    const json status = cluster.get_json("/api/v1/status");
    REQUIRE(status["run"].is_object());
    CHECK(status["run"]["state"] == "finished");
    CHECK(status["run"]["n_tasks"] == 91);
    for (const json& group : status["groups"]) {
        CAPTURE(group.dump());
        CHECK(group["memory"].get<std::int64_t>() + group["released"].get<std::int64_t>() == group["total"].get<std::int64_t>());
        CHECK(group["processing"] == 0);
        CHECK(group["waiting"] == 0);
    }
    const json workers = cluster.get_json("/api/v1/workers")["workers"];
    REQUIRE(workers.size() == 1);
    CHECK(workers[0]["name"] == "w-two");
}

TEST_CASE("tessera-scheduler prints its dashboard's URL once and serves it" * doctest::timeout(60)) {
    const std::string program = std::string(TESSERA_BINARY_DIR) + "/tessera-scheduler";
    REQUIRE(::access(program.c_str(), X_OK) == 0);
    int out[2];
    REQUIRE(::pipe(out) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::vector<std::string> args{program, "--port", "0", "--dashboard-port", "0"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    REQUIRE(::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), ::environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);

    // stderr until the dashboard line (the scheduler's own address comes first).
    std::string text;
    const std::string marker = "tessera scheduler: dashboard at ";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        const auto at = text.find(marker);
        if (at != std::string::npos && text.find('\n', at) != std::string::npos) break;
        char buffer[256];
        const ssize_t n = ::read(out[0], buffer, sizeof buffer);
        if (n <= 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
    }
    INFO(text);
    const auto at = text.find(marker);
    REQUIRE(at != std::string::npos);
    CHECK(text.find("tessera scheduler: listening on tcp://127.0.0.1:") < at);
    const std::string url = text.substr(at + marker.size(), text.find('\n', at) - at - marker.size());
    REQUIRE(url.rfind("http://127.0.0.1:", 0) == 0);
    CHECK(url.back() == '/');
    const int port = std::stoi(url.substr(17));
    httplib::Client cli("127.0.0.1", port);
    cli.set_connection_timeout(5);
    auto health = cli.Get("/health");
    REQUIRE(health);
    CHECK(health->body == "ok\n");
    auto workers = cli.Get("/api/v1/workers");
    REQUIRE(workers);
    CHECK(json::parse(workers->body)["workers"].empty());

    ::kill(pid, SIGTERM);
    CHECK(wait_exit(pid, 10) == 0);
    ::close(out[0]);
    CHECK(text.find(marker, at + 1) == std::string::npos);  // printed once
}
