#pragma once
// Internal: the process-wide dashboard started from configuration.

#include <string>

namespace tessera::detail {

/// Starts the process-wide dashboard at config().dashboard ("HOST:PORT" or ":PORT") when that is
/// set and no dashboard is serving that address yet; a different address replaces the previous
/// one. Called by compute_graph before it collects the global observers. Never throws: when the
/// port is taken it serves on a free port instead and says so on stderr, and when the dashboard
/// cannot start at all it warns once per address.
void ensure_dashboard_from_config();

/// The URL of the process-wide dashboard, or "" when none is running (for tests).
std::string auto_dashboard_url();

}  // namespace tessera::detail
