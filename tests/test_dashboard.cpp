// The dashboard over HTTP: every endpoint after a run of delayed tasks, errors, bad requests and
// the start-up checks. Server-sent events and concurrency: dashboard/events.cpp; the model and the
// observer without a server: dashboard/model.cpp.

#include <doctest/doctest.h>

#include <regex>
#include <set>

#include "dashboard/auto.hpp"
#include "dashboard/helpers.hpp"
#include "tessera/config.hpp"
#include "tessera/error.hpp"
#include "tessera/ndarray.hpp"

using namespace dash_test;

TEST_CASE("dashboard: every endpoint after a run of 2,190 delayed tasks" * doctest::timeout(120)) {
    ts::Dashboard dashboard(free_port());
    const int port = dashboard.port();
    REQUIRE(port > 0);
    CHECK(dashboard.url() == "http://127.0.0.1:" + std::to_string(port) + "/");

    const ts::Delayed total = sum_graph(1990);
    const std::int64_t n = n_tasks_of_sum_graph(1990);
    REQUIRE(total.graph().size() == n);
    CHECK(total.compute(threads(2)).as<std::int64_t>() == 1990 * 1991 / 2);

    SUBCASE("status: groups and totals add up to the graph") {
        const json status = get_json(port, "/api/v1/status");
        const json& run = status["run"];
        CHECK(run["n_tasks"] == n);
        CHECK(run["state"] == "finished");
        CHECK(run["scheduler"] == "threads");
        CHECK(run["n_threads"] == 2);
        CHECK(run["n_done"] == n);
        const json& totals = status["totals"];
        CHECK(totals["total"] == n);
        CHECK(totals["waiting"] == 0);
        CHECK(totals["processing"] == 0);
        CHECK(totals["erred"] == 0);
        // Everything was consumed except the output, which stays in memory.
        CHECK(totals["released"] == n - 1);
        CHECK(totals["memory"] == 1);
        REQUIRE(status["groups"].size() == 3);
        std::int64_t sum = 0;
        for (const json& g : status["groups"]) {
            sum += g["total"].get<std::int64_t>();
            CHECK(g["waiting"].get<std::int64_t>() + g["processing"].get<std::int64_t>() +
                      g["memory"].get<std::int64_t>() + g["released"].get<std::int64_t>() +
                      g["erred"].get<std::int64_t>() ==
                  g["total"]);
        }
        CHECK(sum == n);
        CHECK(group(status["groups"], "inc")["total"] == 1990);
        CHECK(group(status["groups"], "inc")["released"] == 1990);
        CHECK(group(status["groups"], "partial")["total"] == 199);
        CHECK(group(status["groups"], "total")["memory"] == 1);
        CHECK(status["errors"].empty());
        CHECK(status["tasks_next"] == n);
        // The same run by id; an unknown id is a 404 naming it.
        CHECK(get_json(port, "/api/v1/status?run=" + std::to_string(run["id"].get<std::int64_t>()))["run"]["id"] ==
              run["id"]);
        const json missing = get_json(port, "/api/v1/status?run=999999999", 404);
        CHECK(missing["error"] == "no run with id 999999999 (the dashboard keeps the last 16 runs)");
    }

    SUBCASE("tasks: one stream record per task, paged by since/limit") {
        const json all = get_json(port, "/api/v1/tasks?since=0&limit=100000");
        REQUIRE(all["tasks"].size() == static_cast<std::size_t>(n));
        CHECK(all["next"] == n);
        CHECK(all["dropped"] == 0);
        std::set<std::string> keys;
        std::set<std::string> expected;
        const ts::Graph graph = total.graph();
        for (const ts::Task& t : graph.tasks()) expected.insert(t.key.str());
        std::int64_t seq = 0;
        for (const json& t : all["tasks"]) {
            CHECK(t["seq"] == seq++);
            keys.insert(t["key"].get<std::string>());
            CHECK(t["stop"].get<double>() >= t["start"].get<double>());
            CHECK(t["thread"].get<int>() >= 0);
            CHECK(t["thread"].get<int>() < 2);
            CHECK(t["worker"] == "local");
            CHECK(t["failed"] == false);
            const std::string g = t["group"];
            CHECK((g == "inc" || g == "partial" || g == "total"));
        }
        CHECK(keys == expected);
        const json page = get_json(port, "/api/v1/tasks?since=10&limit=5");
        REQUIRE(page["tasks"].size() == 5);
        CHECK(page["tasks"][0]["seq"] == 10);
        CHECK(page["next"] == 15);
        const json end = get_json(port, "/api/v1/tasks?since=" + std::to_string(n));
        CHECK(end["tasks"].empty());
        CHECK(end["next"] == n);
    }

    SUBCASE("workers: this process with its threads") {
        const json body = get_json(port, "/api/v1/workers");
        REQUIRE(body["workers"].size() == 1);
        const json& w = body["workers"][0];
        CHECK(w["id"] == "local");
        CHECK(w["n_threads"].get<int>() >= 2);
        CHECK(w["processing"] == 0);
        CHECK(w["n_finished"] == n);
        CHECK(w["memory_bytes"] == ts::Buffer::live_bytes());
        std::int64_t n_run = 0;
        for (const json& t : w["threads"]) {
            n_run += t["n_tasks"].get<std::int64_t>();
            CHECK(t["busy"] == false);
        }
        CHECK(n_run == n);
    }

    SUBCASE("graph: tasks and dependencies, or groups") {
        const json g = get_json(port, "/api/v1/graph");
        CHECK(g["n_tasks"] == n);
        if constexpr (kRunInfoHasGraph) {
            CHECK(g["mode"] == "tasks");
            CHECK(g["nodes"].size() == static_cast<std::size_t>(n));
            CHECK(g["edges"].size() == static_cast<std::size_t>(1990 + 199));
            for (const json& node : g["nodes"]) CHECK((node["state"] == "released" || node["state"] == "memory"));
        } else {
            // Without the graph in RunInfo: one node per group, no dependencies.
            CHECK(g["mode"] == "groups");
            CHECK(g["nodes"].size() == 3);
            std::int64_t sum = 0;
            for (const json& node : g["nodes"]) sum += node["total"].get<std::int64_t>();
            CHECK(sum == n);
        }
    }

    SUBCASE("profile: time per group") {
        const json p = get_json(port, "/api/v1/profile");
        REQUIRE(p["groups"].size() == 3);
        double fractions = 0;
        std::int64_t finished = 0;
        for (const json& g : p["groups"]) {
            fractions += g["fraction"].get<double>();
            finished += g["n_finished"].get<std::int64_t>();
            CHECK(g["seconds"].get<double>() >= 0);
            CHECK(g["max_seconds"].get<double>() <= g["seconds"].get<double>() + 1e-12);
        }
        CHECK(finished == n);
        CHECK(fractions == doctest::Approx(1.0).epsilon(1e-9));
    }

    SUBCASE("system: host figures from /proc") {
        const json s = get_json(port, "/api/v1/system");
        CHECK(s["latest"]["memory_total"].get<std::int64_t>() > 0);
        CHECK(s["latest"]["memory_available"].get<std::int64_t>() <= s["latest"]["memory_total"].get<std::int64_t>());
        CHECK(s["latest"]["process_rss"].get<std::int64_t>() > 0);
        CHECK(s["latest"]["cpu_percent"].get<double>() >= 0);
        CHECK(s["latest"]["cpu_percent"].get<double>() <= 100);
        CHECK(s["latest"]["n_cpus"].get<int>() >= 1);
        CHECK(!s["history"].empty());
    }

    SUBCASE("trace.json: one complete event per task in Chrome trace format") {
        const json trace = get_json(port, "/api/v1/trace.json");
        std::int64_t complete = 0, thread_names = 0;
        std::set<int> tids;
        for (const json& e : trace["traceEvents"]) {
            if (e["ph"] == "X") {
                ++complete;
                tids.insert(e["tid"].get<int>());
                CHECK(e["dur"].get<double>() >= 0);
                CHECK(e["pid"] == 1);
                CHECK(e.contains("ts"));
                CHECK(e.contains("tid"));
            } else {
                CHECK(e["ph"] == "M");
                thread_names += e["name"] == "thread_name" ? 1 : 0;
            }
        }
        CHECK(complete == n);
        // One lane name per thread that ran something (with trivial tasks one thread may run all).
        CHECK(thread_names == static_cast<std::int64_t>(tids.size()));
        CHECK(!tids.empty());
        CHECK(trace["displayTimeUnit"] == "ms");
    }

    SUBCASE("metrics: Prometheus text format") {
        const Response r = get(port, "/metrics");
        REQUIRE(r.status == 200);
        CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
        const std::regex sample(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.eE+-]+$)");
        const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
        std::istringstream lines(r.body);
        std::string line;
        std::int64_t n_samples = 0;
        while (std::getline(lines, line)) {
            INFO(line);
            CHECK((std::regex_match(line, sample) || std::regex_match(line, comment)));
            n_samples += line.starts_with("#") ? 0 : 1;
        }
        CHECK(n_samples > 20);
        CHECK(r.body.find("# TYPE tessera_tasks_total counter\n") != std::string::npos);
        CHECK(r.body.find("tessera_tasks_total{state=\"finished\"} " + std::to_string(n) + "\n") != std::string::npos);
        CHECK(r.body.find("tessera_tasks_total{state=\"released\"} " + std::to_string(n - 1) + "\n") != std::string::npos);
        CHECK(r.body.find("tessera_tasks{state=\"memory\"} 1\n") != std::string::npos);
        CHECK(r.body.find("tessera_memory_bytes ") != std::string::npos);
        CHECK(r.body.find("tessera_group_tasks_total{group=\"inc\",result=\"finished\"} 1990\n") != std::string::npos);
    }

    SUBCASE("pages and static assets") {
        for (const char* page : {"/", "/status", "/workers", "/graph", "/profile", "/system"}) {
            const Response r = get(port, page);
            INFO(page);
            CHECK(r.status == 200);
            CHECK(r.content_type == "text/html; charset=utf-8");
            CHECK(r.body.find("<title>Tessera dashboard</title>") != std::string::npos);
        }
        const Response js = get(port, "/static/app.js");
        CHECK(js.status == 200);
        CHECK(js.content_type == "text/javascript; charset=utf-8");
        CHECK(js.body.size() > 1000);
        CHECK(get(port, "/static/style.css").content_type == "text/css; charset=utf-8");
        CHECK(get(port, "/favicon.ico").content_type == "image/svg+xml");
        CHECK(get(port, "/health").body == "ok\n");
    }
}

