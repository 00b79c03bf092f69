#pragma once
/// \file array.hpp
/// tessera::Array: a lazy chunked N-d array. Operations build an expression graph; compute()
/// lowers it to tasks (fusing elementwise chains into one kernel per chunk) and runs it.
///
///     auto x = ts::random::normal(1.0, 2.0, {1 << 27}, {.chunks = {1 << 22}, .seed = 42});
///     double m = x.mean().compute().item<double>();
///     auto y = ((x + 1) * 2 - ts::sqrt(x)) / (x + 0.5);

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tessera/chunks.hpp"
#include "tessera/dtype.hpp"
#include "tessera/graph.hpp"
#include "tessera/ndarray.hpp"
#include "tessera/scheduler.hpp"

namespace tessera {

namespace detail {
class ArrayNode;
}

inline constexpr double nan = std::numeric_limits<double>::quiet_NaN();
inline constexpr double inf = std::numeric_limits<double>::infinity();
inline constexpr double pi = 3.141592653589793238462643383279502884;
inline constexpr double e = 2.718281828459045235360287471352662498;

/// Axes of a reduction: all (default), one (`1`, `-1`) or several (`{0, 2}`).
class Axes {
public:
    Axes() = default;  // all axes
    Axes(std::int64_t axis) : axes_(std::vector<std::int64_t>{axis}) {}
    Axes(int axis) : axes_(std::vector<std::int64_t>{axis}) {}
    Axes(std::initializer_list<std::int64_t> axes) : axes_(std::vector<std::int64_t>(axes)) {}
    Axes(std::vector<std::int64_t> axes) : axes_(std::move(axes)) {}
    bool all() const { return !axes_.has_value(); }
    const std::vector<std::int64_t>& list() const { return *axes_; }

private:
    std::optional<std::vector<std::int64_t>> axes_;
};

/// Options of reductions (NumPy keywords).
struct ReduceOptions {
    bool keepdims = false;
    /// Accumulator/result dtype (NumPy's `dtype=`); default NumPy's choice.
    std::optional<DType> dtype = std::nullopt;
    /// Fan-in of the combine tree; 0 = config().split_every.
    int split_every = 0;
    /// Delta degrees of freedom (var, std).
    std::int64_t ddof = 0;
};

/// Options of creation functions.
struct CreateOptions {
    ChunkSpec chunks = {};  // default "auto"
    /// Unset: the function's NumPy default (float64 for zeros/ones/empty/linspace/eye and
    /// arange(start, stop, step), int64 for arange(stop), the value's dtype for full).
    std::optional<DType> dtype = std::nullopt;
};

class IndexList;
struct RechunkOptions;

/// A lazy chunked N-d array (a cheap handle to an immutable expression node).
class Array {
public:
    /// An empty float64 array of shape (0,).
    Array();
    explicit Array(std::shared_ptr<const detail::ArrayNode> node);

    DType dtype() const;
    const Shape& shape() const;
    std::int64_t shape(std::int64_t axis) const;
    std::int64_t ndim() const;
    std::int64_t size() const;
    std::int64_t nbytes() const;
    const Chunks& chunks() const;
    Shape numblocks() const;
    /// The key name of this array's blocks ("add-1f2e3d4c5b6a7988").
    const std::string& name() const;
    /// The block (key) of block index `block`.
    Key block_key(std::span<const std::int64_t> block) const;
    /// Dimension names (from Zarr `_ARRAY_DIMENSIONS` / `dimension_names`); empty when unnamed.
    std::vector<std::string> dims() const;

    /// Runs the graph and returns the whole array.
    NDArray compute(const ComputeOptions& options = {}) const;
    /// Runs the graph and returns an Array whose chunks are in memory.
    Array persist(const ComputeOptions& options = {}) const;
    /// Writes the (optimized or raw) task graph as DOT/SVG/PNG.
    void visualize(const std::string& path, bool optimized = true) const;
    /// The task graph of this array (optimized = after fusion).
    Graph graph(bool optimized = true) const;

    /// NumPy astype (unsafe casting).
    Array astype(DType dtype) const;

    // Reductions (see the free functions of the same names).
    Array sum(const Axes& axis = {}, const ReduceOptions& options = {}) const;
    Array prod(const Axes& axis = {}, const ReduceOptions& options = {}) const;
    Array mean(const Axes& axis = {}, const ReduceOptions& options = {}) const;
    Array var(const Axes& axis = {}, const ReduceOptions& options = {}) const;
    Array std(const Axes& axis = {}, const ReduceOptions& options = {}) const;
    Array min(const Axes& axis = {}, const ReduceOptions& options = {}) const;
    Array max(const Axes& axis = {}, const ReduceOptions& options = {}) const;
    Array any(const Axes& axis = {}, const ReduceOptions& options = {}) const;
    Array all(const Axes& axis = {}, const ReduceOptions& options = {}) const;

