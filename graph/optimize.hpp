#pragma once
// Internal: graph passes run by compute_graph when config().optimize is on (after cull).
//
// No pass inlines cheap tasks (Dask's inline of constants): the scalars of an expression are
// already constants inside fused programs, and a "tessera.constant" task (from_array, persist)
// only hands over a Value it holds, so a consumer gains nothing from inlining it but would have
// to serialize the value into its parameters; such tasks carry a `local` payload and are left
// alone, also by fuse_linear.

#include <cstdint>
#include <span>
#include <string_view>

#include "tessera/graph.hpp"

namespace tessera::detail {

/// Linear-chain fusion (Dask's fuse): a task `a` whose only dependent is `b`, where `b` has `a`
/// as its only dependency and `a` is not an output, is merged with `b` into one task under b's
/// key running a's then b's operation ("tessera.chain", its params holding the sub-tasks by
/// operation name, so it ships to distributed workers like any task). Longer chains become one
/// task. Tasks with a `local` payload are never fused (they cannot be serialized). The merged
/// tasks keep the original relative order. O(tasks + edges). Returns the number of tasks
/// removed (0: `out` is left empty and `graph` should be used as is). With `op_prefix` only
/// tasks whose operation names start with it are fused: compute_graph passes "tessera." so that
/// the graphs of the library's collections are fused while hand-built graphs of user operations
/// run exactly as given (their observers, traces and errors see the user's own tasks).
std::int64_t fuse_linear(const Graph& graph, const GraphIndex& index, std::span<const Key> outputs, Graph& out,
                         std::string_view op_prefix = {});

/// The op id of "tessera.chain" (registered when the library loads).
OpId chain_op_id();

}  // namespace tessera::detail
