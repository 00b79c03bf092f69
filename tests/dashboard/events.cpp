// Server-sent events during a run, and many clients at once.

#include <doctest/doctest.h>

#include <atomic>
#include <mutex>

#include "helpers.hpp"

using namespace dash_test;

namespace {

struct SseEvent {
    std::int64_t id = -1;
    std::string name;
    json data;
    std::chrono::steady_clock::time_point received;
};

// Splits a text/event-stream into events.
class SseParser {
public:
    template <class OnEvent>
    void feed(const char* bytes, std::size_t size, OnEvent&& on_event) {
        buffer_.append(bytes, size);
        std::size_t end;
        while ((end = buffer_.find("\n\n")) != std::string::npos) {
            const std::string block = buffer_.substr(0, end);
            buffer_.erase(0, end + 2);
            SseEvent event;
            event.received = std::chrono::steady_clock::now();
            std::istringstream lines(block);
            std::string line;
            std::string data;
            while (std::getline(lines, line)) {
                if (line.starts_with("id: ")) event.id = std::stoll(line.substr(4));
                if (line.starts_with("event: ")) event.name = line.substr(7);
                if (line.starts_with("data: ")) data += line.substr(6);
            }
            if (data.empty()) continue;  // "retry:" only
            event.data = json::parse(data);
            on_event(std::move(event));
        }
    }

private:
    std::string buffer_;
};

}  // namespace