    // Shape shortcuts (see the free functions of the same names in array_shape.hpp and
    // indexing.hpp; the index types are complete there).
    /// transpose(*this): the axes reversed.
    Array T() const;
    Array transpose(const std::vector<std::int64_t>& axes = {}) const;
    Array reshape(const Shape& shape) const;
    Array rechunk(const ChunkSpec& chunks = {}) const;
    Array rechunk(const ChunkSpec& chunks, const RechunkOptions& options) const;
    Array ravel() const;
    /// A 1-d copy in C order (same as ravel(): Tessera arrays are immutable).
    Array flatten() const;
    Array squeeze(const Axes& axis = {}) const;
    /// Basic indexing: `x[{1, ts::Slice(2, 5)}]`, `x[3]` (getitem).
    Array operator[](const IndexList& index) const;
    /// Boolean mask indexing `x[x > 0]` (getitem_mask).
    Array operator[](const Array& mask) const;
    /// Basic indexing with one argument per item: `x(1, ts::Slice(2, 5), ts::newaxis)`
    /// (defined in array_shape.hpp).
    template <class... Items>
    Array operator()(const Items&... items) const;
    /// compute_chunk_sizes(*this).
    Array compute_chunk_sizes() const;

    // Collection protocol (compute(a, b, ...)).
    void add_to_graph(Graph& graph, std::vector<Key>& keys) const;
    NDArray finalize(std::span<const Value> values) const;
    std::size_t n_keys() const;

    const std::shared_ptr<const detail::ArrayNode>& node() const { return node_; }

private:
    std::shared_ptr<const detail::ArrayNode> node_;
};

// ------------------------------------------------------------------------------ creation
/// An array filled with `value` (dtype from options, or the value's when options.dtype unset).
Array full(const Shape& shape, const Scalar& value, const CreateOptions& options = {});
Array zeros(const Shape& shape, const CreateOptions& options = {});
Array ones(const Shape& shape, const CreateOptions& options = {});
/// Like zeros (Tessera never hands out uninitialized memory).
Array empty(const Shape& shape, const CreateOptions& options = {});
Array zeros_like(const Array& a);
Array ones_like(const Array& a);
Array full_like(const Array& a, const Scalar& value);
/// Values start, start+step, ... < stop (NumPy's length rule); ValueError when step == 0.
Array arange(double start, double stop, double step = 1, const CreateOptions& options = {});
Array arange(std::int64_t stop, const CreateOptions& options = {});
/// `num` evenly spaced values over [start, stop] (endpoint included).
Array linspace(double start, double stop, std::int64_t num, const CreateOptions& options = {});
/// Chunks a materialized array (copied into the graph once).
Array from_array(const NDArray& data, const ChunkSpec& chunks = {});

namespace random {
struct Options {
    ChunkSpec chunks = {};  // default "auto"
    std::uint64_t seed = 0;
    DType dtype = float64;
};
/// Counter-based (Philox4x32-10) random numbers: the value at each global index depends only on
/// the seed and the index, so results are identical for every chunking, scheduler and thread
/// count.
Array random(const Shape& shape, const Options& options = {});                         // U[0, 1)
Array uniform(double low, double high, const Shape& shape, const Options& options = {});  // U[low, high)
Array normal(double loc, double scale, const Shape& shape, const Options& options = {});
/// Integers in [low, high); dtype defaults to int64.
Array integers(std::int64_t low, std::int64_t high, const Shape& shape,
               const Options& options = {.dtype = int64});
}  // namespace random

// ------------------------------------------------------------------------------ elementwise
Array operator+(const Array& a, const Array& b);
Array operator-(const Array& a, const Array& b);
Array operator*(const Array& a, const Array& b);
Array operator/(const Array& a, const Array& b);
Array operator+(const Array& a, const Scalar& b);
Array operator-(const Array& a, const Scalar& b);
Array operator*(const Array& a, const Scalar& b);
Array operator/(const Array& a, const Scalar& b);
Array operator+(const Scalar& a, const Array& b);
Array operator-(const Scalar& a, const Array& b);
Array operator*(const Scalar& a, const Array& b);
Array operator/(const Scalar& a, const Array& b);
Array operator-(const Array& a);
Array operator<(const Array& a, const Array& b);
Array operator<=(const Array& a, const Array& b);
Array operator>(const Array& a, const Array& b);
Array operator>=(const Array& a, const Array& b);
Array operator==(const Array& a, const Array& b);
Array operator!=(const Array& a, const Array& b);
Array operator<(const Array& a, const Scalar& b);
Array operator<=(const Array& a, const Scalar& b);
Array operator>(const Array& a, const Scalar& b);
Array operator>=(const Array& a, const Scalar& b);
Array operator==(const Array& a, const Scalar& b);
Array operator!=(const Array& a, const Scalar& b);

Array sqrt(const Array& a);
Array exp(const Array& a);
Array log(const Array& a);
Array abs(const Array& a);
Array sin(const Array& a);
Array cos(const Array& a);
Array isnan(const Array& a);
/// Elementwise choice; `cond` must be bool (or is tested != 0).
Array where(const Array& cond, const Array& a, const Array& b);
Array where(const Array& cond, const Scalar& a, const Array& b);
Array where(const Array& cond, const Array& a, const Scalar& b);

// ------------------------------------------------------------------------------ reductions
Array sum(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});
Array prod(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});
Array mean(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});
Array var(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});
Array std(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});
Array min(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});
Array max(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});
Array any(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});
Array all(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});
Array nansum(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});
Array nanmean(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});
Array nanvar(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});
Array nanstd(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});
Array nanmin(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});
Array nanmax(const Array& a, const Axes& axis = {}, const ReduceOptions& options = {});

}  // namespace tessera
