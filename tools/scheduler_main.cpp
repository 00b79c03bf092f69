// tessera-scheduler [--host 127.0.0.1] [--port 8786] [--dashboard-port 8787] [--insecure-bind-all]
//
// Serves until SIGINT or SIGTERM. The protocol has no authentication: binding anything but a
// loopback address needs --insecure-bind-all.

#include <csignal>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

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
    app.add_option("--host", host, "Interface to listen on");
    app.add_option("--port", port, "TCP port (0 = a free one)")->check(CLI::Range(0, 65535));
    app.add_option("--dashboard-port", dashboard_port, "Dashboard port (not served yet for clusters)");
    app.add_flag("--insecure-bind-all", insecure,
                 "Allow a non-loopback host: anyone who can reach the port can run registered "
                 "operations on the workers");
    CLI11_PARSE(app, argc, argv);
    if (!is_loopback(host) && !insecure) {
        fmt::print(stderr,
                   "tessera-scheduler: refusing to listen on '{}' without --insecure-bind-all "
                   "(the protocol has no authentication)\n",
                   host);
        return 2;
    }
    try {
        tessera::dist::SchedulerServer server({.host = host, .port = port});
        g_server = &server;
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        fmt::print(stderr, "tessera scheduler: listening on {}\n", server.address());
        std::fflush(stderr);
        server.run();
        g_server = nullptr;
    } catch (const std::exception& e) {
        fmt::print(stderr, "tessera-scheduler: {}\n", e.what());
        return 1;
    }
    return 0;
}
