#pragma once
/// \file custom.hpp
/// Custom block-wise work, as in dask.array: map_blocks, map_overlap, blockwise, user-defined
/// tree reductions and apply_along_axis.
///
/// A user kernel receives the input blocks, a BlockInfo saying where the block lies, and the
/// user's parameters. Register it by name so distributed workers (which link the same code) can
/// run it too; a plain C++ callable works with the local schedulers ("sync", "threads") only:
///
///     ts::NDArray twice(std::span<const ts::NDArray> b, const ts::BlockInfo&, const ts::Value& p) {
///         ...return a block shaped like b[0], scaled by p.as<double>()...
///     }
///     TESSERA_REGISTER_BLOCK_KERNEL("myproj.twice", twice);
///
///     auto y = ts::map_blocks("myproj.twice", {x}, {.params = ts::Value::from(2.0)});
///     auto z = ts::map_overlap("myproj.laplacian", x, {1, 1}, {.boundary = {ts::Boundary::reflect()}});
///     auto c = ts::blockwise("myproj.matmul", "ik,kj->ij", {a, b}, {.dtype = ts::float64});

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tessera/array.hpp"
#include "tessera/dtype.hpp"
#include "tessera/graph.hpp"
#include "tessera/ndarray.hpp"
#include "tessera/value.hpp"

namespace tessera {

/// Where one block lies in its array (Dask's block_info entry of an input).
struct BlockLocation {
    Shape shape;           ///< the whole array's shape
    Shape num_chunks;      ///< blocks per axis
    Shape chunk_location;  ///< this block's index
    Shape start, stop;     ///< array-location: [start, stop) per axis
    friend bool operator==(const BlockLocation&, const BlockLocation&) = default;
};

/// What a block kernel knows about the block it computes.
struct BlockInfo {
    /// The output block: its index (chunk-location), global [start, stop) per axis, the whole
    /// output shape and the grid. map_overlap: the trimmed output block.
    BlockLocation output;
    /// The shape and dtype the kernel's result must have (map_overlap: the halo'd shape;
    /// reduction chunk/combine stages: unknown, empty shape).
    Shape chunk_shape;
    DType dtype = float64;
    /// One entry per input array: the block (or, along contracted/concatenated axes, the whole
    /// extent) it received. map_overlap: the input block before its halo was added.
    std::vector<BlockLocation> inputs;
    /// reduction: the reduced axes; apply_along_axis: the axis. Empty otherwise.
    std::vector<std::int64_t> axis;
    /// reduction: whether the kernel must keep the reduced axes (always true for chunk and
    /// combine).
    bool keepdims = false;
    /// map_overlap: the halo actually added before / after the block along each axis.
    Shape halo_before, halo_after;

    /// output.chunk_location.
    const Shape& block_index() const { return output.chunk_location; }
};

/// A registered block kernel: blocks in argument order, where they lie, and the user's params.
using BlockKernelFn = NDArray (*)(std::span<const NDArray> blocks, const BlockInfo& info, const Value& params);
/// A local block kernel (any callable); runs with the "sync" and "threads" schedulers only.
using BlockFunction = std::function<NDArray(std::span<const NDArray> blocks, const BlockInfo& info,
                                            const Value& params)>;

namespace detail {
/// Runs one custom task with `fn` (the non-template core of every registered block kernel).
Value run_block_kernel(const TaskContext& ctx, BlockKernelFn fn);
template <BlockKernelFn F>
Value block_kernel_op(const TaskContext& ctx) {
    return run_block_kernel(ctx, F);
}
}  // namespace detail

/// Registers the task operation `adapter` under `name` and records `name` as a block kernel.
/// GraphError as register_op when `name` is taken by another function. Use the macro below.
OpId register_block_kernel(std::string_view name, OpFn adapter);
/// True when `name` was registered with TESSERA_REGISTER_BLOCK_KERNEL in this process.
bool has_block_kernel(std::string_view name);

/// Registers `fn` (a function of type BlockKernelFn) as block kernel `name` at static
/// initialization: `TESSERA_REGISTER_BLOCK_KERNEL("myproj.smooth", smooth);`
#define TESSERA_REGISTER_BLOCK_KERNEL(name, fn)                                               \
    static const ::tessera::OpId TESSERA_CONCAT(tessera_block_kernel_, __LINE__) =            \
        ::tessera::register_block_kernel(name, &::tessera::detail::block_kernel_op<fn>)

/// A block kernel: the name of a registered one (runs anywhere) or a local callable.
class BlockKernel {
public:
    /// A registered kernel by name (checked when the operation is built: GraphError
    /// "unknown block kernel 'x'").
    BlockKernel(const char* name) : name_(name) {}
    BlockKernel(std::string name) : name_(std::move(name)) {}
    BlockKernel(std::string_view name) : name_(name) {}
    /// A local callable (never sent to workers; its task keys are unique per call).
    BlockKernel(BlockFunction fn) : fn_(std::move(fn)) {}
    template <class F>
        requires(std::is_invocable_r_v<NDArray, F&, std::span<const NDArray>, const BlockInfo&, const Value&> &&
                 !std::is_convertible_v<F, std::string_view>)
    BlockKernel(F fn) : fn_(BlockFunction(std::move(fn))) {}

