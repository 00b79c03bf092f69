#pragma once
/// \file dashboard.hpp
/// A live dashboard of local computations in the browser: one progress bar per task group, the
/// task stream (one lane per thread), workers and memory, the task graph, a per-group profile and
/// host figures; plus a JSON API (/api/v1/...), server-sent events (/events), Prometheus metrics
/// (/metrics) and a Chrome trace (/api/v1/trace.json, opens in Perfetto).
///
///     ts::Dashboard dashboard({.port = 0});   // a free port; prints its URL to stderr
///     auto m = ts::random::normal(0, 1, {1 << 26}, {.chunks = {1 << 20}}).mean();
///     m.compute();                            // watch it at dashboard.url()
///
/// Setting TESSERA_DASHBOARD=127.0.0.1:8787 (config().dashboard) starts one automatically with
/// the first computation.

#include <cstdint>
#include <memory>
#include <string>

namespace tessera {

struct DashboardOptions {
    /// Interface to listen on: "127.0.0.1" (this machine only), "0.0.0.0" (every interface).
    std::string host = "127.0.0.1";
    /// TCP port; 0 picks a free one.
    int port = 8787;
    /// Print "Tessera dashboard: URL" to stderr once the server is up.
    bool print_url = true;
    /// Task-stream records kept; older ones are dropped (the trace export holds these).
    std::int64_t task_stream_capacity = 100000;
};

/// The dashboard server. While it lives it observes every computation of the process (it is a
/// global observer); the HTTP server runs on its own threads and never blocks a computation.
class Dashboard {
public:
    /// Starts serving. Throws ConfigError for a port outside [0, 65535], an empty host or a
    /// task_stream_capacity < 1 ("dashboard port must be in [0, 65535], got 70000"), and IOError
    /// when the address cannot be bound ("cannot serve the dashboard on 127.0.0.1:8787: Address
    /// already in use").
    explicit Dashboard(DashboardOptions options = {});
    /// Stops the server (open event streams end) and stops observing.
    ~Dashboard();
    Dashboard(const Dashboard&) = delete;
    Dashboard& operator=(const Dashboard&) = delete;

    /// "http://127.0.0.1:8787/" (a wildcard host is shown as 127.0.0.1).
    std::string url() const;
    /// The port served (the one picked when constructed with port 0).
    int port() const;
    const std::string& host() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tessera
