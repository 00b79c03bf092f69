#pragma once
/// \file indexing.hpp
/// Advanced indexing and more shape operations of tessera::Array, with NumPy's values and
/// Dask's chunks: boolean masks, take, vindex (pointwise), flip / roll / pad, tril / triu,
/// broadcast_to, eye, block and from_delayed.
///
///     auto v = ts::take(x, {5, -1, 0}, 1);                 // x[:, [5, -1, 0]]
///     auto p = ts::vindex(stack, {t, rows, cols});          // stack.vindex[t, rows, cols]
///     auto m = ts::getitem_mask(x, x > 0);                  // x[x > 0]: unknown chunk sizes
///     auto k = ts::compute_chunk_sizes(m);                  // same blocks, known sizes
///
/// Unknown chunk sizes (the boolean mask) are stored as -1 in Chunks (Dask's NaN). Such an array
/// can be computed and persisted; shape, indexing and elementwise operations and rechunk throw
/// NotImplemented on it until compute_chunk_sizes() has made the sizes known.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <utility>
#include <vector>

#include "tessera/array.hpp"
#include "tessera/delayed.hpp"

namespace tessera {

// ------------------------------------------------------------------------------ masks

/// x[mask] for a bool `mask` whose shape is x's shape or its leading axes (NumPy's boolean
/// indexing, in C order). The result has shape (count, x.shape[mask.ndim:]...) where count is
/// unknown until computed. As in Dask, a mask of several axes first merges them into one
/// (reshape(x, (n, rest...)) with Dask's reshape rules, so values come in NumPy's C order); the
/// first axis of the result then has one block per block of that merged axis, each of unknown
/// size (-1, Dask's NaN), and the other axes keep x's chunks. The mask is rechunked to x's chunks
/// when they differ. One task per block, reading the block of x and of the mask. Throws IndexError "arrays used as indices must be of integer (or boolean) type"
/// for a non-bool mask, IndexError "boolean index did not match indexed array along dimension 0;
/// dimension is 4 but corresponding boolean dimension is 3", IndexError "too many indices for
/// array: array is 1-dimensional, but 2 were indexed", NotImplemented for a 0-d mask or inputs
/// with unknown chunk sizes.
Array getitem_mask(const Array& x, const Array& mask);

/// The same array with its unknown chunk sizes computed (Dask's compute_chunk_sizes): for a mask
/// result only the mask's per-block counts are computed now (one small task per mask block, not
/// the masked values); the result is the same lazy expression with known sizes (a new name, as
/// the chunks are part of it). Returns `x` when every size is known. Throws NotImplemented for
/// unknown sizes that do not come from getitem_mask.
Array compute_chunk_sizes(const Array& x, const ComputeOptions& options = {});

// ------------------------------------------------------------------------------ take

/// np.take(x, indices, axis) = x[..., indices, ...] along one axis (negative indices count from
/// the end). An N-d `indices` replaces the axis by its shape (0-d removes it). Output chunks
/// follow Dask's slicing_plan: one output block per run of consecutive indices falling in one
/// input block (a block per task, split to stay below config().chunk_size_bytes). When the
/// indices are so scattered that this would give more than 10 times the input's blocks along
/// the axis, the output is instead chunked like the input axis and every output block gathers
/// from the input blocks it needs (a bounded graph, as Dask's newer take). Throws IndexError
/// "index 10 is out of bounds for axis 0 with size 10", IndexError "arrays used as indices must
/// be of integer (or boolean) type" for float indices, IndexError "take: boolean indices are not
/// supported (use getitem_mask)", AxisError for a bad axis, NotImplemented for unknown chunks.
Array take(const Array& x, const NDArray& indices, std::int64_t axis = 0);
Array take(const Array& x, const std::vector<std::int64_t>& indices, std::int64_t axis = 0);

// ------------------------------------------------------------------------------ vindex

/// Pointwise indexing (Dask's x.vindex[i0, i1, ...]): one integer index array per axis of `x`,
/// broadcast together to shape S; the result has shape S and element p is x[i0[p], i1[p], ...].
/// Points are grouped by the block they fall in: one task per touched block extracts its points,
/// then one task per output block (config().chunk_size_bytes of points) puts them in point order,
/// so untouched blocks are never read. Throws IndexError "vindex: 2 index arrays for an array of
/// dimension 3", IndexError "index 5 is out of bounds for axis 1 with size 5", IndexError "arrays
/// used as indices must be of integer (or boolean) type", ShapeError when the indices do not
/// broadcast, NotImplemented for bool indices or unknown chunk sizes.
///
///     auto v = ts::vindex(x, {ts::NDArray::from_vector<std::int64_t>({0, 3}),
///                             ts::NDArray::from_vector<std::int64_t>({1, -1})});  // 2 values
Array vindex(const Array& x, const std::vector<NDArray>& indices);
Array vindex(const Array& x, const std::vector<std::vector<std::int64_t>>& indices);

// ------------------------------------------------------------------------------ flip, roll

/// Reverses the order of elements along `axis` (default all axes), a view-like getitem: each
/// output block is one reversed input block. AxisError for a bad or repeated axis.
Array flip(const Array& x, const Axes& axis = {});
/// flip along axis 0; ValueError "Input must be >= 1-d." for 0-d.
Array flipud(const Array& x);
/// flip along axis 1; ValueError "Input must be >= 2-d." below 2-d.
Array fliplr(const Array& x);
/// np.roll: elements shifted by `shift` along `axis` (wrapping around); without an axis the
/// flattened array is rolled and the shape restored. Done as a concatenation of two slices (no
/// data moved inside blocks). AxisError for a bad axis.
Array roll(const Array& x, std::int64_t shift, std::optional<std::int64_t> axis = std::nullopt);
/// Rolls along several axes (a shift per axis; repeated axes add up). ValueError
/// "'shift' and 'axis' should be scalars or 1D sequences" when the lengths differ.
Array roll(const Array& x, const std::vector<std::int64_t>& shifts, const std::vector<std::int64_t>& axes);

// ------------------------------------------------------------------------------ pad

enum class PadMode { Constant, Edge, Reflect, Symmetric, Wrap };

/// Options of pad (NumPy's `mode` and `constant_values`).
struct PadOptions {
    PadMode mode = PadMode::Constant;
    /// The fill value of PadMode::Constant (converted to x's dtype).
    Scalar value = Scalar(0);
};

/// np.pad: `widths` holds (before, after) per axis, or one pair for every axis. Values follow
/// NumPy for every mode, including widths larger than the axis (reflect/symmetric/wrap repeat;
/// reflect of a length-1 axis repeats the edge). The original blocks are kept; each pad region
/// is one block along the padded axis (a constant source, or a take of the mirrored indices).
/// Throws ValueError "index can't contain negative values", ValueError "pad: 3 (before, after)
/// pairs for an array of dimension 2", ValueError "can't extend empty axis 0 using modes other
/// than 'constant' or 'empty'", NotImplemented for unknown chunk sizes.
///
///     ts::pad(x, {{1, 2}, {0, 3}}, {.mode = ts::PadMode::Reflect});
///     ts::pad(x, {{2, 2}}, {.value = -1.0});
Array pad(const Array& x, const std::vector<std::pair<std::int64_t, std::int64_t>>& widths,
          const PadOptions& options = {});

// ------------------------------------------------------------------------------ triangles

/// Lower triangle of the last two axes (elements above diagonal `k` set to 0), elementwise and
/// fused with its input. ValueError "input must be at least 2-dimensional" below 2-d.
Array tril(const Array& x, std::int64_t k = 0);
/// Upper triangle (elements below diagonal `k` set to 0). ValueError as tril.
Array triu(const Array& x, std::int64_t k = 0);

/// np.diag: the k-th diagonal of a 2-d array (a vindex of its elements: one output block, only
/// the blocks on the diagonal read), or the (n + |k|) square 2-d array with a 1-d `x` on diagonal
/// k (chunked like x, zeros elsewhere). ValueError "Input must be 1- or 2-d." otherwise.
Array diag(const Array& x, std::int64_t k = 0);

// ------------------------------------------------------------------------------ creation

/// np.broadcast_to with Dask's chunks: new leading axes and stretched length-1 axes are one block
/// each (unless `chunks` is given), the others keep x's chunks. ShapeError "cannot broadcast
/// shape (3,) to shape (4,)" (also for a target of lower rank), ValueError for negative extents.
Array broadcast_to(const Array& x, const Shape& shape, const std::optional<ChunkSpec>& chunks = std::nullopt);
/// The N x M (M defaults to N) matrix with ones on diagonal `k` (dtype default float64), an
/// elementwise source. ValueError "negative dimensions are not allowed" for N or M < 0.
Array eye(std::int64_t n, std::optional<std::int64_t> m = std::nullopt, std::int64_t k = 0,
          const CreateOptions& options = {});

/// A nested list of arrays for block(): `{{a, b}, {c, d}}`.
class BlockNest {
public:
    BlockNest(const Array& array) : array_(array), leaf_(true) {}
    BlockNest(std::initializer_list<BlockNest> items) : items_(items) {}
    BlockNest(std::vector<BlockNest> items) : items_(std::move(items)) {}
    bool is_leaf() const { return leaf_; }
    const Array& array() const { return array_; }
    const std::vector<BlockNest>& items() const { return items_; }

private:
    Array array_;
    std::vector<BlockNest> items_;
    bool leaf_ = false;
};

/// np.block: the innermost lists are concatenated along the last axis, the next ones along the
/// second last, and so on; arrays of lower rank get leading axes of length 1. Throws ValueError
/// "Lists cannot be empty" and "List depths are mismatched. First element was at depth 2, but
/// there is an element at depth 1 (arrays[1])", and concatenate's errors.
///
///     auto m = ts::block({{a, b}, {c, d}});
Array block(const BlockNest& arrays);

/// An array of one block computed by `value` (Dask's from_delayed), which must yield an NDArray
/// of exactly `shape` and `dtype`: otherwise the task throws ValueError "from_delayed: the value
/// is a float32 array of shape (3,) but float64 of shape (4,) was declared".
Array from_delayed(const Delayed& value, const Shape& shape, DType dtype);

}  // namespace tessera