TEST_CASE("events: a snapshot, then ordered diffs at most every 200 ms, ending at the graph size" *
          doctest::timeout(120)) {
    ts::Dashboard dashboard(free_port());
    const int port = dashboard.port();
    const std::int64_t n_leaves = 1500;
    const std::int64_t n = n_tasks_of_sum_graph(n_leaves);
    const ts::Delayed total = sum_graph(n_leaves, 1000);  // 1 ms per leaf: about a second on 2 threads

    std::mutex mutex;
    std::vector<SseEvent> events;
    std::atomic<bool> have_snapshot{false};
    std::atomic<bool> done{false};
    std::atomic<std::int64_t> run_id{-1};
    std::thread listener([&] {
        httplib::Client cli = client(port);
        SseParser parser;
        cli.Get("/events", [&](const char* data, std::size_t size) {
            parser.feed(data, size, [&](SseEvent e) {
                if (e.name == "snapshot") have_snapshot = true;
                // Finished when an update reports our run finished with every task done.
                if (e.name == "update" && e.data["run"].is_object() && e.data["run"]["id"] == run_id.load() &&
                    e.data["run"]["state"] == "finished" && e.data["run"]["n_done"] == n)
                    done = true;
                std::lock_guard lock(mutex);
                events.push_back(std::move(e));
            });
            return !done.load();
        });
    });
    for (int wait = 0; wait < 500 && !have_snapshot; ++wait) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(have_snapshot.load());

    // The run id is known only once it starts: read it from the status while it runs.
    std::thread runner([&] { CHECK(total.compute(threads(2)).as<std::int64_t>() == n_leaves * (n_leaves + 1) / 2); });
    for (int wait = 0; wait < 1000 && run_id < 0; ++wait) {
        const json status = get_json(port, "/api/v1/status");
        if (status["run"].is_object() && status["run"]["n_tasks"] == n) run_id = status["run"]["id"].get<std::int64_t>();
        else std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    runner.join();
    REQUIRE(run_id >= 0);
    listener.join();
    REQUIRE(done.load());

    std::lock_guard lock(mutex);
    REQUIRE(events.size() >= 3);
    CHECK(events.front().name == "snapshot");
    // Ids increase by one per update; each update's "seq" is its id.
    std::int64_t during_run = 0;
    std::int64_t task_records = 0;
    std::int64_t tasks_next = events.front().data["tasks_next"].get<std::int64_t>();
    for (std::size_t k = 1; k < events.size(); ++k) {
        const SseEvent& e = events[k];
        CHECK(e.name == "update");
        CHECK(e.id == events[k - 1].id + 1);
        CHECK(e.data["seq"] == e.id);
        // Batched: updates are built at most once per 200 ms tick (times from the server's clock).
        if (k >= 2) CHECK(e.data["time"].get<double>() - events[k - 1].data["time"].get<double>() >= 0.199);
        if (e.data["run"].is_object() && e.data["run"]["id"] == run_id.load() && e.data["run"]["state"] == "running")
            ++during_run;
        // New task records continue exactly where the previous event stopped.
        CHECK(e.data["tasks_skipped"] == 0);
        if (!e.data["tasks"].empty()) CHECK(e.data["tasks"][0]["seq"] == tasks_next);
        task_records += static_cast<std::int64_t>(e.data["tasks"].size());
        tasks_next = e.data["tasks_next"].get<std::int64_t>();
        // Group entries always add up.
        for (const json& g : e.data["groups"])
            CHECK(g["waiting"].get<std::int64_t>() + g["processing"].get<std::int64_t>() +
                      g["memory"].get<std::int64_t>() + g["released"].get<std::int64_t>() +
                      g["erred"].get<std::int64_t>() ==
                  g["total"]);
    }
    CHECK(during_run >= 2);
    CHECK(task_records == n);
    const json& last = events.back().data;
    CHECK(last["run"]["totals"]["total"] == n);
    CHECK(last["run"]["totals"]["memory"].get<std::int64_t>() + last["run"]["totals"]["released"].get<std::int64_t>() == n);
}

TEST_CASE("events: clients that disconnect are forgotten" * doctest::timeout(60)) {
    ts::Dashboard dashboard(free_port());
    for (int round = 0; round < 3; ++round) {
        httplib::Client cli = client(dashboard.port());
        int seen = 0;
        cli.Get("/events", [&](const char*, std::size_t) { return ++seen < 1; });
        CHECK(seen == 1);
    }
    // The server notices closed streams at its next write (a heartbeat within ~2 s).
    std::string metrics;
    for (int wait = 0; wait < 100; ++wait) {
        metrics = get(dashboard.port(), "/metrics").body;
        if (metrics.find("tessera_dashboard_event_clients 0\n") != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(metrics.find("tessera_dashboard_event_clients 0\n") != std::string::npos);
}

TEST_CASE("events: 50 concurrent clients during a run" * doctest::timeout(120)) {
    ts::Dashboard dashboard(free_port());
    const int port = dashboard.port();
    const std::int64_t n_leaves = 3000;
    const ts::Delayed total = sum_graph(n_leaves, 200);
    std::atomic<bool> running{true};
    std::thread runner([&] {
        CHECK(total.compute(threads(2)).as<std::int64_t>() == n_leaves * (n_leaves + 1) / 2);
        running = false;
    });

    const std::vector<std::string> paths{"/api/v1/status", "/api/v1/tasks?since=0&limit=500", "/api/v1/workers",
                                         "/api/v1/graph",  "/api/v1/profile",                 "/metrics",
                                         "/api/v1/system", "/"};
    std::atomic<std::int64_t> ok{0}, bad{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 50; ++c) {
        clients.emplace_back([&, c] {
            for (int r = 0; r < 6; ++r) {
                const std::string& path = paths[static_cast<std::size_t>(c + r) % paths.size()];
                const Response res = get(port, path);
                bool valid = res.status == 200;
                if (valid && res.content_type == "application/json") valid = json::accept(res.body);
                ++(valid ? ok : bad);
            }
        });
    }
    // A few event streams at the same time.
    std::vector<std::thread> streams;
    std::atomic<std::int64_t> stream_events{0};
    for (int s = 0; s < 5; ++s) {
        streams.emplace_back([&] {
            httplib::Client cli = client(port);
            SseParser parser;
            std::int64_t mine = 0;
            cli.Get("/events", [&](const char* data, std::size_t size) {
                parser.feed(data, size, [&](SseEvent) {
                    ++mine;
                    ++stream_events;
                });
                return running.load() || mine == 0;
            });
        });
    }
    for (auto& t : clients) t.join();
    runner.join();
    for (auto& t : streams) t.join();
    CHECK(bad == 0);
    CHECK(ok == 300);
    CHECK(stream_events >= 5);
    const json status = get_json(port, "/api/v1/status");
    CHECK(status["totals"]["total"] == n_tasks_of_sum_graph(n_leaves));
    CHECK(status["run"]["n_done"] == n_tasks_of_sum_graph(n_leaves));
}
