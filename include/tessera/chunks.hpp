#pragma once
/// \file chunks.hpp
/// Chunk grids: per-axis block sizes with a ragged last block, and Dask's normalize_chunks.
///
///     auto c = ts::normalize_chunks({1000, ts::AxisChunks::whole()}, {2500, 30}, ts::float64);
///     // c.sizes(0) == {1000, 1000, 500}, c.sizes(1) == {30}

#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tessera/dtype.hpp"
#include "tessera/shape.hpp"

namespace tessera {

using BlockSizes = std::vector<std::int64_t>;

/// The chunk grid of an array: for every axis, the sizes of its blocks in order.
/// Unknown sizes (after boolean masking) are stored as -1 (Dask's NaN).
class Chunks {
public:
    Chunks() = default;  // 0-d: no axes, one block
    /// Throws ChunkError for an axis without blocks or with negative sizes (an axis whose sizes
    /// are all -1 is unknown).
    explicit Chunks(std::vector<BlockSizes> per_axis);
    /// `Chunks({{2, 2, 1}, {3}})`; also unambiguous for one axis: `Chunks({{7}})`.
    explicit Chunks(std::initializer_list<BlockSizes> per_axis)
        : Chunks(std::vector<BlockSizes>(per_axis)) {}
    /// Regular blocks of `block_shape` over `shape`, the last block of each axis ragged (a block
    /// larger than the axis gives one block). Throws ChunkError when the ranks differ, an
    /// extent is negative or a block size is not positive on a non-empty axis.
    static Chunks regular(const Shape& shape, const Shape& block_shape);

    std::int64_t ndim() const { return static_cast<std::int64_t>(axes_.size()); }
    const BlockSizes& sizes(std::int64_t axis) const { return axes_.at(static_cast<size_t>(axis)); }
    const std::vector<BlockSizes>& axes() const { return axes_; }
    /// Number of blocks along every axis.
    Shape numblocks() const;
    /// Total number of blocks (product of numblocks()).
    std::int64_t nblocks() const;
    /// The array shape (sum of block sizes per axis); -1 on an axis with unknown sizes.
    Shape shape() const;
    /// Shape of the block at `block` (one block index per axis).
    Shape block_shape(std::span<const std::int64_t> block) const;
    /// Start offset of block `block` along `axis`.
    std::int64_t block_start(std::int64_t axis, std::int64_t block) const;
    /// Largest block along each axis.
    Shape max_block_shape() const;
    /// True when some axis has unknown (-1) sizes.
    bool has_unknown() const;

    friend bool operator==(const Chunks& a, const Chunks& b) { return a.axes_ == b.axes_; }
    /// Dask-style text: "((2, 2, 1), (3,))".
    std::string str() const;

private:
    std::vector<BlockSizes> axes_;
};

std::ostream& operator<<(std::ostream& os, const Chunks& chunks);

/// How one axis is to be chunked.
class AxisChunks {
public:
    enum class Kind { Size, Whole, Auto, Explicit };
    /// Blocks of `size` elements (the last one ragged); -1 means the whole axis.
    AxisChunks(std::int64_t size) : kind_(size == -1 ? Kind::Whole : Kind::Size), size_(size) {}
    AxisChunks(int size) : AxisChunks(static_cast<std::int64_t>(size)) {}
    /// "auto" (any other string is a ChunkError when normalized).
    AxisChunks(const char* word) : kind_(Kind::Auto), word_(word) {}
    /// Explicit block sizes that must sum to the axis length.
    AxisChunks(std::initializer_list<std::int64_t> sizes) : kind_(Kind::Explicit), sizes_(sizes) {}
    AxisChunks(BlockSizes sizes) : kind_(Kind::Explicit), sizes_(std::move(sizes)) {}
    static AxisChunks whole() { return AxisChunks(std::int64_t{-1}); }
    static AxisChunks automatic() { return AxisChunks("auto"); }

    Kind kind() const { return kind_; }
    std::int64_t size() const { return size_; }
    const BlockSizes& sizes() const { return sizes_; }
    const std::string& word() const { return word_; }

private:
    Kind kind_;
    std::int64_t size_ = 0;
    BlockSizes sizes_;
    std::string word_;
};

/// A user's chunk request: "auto", one size for every axis, or one AxisChunks per axis.
/// Converts from `1024`, `"auto"`, `{1024, -1}`, `{{3, 4}, {2, 2}}` and from a Chunks.
class ChunkSpec {
public:
    ChunkSpec() : all_auto_(true) {}  // "auto"
    ChunkSpec(std::int64_t size) : uniform_(AxisChunks(size)) {}
    ChunkSpec(int size) : uniform_(AxisChunks(size)) {}
    ChunkSpec(const char* word) : uniform_(AxisChunks(word)) {}
    ChunkSpec(std::initializer_list<AxisChunks> per_axis) : per_axis_(per_axis) {}
    ChunkSpec(std::vector<AxisChunks> per_axis) : per_axis_(std::move(per_axis)) {}
    ChunkSpec(const Shape& per_axis_sizes) : per_axis_(per_axis_sizes.begin(), per_axis_sizes.end()) {}
    ChunkSpec(const Chunks& exact) : exact_(exact) {}

    bool is_default() const { return all_auto_; }
    const std::optional<AxisChunks>& uniform() const { return uniform_; }
    const std::vector<AxisChunks>& per_axis() const { return per_axis_; }
    const std::optional<Chunks>& exact() const { return exact_; }

private:
    bool all_auto_ = false;
    std::optional<AxisChunks> uniform_;
    std::vector<AxisChunks> per_axis_;
    std::optional<Chunks> exact_;
};

/// Dask's normalize_chunks. `previous` (optional) are existing chunks whose boundaries "auto"
/// prefers; `limit_bytes` defaults to config().chunk_size_bytes (128 MiB).
/// As in Dask: a size above the axis length gives one block, an axis of length 0 gets (0,), and
/// several sizes for a 1-d array are its explicit sizes (`{2, 3}` over (5,) -> ((2, 3),)).
/// Unlike Dask (which divides by zero), "auto" sizes the other axes of an empty array as if the
/// empty axes had length 1.
/// Throws ChunkError naming the axis and values, e.g.
/// "chunks (3, 4) for axis 0 sum to 7 but the axis has length 8".
Chunks normalize_chunks(const ChunkSpec& spec, const Shape& shape, DType dtype,
                        const std::optional<Chunks>& previous = std::nullopt,
                        std::optional<std::int64_t> limit_bytes = std::nullopt);

}  // namespace tessera
