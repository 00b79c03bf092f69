#pragma once
// Internal: fused elementwise kernels. Owned by the elementwise module (array/elementwise*.cpp,
// array/fused*.cpp); used by reductions for their fused first stage.
//
// A kernel is a small SSA program (array/fused_program.hpp) computing one output block: loads of
// (sub-regions of) materialized input blocks, constants, sources evaluated from the global index
// (full, arange, linspace, random), unary/binary operations, where and casts. It is evaluated
// in tiles of ~1024 elements so that no operation materializes a whole-block temporary, and it
// is cereal-encoded into Task::params: a task needs nothing but its deps to run anywhere.
//
// Usage by a reduction whose input `x` is elementwise and ctx.fusable(x):
//     FusedKernel k = build_fused_kernel(*x, block, ctx);   // x's block `block`
//     task.deps = k.deps;   // and carry k.program in the task's parameters
//     ... in the task:  NDArray chunk = run_fused_kernel(program, ctx.inputs);

#include <cstdint>
#include <memory>
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
/// deps). `root` must be an elementwise node (array/elementwise.hpp). With ctx.fuse false only
/// `root` itself is evaluated: every input is lowered and loaded.
FusedKernel build_fused_kernel(const ArrayNode& root, std::span<const std::int64_t> block,
                               LowerContext& ctx);

/// build_fused_kernel for many blocks of one root (a node's lowering loop): the first block of
/// each block shape walks the expression; the others reuse its program and recompute only the
/// position-dependent fields (source offsets; the input block each load reads and where), which
/// makes lowering 10^5 blocks several times cheaper. Lives no longer than `ctx`.
class FusedKernelBuilder {
public:
    FusedKernelBuilder(const ArrayNode& root, LowerContext& ctx);
    ~FusedKernelBuilder();
    FusedKernelBuilder(const FusedKernelBuilder&) = delete;
    FusedKernelBuilder& operator=(const FusedKernelBuilder&) = delete;

    /// The same kernel build_fused_kernel(root, block, ctx) returns.
    FusedKernel build(std::span<const std::int64_t> block);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Like build_fused_kernel for the region of `root` starting at global element `start` with
/// shape `shape`, which must lie inside one block of `root` (so every load reads one block).
FusedKernel build_fused_region_kernel(const ArrayNode& root, std::span<const std::int64_t> start,
                                      const Shape& shape, LowerContext& ctx);

/// Evaluates a kernel built by build_fused_kernel on its input blocks (the values of its deps,
/// in order); returns the block, C-contiguous. Throws ProtocolError for a malformed program and
/// Error when an input is not the array the program expects.
NDArray run_fused_kernel(std::string_view program, std::span<const Value* const> inputs);

}  // namespace tessera::detail