TEST_CASE("dashboard: unknown paths, bad parameters and other methods" * doctest::timeout(60)) {
    ts::Dashboard dashboard(free_port());
    const int port = dashboard.port();

    const Response page = get(port, "/nope");
    CHECK(page.status == 404);
    CHECK(page.content_type == "text/plain; charset=utf-8");
    CHECK(page.body.starts_with("404 no such page or endpoint: /nope (available: /, /status"));
    const json api = get_json(port, "/api/v1/nope", 404);
    CHECK(api["status"] == 404);
    CHECK(api["error"].get<std::string>().starts_with("no such page or endpoint: /api/v1/nope (available: "));
    CHECK(get(port, "/static/missing.js").status == 404);

    CHECK(get_json(port, "/api/v1/tasks?since=abc", 400)["error"] ==
          "invalid query parameter 'since': expected an integer in [0, 9223372036854775807], got 'abc'");
    CHECK(get_json(port, "/api/v1/tasks?since=-1", 400)["error"] ==
          "invalid query parameter 'since': expected an integer in [0, 9223372036854775807], got '-1'");
    CHECK(get_json(port, "/api/v1/tasks?since=12x", 400)["error"] ==
          "invalid query parameter 'since': expected an integer in [0, 9223372036854775807], got '12x'");
    CHECK(get_json(port, "/api/v1/tasks?since=", 400)["error"] ==
          "invalid query parameter 'since': expected an integer in [0, 9223372036854775807], got ''");
    CHECK(get_json(port, "/api/v1/tasks?limit=0", 400)["error"] ==
          "invalid query parameter 'limit': expected an integer in [1, 100000], got '0'");
    CHECK(get_json(port, "/api/v1/tasks?sinse=3", 400)["error"] ==
          "unknown query parameter 'sinse' for /api/v1/tasks (allowed: since, limit)");
    CHECK(get_json(port, "/api/v1/workers?x=1", 400)["error"] ==
          "unknown query parameter 'x' for /api/v1/workers (allowed: none)");
    CHECK(get_json(port, "/api/v1/graph?run=first", 400)["error"] ==
          "invalid query parameter 'run': expected an integer in [0, 9223372036854775807], got 'first'");
    CHECK(get_json(port, "/api/v1/trace.json?run=5000000", 404)["error"] ==
          "no run with id 5000000 (the dashboard keeps the last 16 runs)");

    httplib::Client cli = client(port);
    auto post = cli.Post("/api/v1/status", "{}", "application/json");
    REQUIRE(post);
    CHECK(post->status == 405);
    CHECK(post->get_header_value("Allow") == "GET, HEAD");
    CHECK(json::parse(post->body)["error"] == "method POST is not allowed on /api/v1/status: the dashboard is read-only");

    // Before any run: empty but well-formed documents.
    const json status = get_json(port, "/api/v1/status");
    CHECK(status["totals"]["total"].is_number());
    CHECK(status["groups"].is_array());
}

