#pragma once
/// \file array_shape.hpp
/// Shape and indexing operations of tessera::Array, following Dask's chunking rules:
/// basic indexing (getitem), transpose / swapaxes / moveaxis, reshape / ravel / squeeze /
/// expand_dims, rechunk (planned in stages so memory and graph size stay bounded), and
/// concatenate / stack. Every operation checks its arguments when the expression is built.
///
///     auto y = ts::getitem(x, {ts::Slice(1, 10, 2), 3, ts::newaxis, ts::ellipsis});
///     auto z = ts::rechunk(ts::transpose(x), {256, -1});
///     auto w = ts::concatenate({a, b}, 1);

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <vector>

#include "tessera/array.hpp"
#include "tessera/chunks.hpp"
#include "tessera/shape.hpp"

namespace tessera {

/// An open slice end (`ts::Slice(ts::none, 5)` is Python's `:5`).
inline constexpr std::nullopt_t none = std::nullopt;

/// A Python slice `start:stop:step`; each part optional. Negative bounds count from the end,
/// bounds are clamped, a negative step walks backwards; step 0 is a ValueError when used.
///
///     ts::Slice()             // :
///     ts::Slice(2, ts::none)  // 2:
///     ts::Slice(ts::none, ts::none, -1)  // ::-1
struct Slice {
    std::optional<std::int64_t> start, stop, step;
    Slice() = default;
    Slice(std::optional<std::int64_t> start_, std::optional<std::int64_t> stop_,
          std::optional<std::int64_t> step_ = std::nullopt)
        : start(start_), stop(stop_), step(step_) {}
    friend bool operator==(const Slice&, const Slice&) = default;
};

/// NumPy's np.newaxis: inserts an axis of length 1.
struct NewAxis {
    friend bool operator==(NewAxis, NewAxis) { return true; }
};
inline constexpr NewAxis newaxis{};

/// NumPy's `...`: as many full slices as needed (at most one per index).
struct EllipsisTag {
    friend bool operator==(EllipsisTag, EllipsisTag) { return true; }
};
inline constexpr EllipsisTag ellipsis{};

/// One entry of a basic index: an integer (negative counts from the end), a Slice, newaxis or
/// ellipsis. Booleans are not integers here (boolean masks are not basic indexing).
class IndexItem {
public:
    enum class Kind { Integer, Slice, NewAxis, Ellipsis };
    template <std::integral T>
        requires(!std::same_as<T, bool>)
    IndexItem(T index) : kind_(Kind::Integer), integer_(static_cast<std::int64_t>(index)) {}
    IndexItem(const Slice& slice) : kind_(Kind::Slice), slice_(slice) {}
    IndexItem(NewAxis) : kind_(Kind::NewAxis) {}
    IndexItem(EllipsisTag) : kind_(Kind::Ellipsis) {}

    Kind kind() const { return kind_; }
    std::int64_t integer() const { return integer_; }
    const Slice& slice() const { return slice_; }

private:
    Kind kind_;
    std::int64_t integer_ = 0;
    Slice slice_;
};

/// A whole basic index: a braced list of items (`{1, ts::Slice(), ts::newaxis}`) or one item.
class IndexList {
public:
    IndexList(std::initializer_list<IndexItem> items) : items_(items) {}
    IndexList(std::vector<IndexItem> items) : items_(std::move(items)) {}
    template <std::integral T>
        requires(!std::same_as<T, bool>)
    IndexList(T index) : items_{IndexItem(index)} {}
    IndexList(const Slice& slice) : items_{IndexItem(slice)} {}
    IndexList(NewAxis) : items_{IndexItem(newaxis)} {}
    IndexList(EllipsisTag) : items_{IndexItem(ellipsis)} {}

