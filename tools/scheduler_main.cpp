// tessera-scheduler [--host 127.0.0.1] [--port 8786] [--dashboard-port 8787] [--no-dashboard]
//                   [--dashboard-host HOST] [--insecure-bind-all]
//
// The dashboard (the same pages and /api/v1 as the local one, for the whole cluster) is served on
// the --host interface (or --dashboard-host); --dashboard-port 0 picks a free port, -1 or
// --no-dashboard turns it off.
//
// Serves until SIGINT or SIGTERM. Without CURVE keys (--curve-key-dir DIR or TESSERA_CURVE_KEYS)
// the protocol has no authentication: binding anything but a loopback address then needs
// --insecure-bind-all.

#include <csignal>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "scheduler/dist/curve_keys.hpp"
#include "scheduler/dist/scheduler_server.hpp"

namespace {

tessera::dist::SchedulerServer* g_server = nullptr;

void on_signal(int) {
    if (g_server) g_server->stop();
}

bool is_loopback(const std::string& host) {
    return host == "localhost" || host == "::1" || host.starts_with("127.");
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Tessera scheduler: coordinates tessera-worker processes and clients"};
    std::string host = "127.0.0.1";
    int port = 8786;
    int dashboard_port = 8787;
    bool insecure = false;
    std::string curve_key_dir;
    app.add_option("--host", host, "Interface to listen on");
    app.add_option("--port", port, "TCP port (0 = a free one)")->check(CLI::Range(0, 65535));
    bool no_dashboard = false;
    app.add_option("--dashboard-port", dashboard_port,
                   "Port of the cluster's live dashboard in the browser, on the --host interface "
                   "(0 = a free one, -1 = no dashboard)")
        ->check(CLI::Range(-1, 65535));
    app.add_flag("--no-dashboard", no_dashboard, "Do not serve the dashboard (same as --dashboard-port -1)");
    std::string dashboard_host;
    app.add_option("--dashboard-host", dashboard_host,
                   "Interface of the dashboard when it differs from --host (e.g. 127.0.0.1 for a scheduler "
                   "on a public interface: the dashboard has no authentication)");
    app.add_flag("--insecure-bind-all", insecure,
                 "Allow a non-loopback host without CURVE keys: anyone who can reach the port can run "
                 "registered operations on the workers");
    app.add_option("--curve-key-dir", curve_key_dir,
                   "tessera-keygen directory: encrypt all traffic and admit only holders of its key "
                   "(default: $TESSERA_CURVE_KEYS)");
    CLI11_PARSE(app, argc, argv);
    curve_key_dir = tessera::dist::resolve_curve_key_dir(curve_key_dir);
    if (!is_loopback(host) && !insecure && curve_key_dir.empty()) {
        fmt::print(stderr,
                   "tessera-scheduler: refusing to listen on '{}' without CURVE keys (--curve-key-dir or "
                   "TESSERA_CURVE_KEYS) or --insecure-bind-all\n",
                   host);
        return 2;
    }
    try {
        tessera::dist::SchedulerServer server({.host = host, .port = port, .curve_key_dir = curve_key_dir,
                                                   .dashboard_port = no_dashboard ? -1 : dashboard_port,
                                                   .dashboard_host = dashboard_host});
        g_server = &server;
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        fmt::print(stderr, "tessera scheduler: listening on {}\n", server.address());
        if (const std::string url = server.dashboard_url(); !url.empty())
            fmt::print(stderr, "tessera scheduler: dashboard at {}\n", url);
        std::fflush(stderr);
        server.run();
        g_server = nullptr;
    } catch (const std::exception& e) {
        fmt::print(stderr, "tessera-scheduler: {}\n", e.what());
        return 1;
    }
    return 0;
}
