#pragma once
// Internal: the machinery shared by map_blocks, map_overlap, blockwise, reduction and
// apply_along_axis (include/tessera/custom.hpp).
//
// Every custom task calls one user kernel. Its parameters (a CallSpec, cereal-encoded) say how
// to build each kernel argument from the task's input blocks: an operand is a grid of parts
// concatenated along every axis, a part being a (possibly sliced and reversed) region of one
// input block or a constant fill. One whole block is the common case and is passed without a
// copy; map_overlap's halo'd block is a 3x3x... grid; blockwise's contracted axes and the
// reduction's partials are a run of whole blocks. The result is checked against the declared
// dtype and shape, then trimmed (map_overlap) or squeezed (reduction aggregate).
//
// A registered kernel is the task's operation itself (TESSERA_REGISTER_BLOCK_KERNEL makes an
// operation whose function calls run_custom_task); a local callable rides in Task::local with
// the "tessera.block_call" operation, which the distributed client refuses like delayed calls.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "array/node.hpp"
#include "tessera/custom.hpp"

namespace tessera::detail {

/// One piece of an operand: a region of input block `dep` (position in the task's deps), or
/// a fill of `fill_shape` when dep is -1.
struct OperandPart {
    std::int32_t dep = -1;
    /// Region of the block; empty = the whole block.
    Shape start, stop;
    /// Axes along which the region is reversed (reflect boundaries).
    std::vector<std::int64_t> flip;
    Shape fill_shape;
};

/// A kernel argument: parts laid out on `grid` (C order), concatenated along every axis.
struct OperandSpec {
    Shape grid;
    std::vector<OperandPart> parts;
    double fill = 0;
    DType fill_dtype = float64;
};

enum class CallMode : std::uint8_t { Block, AlongAxis };

/// The parameters of one custom task.
struct CallSpec {
    std::string kernel;  // the kernel's name for messages ("" for local callables)
    std::string what;    // the operation for messages ("map_blocks", "reduction aggregate", ...)
    CallMode mode = CallMode::Block;
    BlockInfo info;
    std::vector<OperandSpec> operands;
    bool check_dtype = true;
    bool check_shape = true;  // against info.chunk_shape (after squeezing)
    /// map_overlap: elements removed from the result's start / end along each axis.
    Shape trim_before, trim_after;
    /// reduction aggregate: axes squeezed out when the result still has them.
    std::vector<std::int64_t> squeeze;
    /// AlongAxis: the result shape per slice.
    Shape slice_shape;
    /// The user's params (encode_value).
    std::string params;
};

std::string encode_call(const CallSpec& spec);
CallSpec decode_call(std::string_view bytes);

/// A Value as bytes (None, arrays, lists); ValueError naming `what` for C++ objects.
std::string encode_value(const Value& value, std::string_view what);
Value decode_value(std::string_view bytes);

/// Runs a custom task: builds the operands, calls `fn`, checks and trims the result.
Value run_custom_task(const TaskContext& ctx, const BlockFunction& fn);

/// A kernel resolved for task building.
struct KernelRef {
    std::string name;  // registered name, "" for a callable
    OpId op = 0;
    std::shared_ptr<const BlockFunction> local;  // null for registered kernels
};

/// Resolves a BlockKernel; GraphError "unknown block kernel 'x'" or "operation 'x' is not a
/// block kernel ..." for bad names.
KernelRef resolve_kernel(const BlockKernel& kernel);

/// The key prefix: `name`, else the last '.'-separated part of the kernel name, else `fallback`.
std::string custom_prefix(const std::string& name, const KernelRef& kernel, std::string_view fallback);

/// Token of a custom node: deterministic for registered kernels (their name, `params` and
/// `extra`), unique for callables (which cannot be hashed).
std::uint64_t custom_token(const KernelRef& kernel, const std::string& params, Tokenizer extra);

/// A task running `kernel` with `spec`.
Task make_custom_task(Key key, const KernelRef& kernel, const CallSpec& spec, std::vector<Key> deps,
                      std::int64_t nbytes_hint);

/// Where block `block` of `chunks` lies.
BlockLocation block_location(const Chunks& chunks, std::span<const std::int64_t> block);

/// A node whose every block is one custom task; subclasses say how each block is built.
class CustomNode : public ArrayNode {
public:
    CustomNode(std::string op, DType dtype, Chunks chunks, std::vector<NodePtr> inputs, std::uint64_t token,
               KernelRef kernel)
        : ArrayNode(std::move(op), dtype, std::move(chunks), std::move(inputs), token), kernel_(std::move(kernel)) {}

protected:
    /// The spec of output block `block`; appends its input keys to `deps`.
    virtual CallSpec block_spec(std::span<const std::int64_t> block, std::vector<Key>& deps) const = 0;
    void lower_tasks(LowerContext& ctx) const final;

    KernelRef kernel_;
};

/// The common refinement of several block-size lists of one extent.
BlockSizes refine_sizes(const std::vector<BlockSizes>& lists);

/// Output chunks from MapBlocksOptions-style `chunks` (one size or every size per axis) over a
/// grid of `numblocks`; ChunkError when they do not fit.
Chunks resolve_output_chunks(const std::vector<BlockSizes>& chunks, const Shape& numblocks);

/// blockwise with a resolved kernel: key prefix `prefix`, `what` names the operation in messages.
Array make_blockwise(const KernelRef& kernel, const std::string& prefix, std::string what, const std::string& out_index,
                     const std::vector<BlockwiseArg>& args, const BlockwiseOptions& options);

}  // namespace tessera::detail
