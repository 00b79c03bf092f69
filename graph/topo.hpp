#pragma once
// Internal: Kahn's topological order over a GraphIndex, shared by Graph::topological_order and
// memory_order.

#include <cstdint>
#include <vector>

#include "tessera/graph.hpp"

namespace tessera::detail {

/// Positions of every task, dependencies first; sources in position order, then FIFO.
/// GraphError "cycle in the task graph through ('a', 0)" naming the task of smallest position
/// on one cycle.
std::vector<std::int64_t> kahn_order(const Graph& graph, const GraphIndex& index);

}  // namespace tessera::detail
