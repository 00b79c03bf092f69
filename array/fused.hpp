#pragma once
// Internal: fused elementwise kernels. Owned by the elementwise module (array/elementwise*.cpp,
// array/fused*.cpp); used by reductions for their fused first stage.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "array/node.hpp"

namespace tessera::detail {

/// One output block of an elementwise expression, ready to become a task: the serialized
/// program (with the block's geometry) and the keys of the materialized blocks it reads,
/// in the order the program expects them.
struct FusedKernel {
    std::string program;
    std::vector<Key> deps;
};

/// Builds the kernel computing block `block` of the elementwise node `root`, inlining every
/// ancestor for which ctx.fusable() holds and lowering the other inputs (their blocks become
/// deps). `root` must satisfy root.is_elementwise().
FusedKernel build_fused_kernel(const ArrayNode& root, std::span<const std::int64_t> block,
                               LowerContext& ctx);

/// Evaluates a kernel built by build_fused_kernel on its input blocks; returns the block.
NDArray run_fused_kernel(std::string_view program, std::span<const Value* const> inputs);

}  // namespace tessera::detail