TEST_CASE("dashboard: a failing task is listed with its key and message" * doctest::timeout(60)) {
    ts::Dashboard dashboard(free_port());
    auto ok = ts::delayed([](std::int64_t i) { return i; }, {.name = "ok_part"});
    auto bad = ts::delayed([](std::int64_t) -> std::int64_t { throw ts::ValueError("sensor 3 returned no data"); },
                           {.name = "bad_part"});
    auto join = ts::delayed([](std::int64_t a, std::int64_t b) { return a + b; }, {.name = "join"});
    const ts::Delayed failing = join(ok(1), bad(3));
    CHECK_THROWS_AS(failing.compute(threads(2)), ts::ValueError);

    const json status = get_json(dashboard.port(), "/api/v1/status");
    CHECK(status["run"]["state"] == "failed");
    CHECK(status["totals"]["erred"] == 1);
    CHECK(status["totals"]["total"] == 3);
    CHECK(group(status["groups"], "bad_part")["erred"] == 1);
    CHECK(group(status["groups"], "join")["waiting"] == 1);
    REQUIRE(status["errors"].size() == 1);
    const json& error = status["errors"][0];
    CHECK(error["message"] == "sensor 3 returned no data");
    CHECK(error["group"] == "bad_part");
    std::string bad_key;
    const ts::Graph graph = failing.graph();
    for (const ts::Task& t : graph.tasks())
        if (t.key.group() == "bad_part") bad_key = t.key.str();
    CHECK(error["key"] == bad_key);
    CHECK(error["run"] == status["run"]["id"]);
    const json tasks = get_json(dashboard.port(), "/api/v1/tasks");
    std::int64_t failed = 0;
    for (const json& t : tasks["tasks"]) failed += t["failed"].get<bool>() ? 1 : 0;
    CHECK(failed == 1);
}

