#pragma once
// Shared by the dashboard tests: an HTTP client for a dashboard on a free port, and graphs of
// delayed tasks with known sizes and results.

#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tessera/dashboard.hpp"
#include "tessera/delayed.hpp"
#include "tessera/scheduler.hpp"

namespace dash_test {

namespace ts = tessera;
using json = nlohmann::json;

inline ts::DashboardOptions free_port() { return ts::DashboardOptions{.host = "127.0.0.1", .port = 0, .print_url = false}; }

struct Response {
    int status = 0;
    std::string body;
    std::string content_type;
};

inline httplib::Client client(int port) {
    httplib::Client cli("127.0.0.1", port);
    cli.set_connection_timeout(5);
    cli.set_read_timeout(30);
    return cli;
}

inline Response get(int port, const std::string& path) {
    httplib::Client cli = client(port);
    auto res = cli.Get(path);
    if (!res) return Response{-static_cast<int>(res.error()), {}, {}};
    return Response{res->status, res->body, res->get_header_value("Content-Type")};
}

inline json get_json(int port, const std::string& path, int expected_status = 200) {
    const Response r = get(port, path);
    INFO(path << " -> " << r.status << " " << r.body.substr(0, 300));
    REQUIRE(r.status == expected_status);
    REQUIRE(r.content_type.rfind("application/json", 0) == 0);
    return json::parse(r.body);
}

inline ts::ComputeOptions threads(int n) {
    ts::ComputeOptions options;
    options.scheduler = "threads";
    options.num_threads = n;
    options.progress = false;
    return options;
}

/// `n_leaves` inc(i) tasks summed in partials of 10, then a total: n_leaves + ceil(n/10) + 1 tasks.
/// Each inc sleeps `sleep_us` microseconds. The result is n(n+1)/2.
inline ts::Delayed sum_graph(std::int64_t n_leaves, std::int64_t sleep_us = 0) {
    auto inc = ts::delayed([sleep_us](std::int64_t i) -> std::int64_t {
        if (sleep_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
        return i + 1;
    }, {.name = "inc"});
    auto add = [](std::vector<std::int64_t> xs) {
        std::int64_t s = 0;
        for (auto x : xs) s += x;
        return s;
    };
    auto partial = ts::delayed(add, {.name = "partial"});
    auto total = ts::delayed(add, {.name = "total"});
    std::vector<ts::Delayed> partials;
    for (std::int64_t begin = 0; begin < n_leaves; begin += 10) {
        std::vector<ts::Delayed> leaves;
        for (std::int64_t i = begin; i < std::min(n_leaves, begin + 10); ++i) leaves.push_back(inc(i));
        partials.push_back(partial(leaves));
    }
    return total(partials);
}

inline std::int64_t n_tasks_of_sum_graph(std::int64_t n_leaves) { return n_leaves + (n_leaves + 9) / 10 + 1; }

/// The group entry called `name` in a JSON array of groups (or an empty object).
inline json group(const json& groups, const std::string& name) {
    for (const json& g : groups)
        if (g.value("name", "") == name) return g;
    return json::object();
}

/// True when RunInfo carries the running graph (then the graph page shows single tasks).
template <class Info>
constexpr bool has_graph_field = requires(const Info& info) { info.graph; };
inline constexpr bool kRunInfoHasGraph = has_graph_field<ts::RunInfo>;

}  // namespace dash_test
