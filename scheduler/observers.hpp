#pragma once
// Internal: the global observer registry as seen by compute_graph.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/scheduler.hpp"

namespace tessera::detail {

/// A copy of the observers registered with add_global_observer.
std::vector<std::shared_ptr<Observer>> global_observers();

/// Text as a JSON string literal, quotes included.
std::string json_string(std::string_view text);

}  // namespace tessera::detail