    bool is_registered() const { return !fn_; }
    /// The kernel's name ("" for a callable).
    const std::string& name() const { return name_; }
    const BlockFunction& function() const { return fn_; }

private:
    std::string name_;
    BlockFunction fn_;
};

// ------------------------------------------------------------------------------ map_blocks

struct MapBlocksOptions {
    /// Result dtype; default the first input's dtype.
    std::optional<DType> dtype = std::nullopt;
    /// Output chunks when blocks change shape: one entry per output axis, either every block's
    /// size along it or one size shared by all its blocks. Default: the inputs' chunks.
    std::vector<BlockSizes> chunks{};
    /// Axes of the (highest-rank) input that the kernel removes; blocks along them are
    /// concatenated before the call, as in Dask.
    std::vector<std::int64_t> drop_axis{};
    /// Positions in the output of new axes the kernel adds (size 1 unless `chunks` says).
    std::vector<std::int64_t> new_axis{};
    /// Key prefix; default the kernel name's last component (or "map_blocks").
    std::string name{};
    /// Passed to every kernel call; None, arrays/scalars and lists of them (so it can travel).
    Value params{};
};

/// Applies `kernel` to every block of `arrays` (broadcast against each other by trailing axes
/// like NumPy; chunks unified by their common refinement, rechunking inputs as needed).
/// Throws GraphError "unknown block kernel 'x'" for an unregistered name, ShapeError for shapes
/// that do not broadcast, ChunkError for `chunks` that do not fit the grid, AxisError for bad
/// drop/new axes, ValueError for params holding C++ objects or no input. At compute time a
/// result of the wrong dtype or shape raises ValueError naming the task key and both values.
Array map_blocks(const BlockKernel& kernel, const std::vector<Array>& arrays, const MapBlocksOptions& options = {});

// ------------------------------------------------------------------------------ map_overlap

/// How map_overlap fills the halo beyond the array's edges (dask.array.overlap).
struct Boundary {
    enum class Kind { None, Reflect, Periodic, Constant };
    Kind kind = Kind::None;
    double value = 0;
    /// No halo at the edges: edge blocks are passed (and returned) without it.
    static Boundary none() { return {Kind::None, 0}; }
    /// Mirror including the edge element (Dask's "reflect", np.pad's "symmetric").
    static Boundary reflect() { return {Kind::Reflect, 0}; }
    /// Wrap around to the other end.
    static Boundary periodic() { return {Kind::Periodic, 0}; }
    /// Filled with `v` (converted to the dtype).
    static Boundary constant(double v) { return {Kind::Constant, v}; }
};

struct MapOverlapOptions {
    /// One boundary for every axis, or one per axis. Default: none.
    std::vector<Boundary> boundary{};
    /// Remove the halo from each result block (default); false keeps it in the output chunks.
    bool trim = true;
    /// Result dtype; default the input's.
    std::optional<DType> dtype = std::nullopt;
    std::string name{};
    Value params{};
};

/// Calls `kernel` on every block extended by `depth[axis]` neighbouring elements per side (one
/// depth for all axes, or one per axis), then trims the halo. Axes whose blocks are smaller than
/// their depth are first rechunked (small blocks merged into neighbours, as Dask does).
/// Throws AxisError when `depth` has neither 1 nor ndim entries, ValueError for a negative depth
/// or a depth larger than its axis ("depth 5 along axis 0 is larger than the axis length 3"),
/// ValueError for a boundary list of the wrong length; plus map_blocks' errors.
Array map_overlap(const BlockKernel& kernel, const Array& x, const std::vector<std::int64_t>& depth,
                  const MapOverlapOptions& options = {});

// ------------------------------------------------------------------------------ blockwise

struct BlockwiseOptions {
    /// Result dtype; default the first input's dtype.
    std::optional<DType> dtype = std::nullopt;
    /// Blocks along contracted indices (in no output index) are concatenated before the call;
    /// false is NotImplemented when there are such indices.
    bool concatenate = true;
    /// Output indices in no input: their extent (one block).
    std::map<char, std::int64_t> new_axes{};
    /// Output chunks when the kernel changes block shapes, as MapBlocksOptions::chunks.
    std::vector<BlockSizes> chunks{};
    std::string name{};
    Value params{};
};

/// An input of blockwise: an array and one index letter per axis ("ij").
struct BlockwiseArg {
    Array array;
    std::string index;
};

/// Dask's blockwise in index notation: output block (i, j) of `out_index` "ij" calls `kernel`
/// with, for every input, its block at the same i, j, and its whole extent (concatenated)
/// along indices absent from the output. Axes sharing a letter are unified (common refinement
/// of their chunks); an axis of extent 1 in one block broadcasts.
/// Throws ValueError for an index string whose length is not the array's ndim, repeated letters
/// in one operand, output letters without an input or new_axes entry; ShapeError for extents
/// that differ under one letter; NotImplemented for contracted indices with concatenate=false.
///
///     ts::blockwise("myproj.matmul", "ij", {{a, "ik"}, {b, "kj"}});
Array blockwise(const BlockKernel& kernel, const std::string& out_index, const std::vector<BlockwiseArg>& args,
                const BlockwiseOptions& options = {});
/// The same with an einsum-like signature "ik,kj->ij" (ValueError when malformed or when the
/// number of operands differs from `arrays`).
Array blockwise(const BlockKernel& kernel, const std::string& signature, const std::vector<Array>& arrays,
                const BlockwiseOptions& options = {});

// ------------------------------------------------------------------------------ reduction

struct UserReductionOptions {
    bool keepdims = false;
    /// Result dtype; default the input's.
    std::optional<DType> dtype = std::nullopt;
    /// Fan-in of the combine tree; 0 = config().split_every.
    int split_every = 0;
    std::string name{};
    Value params{};
};

/// Dask's reduction: `chunk` maps every block to a partial keeping the reduced axes (info.axis,
/// info.keepdims = true); partials are concatenated along the reduced axes, split_every at a
/// time, and merged by `combine` (default: `aggregate` with keepdims = true) level by level;
/// `aggregate` turns the rest into the result block (info.keepdims as requested; a result that
/// keeps the reduced axes is squeezed when keepdims is false).
/// Throws AxisError for bad or repeated axes, ValueError for split_every < 2; at compute time
/// ValueError naming the key when the result has the wrong dtype or shape.
Array reduction(const Array& x, const BlockKernel& chunk, const BlockKernel& aggregate,
                const std::optional<BlockKernel>& combine = std::nullopt, const Axes& axis = {},
                const UserReductionOptions& options = {});

// ------------------------------------------------------------------------------ apply_along_axis

struct ApplyAlongAxisOptions {
    /// Result dtype; default the input's.
    std::optional<DType> dtype = std::nullopt;
    /// Shape of the kernel's result for one 1-d slice (it replaces the axis in the output);
    /// default: the axis length (same length as the slice). {} means a scalar per slice.
    std::optional<Shape> shape = std::nullopt;
    std::string name{};
    Value params{};
};

/// np.apply_along_axis: rechunks `axis` to one block and calls `kernel` on every 1-d slice
/// along it (blocks[0] is the slice; info.output.start/stop locate the slice in `x`, the whole
/// axis along `axis`; info.axis = {axis}; info.chunk_shape = the declared result shape).
/// Throws AxisError for a bad axis; at compute time ValueError naming the key when a result has
/// the wrong dtype or shape.
Array apply_along_axis(const BlockKernel& kernel, std::int64_t axis, const Array& x,
                       const ApplyAlongAxisOptions& options = {});

}  // namespace tessera