TEST_CASE("dashboard: options are checked and a taken port is an IOError" * doctest::timeout(60)) {
    CHECK_THROWS_WITH_AS(ts::Dashboard({.port = 70000}), "dashboard port must be in [0, 65535], got 70000",
                         ts::ConfigError);
    CHECK_THROWS_WITH_AS(ts::Dashboard({.port = -1}), "dashboard port must be in [0, 65535], got -1", ts::ConfigError);
    CHECK_THROWS_WITH_AS(ts::Dashboard({.host = "", .port = 0}), "dashboard host must not be empty", ts::ConfigError);
    CHECK_THROWS_WITH_AS(ts::Dashboard({.port = 0, .task_stream_capacity = 0}),
                         "dashboard task_stream_capacity must be >= 1, got 0", ts::ConfigError);
    ts::Dashboard first(free_port());
    const int port = first.port();
    CHECK_THROWS_WITH_AS(ts::Dashboard({.port = port, .print_url = false}),
                         ("cannot serve the dashboard on 127.0.0.1:" + std::to_string(port) + ": Address already in use").c_str(),
                         ts::IOError);
    // Two dashboards at once both see a run.
    ts::Dashboard second(free_port());
    CHECK(sum_graph(20).compute(threads(2)).as<std::int64_t>() == 210);
    CHECK(get_json(port, "/api/v1/status")["totals"]["total"] == n_tasks_of_sum_graph(20));
    CHECK(get_json(second.port(), "/api/v1/status")["totals"]["total"] == n_tasks_of_sum_graph(20));
}

TEST_CASE("dashboard: started from config().dashboard, on a free port when that one is taken" * doctest::timeout(60)) {
    ts::Dashboard taken(free_port());
    const std::string address = "127.0.0.1:" + std::to_string(taken.port());
    CHECK(ts::detail::auto_dashboard_url().empty());
    {
        ts::config::Scoped scoped({.dashboard = address});
        ts::detail::ensure_dashboard_from_config();
        const std::string url = ts::detail::auto_dashboard_url();
        REQUIRE(url.starts_with("http://127.0.0.1:"));
        CHECK(url != taken.url());
        ts::detail::ensure_dashboard_from_config();  // same address: the same dashboard
        CHECK(ts::detail::auto_dashboard_url() == url);
        const int port = std::stoi(url.substr(std::string("http://127.0.0.1:").size()));
        CHECK(get(port, "/health").body == "ok\n");
    }
    {
        ts::config::Scoped off({.dashboard = ""});
        const std::string before = ts::detail::auto_dashboard_url();
        ts::detail::ensure_dashboard_from_config();  // off: nothing changes
        CHECK(ts::detail::auto_dashboard_url() == before);
    }
}
