// The process-wide dashboard started from config().dashboard (TESSERA_DASHBOARD).

#include "dashboard/auto.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>

#include "tessera/config.hpp"
#include "tessera/dashboard.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {
namespace {

struct AutoDashboard {
    std::mutex mutex;
    Dashboard* dashboard = nullptr;
    std::string address;
    std::set<std::string> failed;  // addresses already warned about
    bool exit_hook = false;
};

// Never destroyed: the exit hook below stops the dashboard while everything it uses still lives.
AutoDashboard& instance() {
    static AutoDashboard* state = new AutoDashboard;
    return *state;
}

void stop_at_exit() {
    AutoDashboard& state = instance();
    std::lock_guard lock(state.mutex);
    delete state.dashboard;
    state.dashboard = nullptr;
}

// "HOST:PORT", ":PORT" (every interface) or "[::1]:PORT".
bool parse_address(const std::string& address, DashboardOptions& options) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) return false;
    std::string host = address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    options.host = host.empty() ? "0.0.0.0" : host;
    const char* begin = address.data() + colon + 1;
    const char* end = address.data() + address.size();
    const auto [ptr, ec] = std::from_chars(begin, end, options.port);
    return ec == std::errc() && ptr == end && begin != end;
}

}  // namespace

void ensure_dashboard_from_config() {
    std::string address;
    try {
        address = config::get().dashboard;
    } catch (...) {
        return;  // compute_graph reports a malformed configuration itself
    }
    if (address.empty()) return;
    AutoDashboard& state = instance();
    std::lock_guard lock(state.mutex);
    if (state.dashboard != nullptr && state.address == address) return;
    if (state.failed.count(address) != 0) return;

    DashboardOptions options;
    std::unique_ptr<Dashboard> fresh;
    try {
        if (!parse_address(address, options))
            throw ConfigError("dashboard address '{}' is not HOST:PORT", address);
        // The old one goes first: the new address may differ only in its host.
        delete state.dashboard;
        state.dashboard = nullptr;
        try {
            fresh = std::make_unique<Dashboard>(options);
        } catch (const IOError& e) {
            // Like Dask: a taken port is no reason to go without a dashboard.
            fmt::print(stderr, "Tessera dashboard: {}; serving on a free port instead\n", e.what());
            options.port = 0;
            fresh = std::make_unique<Dashboard>(options);
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "Tessera dashboard: not started for '{}': {}\n", address, e.what());
        state.failed.insert(address);
        return;
    }
    state.dashboard = fresh.release();
    state.address = address;
    if (!state.exit_hook) {
        std::atexit(stop_at_exit);
        state.exit_hook = true;
    }
}

std::string auto_dashboard_url() {
    AutoDashboard& state = instance();
    std::lock_guard lock(state.mutex);
    return state.dashboard != nullptr ? state.dashboard->url() : std::string();
}

}  // namespace tessera::detail