    const std::vector<IndexItem>& items() const { return items_; }

private:
    std::vector<IndexItem> items_;
};

// ------------------------------------------------------------------------------ indexing

/// Basic indexing `x[index]` with NumPy semantics and Dask's chunks: along a sliced axis every
/// output block is the part of one input block that the slice selects (empty parts dropped; in
/// reverse order for a negative step), so only the input blocks touched are read. Returns `x`
/// itself for an index of full slices.
/// Throws IndexError ("index 10 is out of bounds for axis 0 with size 10", "too many indices
/// for array: array is 2-dimensional, but 3 were indexed", "an index can only have a single
/// ellipsis ('...')"), ValueError "slice step cannot be zero", NotImplemented for arrays with
/// unknown chunk sizes.
///
///     ts::getitem(x, {ts::Slice(1, 10, 2), 3, ts::newaxis, ts::ellipsis});
///     ts::getitem(x, {ts::ellipsis, -1});   // x[..., -1]
Array getitem(const Array& x, const IndexList& index);

template <class... Items>
Array Array::operator()(const Items&... items) const {
    return getitem(*this, IndexList(std::vector<IndexItem>{IndexItem(items)...}));
}

// ------------------------------------------------------------------------------ axes

/// Permutes the axes (empty `axes` reverses them); block (i, j) of the result is the transposed
/// block (j, i) of `x` copied contiguous. Returns `x` for the identity permutation.
/// Throws AxisError as NDArray::transpose ("axes (0,) don't match array of dimension 2",
/// "repeated axis 0 in transpose axes (0, 0)", "axis 2 is out of bounds for array of dimension 2").
Array transpose(const Array& x, const std::vector<std::int64_t>& axes = {});
/// Interchanges two axes; AxisError for an axis out of range.
Array swapaxes(const Array& x, std::int64_t axis1, std::int64_t axis2);
/// Moves axes to new positions, the others keeping their order (np.moveaxis). Throws AxisError
/// for an axis out of range or repeated, ValueError "`source` and `destination` arguments must
/// have the same number of elements" (also when either is Axes() = all).
///
///     ts::moveaxis(x, 0, -1);            // (3, 4, 5) -> (4, 5, 3)
///     ts::moveaxis(x, {0, 1}, {-1, -2}); // (3, 4, 5) -> (5, 4, 3)
Array moveaxis(const Array& x, const Axes& source, const Axes& destination);

// ------------------------------------------------------------------------------ reshape

/// Gives `x` a new shape (one extent may be -1) in C order, by Dask's rules: groups of axes are
/// merged or split blockwise when the chunks allow it, otherwise `x` is first rechunked along the
/// group (like dask's reshape_rechunk) so every output block is the reshape of one block.
/// Returns `x` when the shape is unchanged. Throws ShapeError "cannot reshape array of size 6
/// into shape (4,)", ValueError for two -1 ("can only specify one unknown dimension in shape
/// (-1, -1)") or other negative extents, NotImplemented for unknown chunk sizes.
Array reshape(const Array& x, const Shape& shape);
/// The 1-d reshape (reshape(x, {-1})).
Array ravel(const Array& x);
/// Removes axes of length 1 (all of them, or the ones given; chunks unchanged otherwise).
/// Throws AxisError for a bad or repeated axis and ValueError "cannot select an axis to squeeze
/// out which has size not equal to one".
Array squeeze(const Array& x, const Axes& axis = {});
/// Inserts axes of length 1 at the positions `axis` has in the result (np.expand_dims).
/// Throws AxisError for a bad or repeated axis, ValueError when `axis` is Axes() (all).
Array expand_dims(const Array& x, const Axes& axis);

// ------------------------------------------------------------------------------ rechunk

/// Options of rechunk (Dask's keywords).
struct RechunkOptions {
    /// Largest intermediate block in bytes, and the "auto" target; default
    /// config().chunk_size_bytes.
    std::optional<std::int64_t> block_size_limit = std::nullopt;
    /// A direct rechunk is used while its task graph would stay below `threshold` times the
    /// blocks of the input plus the output; above it intermediate stages are planned.
    double threshold = 4.0;
};

/// Changes the chunking: `chunks` as normalize_chunks reads it (sizes, -1 = whole axis, "auto"
/// with the current chunks as previous chunks, explicit sizes). Every output block is assembled
/// from the pieces of the input blocks that overlap it; when that all-to-all would be large
/// (Dask's plan_rechunk) it goes through intermediate chunkings whose blocks stay below
/// block_size_limit. Returns `x` when the chunks are unchanged. Throws ChunkError from
/// normalize_chunks, NotImplemented for unknown chunk sizes.
///
///     ts::rechunk(x, {256, -1});        // rows of 256, whole second axis
///     ts::rechunk(x, "auto");
Array rechunk(const Array& x, const ChunkSpec& chunks = {}, const RechunkOptions& options = {});

// ------------------------------------------------------------------------------ joining

/// Joins arrays along an existing axis (np.concatenate); the dtype is their result_type. Output
/// chunks: the inputs' chunks along `axis` one after the other (empty inputs dropped, as in
/// Dask), and the common refinement of their chunks along the other axes (no rechunk tasks).
/// Throws ValueError "need at least one array to concatenate" and "zero-dimensional arrays
/// cannot be concatenated", AxisError "axis 2 is out of bounds for array of dimension 2",
/// ShapeError "all the input arrays must have same number of dimensions, but the array at index
/// 0 has 2 dimension(s) and the array at index 1 has 1 dimension(s)" and "all the input array
/// dimensions except for the concatenation axis must match exactly, but along dimension 1, the
/// array at index 0 has size 3 and the array at index 1 has size 4".
Array concatenate(const std::vector<Array>& arrays, std::int64_t axis = 0);
/// Joins arrays of equal shape along a new axis (np.stack; chunks of size 1 along it).
/// Throws ValueError "need at least one array to stack", ShapeError "all input arrays must
/// have the same shape", AxisError for `axis` outside [-ndim-1, ndim].
Array stack(const std::vector<Array>& arrays, std::int64_t axis = 0);

}  // namespace tessera
