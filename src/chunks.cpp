// Chunk grids and Dask's normalize_chunks (Dask 2022.12 semantics, including auto_chunks).

#include "tessera/chunks.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <ostream>
#include <set>

#include <fmt/format.h>

#include "tessera/config.hpp"
#include "tessera/error.hpp"

namespace tessera {
namespace {

bool all_unknown(const BlockSizes& sizes) {
    return !sizes.empty() &&
           std::all_of(sizes.begin(), sizes.end(), [](std::int64_t size) { return size == -1; });
}

// "(2, 2, 1)", "(3,)"; unknown sizes print as Dask's "nan".
std::string sizes_str(const BlockSizes& sizes) {
    std::vector<std::string> parts;
    for (std::int64_t size : sizes) parts.push_back(size == -1 ? "nan" : fmt::format("{}", size));
    if (parts.size() == 1) return fmt::format("({},)", parts[0]);
    return fmt::format("({})", fmt::join(parts, ", "));
}

std::string tuple_str(const std::vector<std::string>& parts) {
    if (parts.size() == 1) return fmt::format("({},)", parts[0]);
    return fmt::format("({})", fmt::join(parts, ", "));
}

std::string axis_spec_str(const AxisChunks& spec) {
    switch (spec.kind()) {
        case AxisChunks::Kind::Size: return fmt::format("{}", spec.size());
        case AxisChunks::Kind::Whole: return "-1";
        case AxisChunks::Kind::Auto: return fmt::format("'{}'", spec.word());
        case AxisChunks::Kind::Explicit: return shape_str(spec.sizes());
    }
    return "?";
}

std::string spec_str(const std::vector<AxisChunks>& per_axis) {
    std::vector<std::string> parts;
    for (const AxisChunks& spec : per_axis) parts.push_back(axis_spec_str(spec));
    return tuple_str(parts);
}

// Blocks of `size` over `extent`, the last one ragged; a size above the extent gives one block.
BlockSizes blocks_of(std::int64_t extent, std::int64_t size, std::int64_t axis) {
    if (extent == 0) return {0};
    if (size <= 0)
        throw ChunkError("chunk size {} for axis {} of length {} must be positive", size, axis,
                         extent);
    BlockSizes sizes(static_cast<size_t>(extent / size), size);
    if (extent % size != 0) sizes.push_back(extent % size);
    return sizes;
}

// Python's float floor division for positive operands (float // int).
double py_floordiv(double value, double divisor) {
    const double mod = std::fmod(value, divisor);
    const double div = (value - mod) / divisor;
    double floor_div = std::floor(div);
    if (div - floor_div > 0.5) floor_div += 1.0;
    return floor_div;
}

// dask.array.core.round_to: close to an even multiple or factor of `s`.
double round_to(double c, double s) {
    if (c <= s) return std::max(1.0, std::trunc(c));
    return py_floordiv(c, s) * s;
}

double median(const BlockSizes& sizes) {
    BlockSizes sorted = sizes;
    std::sort(sorted.begin(), sorted.end());
    const size_t n = sorted.size();
    if (n % 2 == 1) return static_cast<double>(sorted[n / 2]);
    return (static_cast<double>(sorted[n / 2 - 1]) + static_cast<double>(sorted[n / 2])) / 2.0;
}

// The most frequent size (the first seen among equals) and its count.
std::pair<std::int64_t, std::int64_t> mode(const BlockSizes& sizes) {
    std::vector<std::pair<std::int64_t, std::int64_t>> counts;  // in order of first appearance
    for (std::int64_t size : sizes) {
        auto it = std::find_if(counts.begin(), counts.end(),
                               [&](const auto& entry) { return entry.first == size; });
        if (it == counts.end())
            counts.emplace_back(size, 1);
        else
            ++it->second;
    }
    auto best = counts.begin();
    for (auto it = counts.begin(); it != counts.end(); ++it)
        if (it->second > best->second) best = it;
    return *best;
}

// What one axis of the request has become: a fixed chunk size, explicit sizes, or "auto".
struct AxisRequest {
    enum class Kind { Size, Explicit, Auto } kind = Kind::Size;
    std::int64_t size = 0;
    BlockSizes sizes;
};

// The block extent a fixed axis contributes to the block size (dask: cs or max(cs)); an empty
// axis counts as 1 so that the other axes still get chunks (dask divides by zero here).
double fixed_extent(const AxisRequest& request) {
    const std::int64_t extent =
        request.kind == AxisRequest::Kind::Size
            ? request.size
            : *std::max_element(request.sizes.begin(), request.sizes.end());
    return static_cast<double>(std::max<std::int64_t>(extent, 1));
}

// dask.array.core.auto_chunks without previous chunks: equal sizes on all auto axes, axes
// shorter than that size taken whole.
void auto_without_previous(std::vector<AxisRequest>& request, const Shape& shape, double limit,
                           double itemsize) {
    for (;;) {
        double largest_block = 1;
        std::vector<size_t> autos;
        for (size_t axis = 0; axis < request.size(); ++axis) {
            if (request[axis].kind == AxisRequest::Kind::Auto)
                autos.push_back(axis);
            else
                largest_block *= fixed_extent(request[axis]);
        }
        if (autos.empty()) return;
        const double size =
            std::pow(limit / itemsize / largest_block, 1.0 / static_cast<double>(autos.size()));
        bool any_small = false;
        for (size_t axis : autos) {
            if (static_cast<double>(shape[axis]) < size) {
                request[axis] = {AxisRequest::Kind::Explicit, 0, {shape[axis]}};
                any_small = true;
            }
        }
        if (any_small) continue;
        for (size_t axis : autos)
            request[axis] = {AxisRequest::Kind::Size,
                             static_cast<std::int64_t>(
                                 round_to(size, static_cast<double>(shape[axis]))),
                             {}};
        return;
    }
}

// dask.array.core.auto_chunks with previous chunks: grow or shrink the previous (median) chunk
// sizes evenly, rounding to multiples of the previous typical chunk size.
void auto_with_previous(std::vector<AxisRequest>& request, const Shape& shape, double limit,
                        double itemsize, const Chunks& previous) {
    std::set<size_t> autos;
    double largest_block = 1;
    std::map<size_t, double> result;
    std::vector<double> ideal(shape.size());
    for (size_t axis = 0; axis < request.size(); ++axis) {
        const BlockSizes& prev = previous.sizes(static_cast<std::int64_t>(axis));
        if (request[axis].kind == AxisRequest::Kind::Auto) {
            autos.insert(axis);
            result[axis] = median(prev);
        } else {
            largest_block *= fixed_extent(request[axis]);
        }
        const auto [mode_size, count] = mode(prev);
        const bool typical = mode_size > 1 && static_cast<double>(count) >=
                                                  static_cast<double>(prev.size()) / 2.0;
        ideal[axis] = static_cast<double>(typical ? mode_size : shape[axis]);
    }
    const auto multiplier_now = [&] {
        double product = 1;
        for (const auto& [axis, value] : result)
            if (value != 0) product *= value;
        return limit / itemsize / largest_block / product;
    };
    double multiplier = multiplier_now();
    double last_multiplier = 0;
    std::set<size_t> last_autos;
    // Dask loops until nothing changes; the cap only guards against an endless oscillation.
    for (int round = 0; round < 1000 && (multiplier != last_multiplier || autos != last_autos);
         ++round) {
        last_multiplier = multiplier;
        last_autos = autos;
        for (size_t axis : last_autos) {
            if (ideal[axis] == 0) {
                result[axis] = 0;
                continue;
            }
            const double proposed =
                result[axis] * std::pow(multiplier, 1.0 / static_cast<double>(autos.size()));
            if (proposed > static_cast<double>(shape[axis])) {
                autos.erase(axis);
                largest_block *= static_cast<double>(shape[axis]);
                request[axis] = {AxisRequest::Kind::Size, shape[axis], {}};
                result.erase(axis);
            } else {
                result[axis] = round_to(proposed, ideal[axis]);
            }
        }
        multiplier = multiplier_now();
    }
    for (const auto& [axis, value] : result)
        request[axis] = {AxisRequest::Kind::Size, static_cast<std::int64_t>(value), {}};
}

}  // namespace

Chunks::Chunks(std::vector<BlockSizes> per_axis) : axes_(std::move(per_axis)) {
    for (size_t axis = 0; axis < axes_.size(); ++axis) {
        const BlockSizes& sizes = axes_[axis];
        if (sizes.empty())
            throw ChunkError("axis {} has no blocks (an axis of length 0 has one block of size 0)",
                             axis);
        if (all_unknown(sizes)) continue;
        for (std::int64_t size : sizes)
            if (size < 0)
                throw ChunkError("negative block size {} for axis {} in {}", size, axis,
                                 shape_str(sizes));
    }
}

Chunks Chunks::regular(const Shape& shape, const Shape& block_shape) {
    if (shape.size() != block_shape.size())
        throw ChunkError("block shape {} has {} dimensions but the shape {} has {}",
                         shape_str(block_shape), block_shape.size(), shape_str(shape),
                         shape.size());
    std::vector<BlockSizes> axes;
    for (size_t axis = 0; axis < shape.size(); ++axis) {
        if (shape[axis] < 0)
            throw ChunkError("negative extent {} for axis {} in shape {}", shape[axis], axis,
                             shape_str(shape));
        axes.push_back(blocks_of(shape[axis], block_shape[axis], static_cast<std::int64_t>(axis)));
    }
    return Chunks(std::move(axes));
}

Shape Chunks::numblocks() const {
    Shape out;
    for (const BlockSizes& sizes : axes_) out.push_back(static_cast<std::int64_t>(sizes.size()));
    return out;
}

std::int64_t Chunks::nblocks() const { return shape_size(numblocks()); }

Shape Chunks::shape() const {
    Shape out;
    for (const BlockSizes& sizes : axes_)
        out.push_back(all_unknown(sizes) ? -1
                                         : std::accumulate(sizes.begin(), sizes.end(),
                                                           std::int64_t{0}));
    return out;
}

Shape Chunks::block_shape(std::span<const std::int64_t> block) const {
    if (static_cast<std::int64_t>(block.size()) != ndim())
        throw IndexError("block index {} has {} dimensions but the chunks have {}",
                         shape_str(block), block.size(), ndim());
    Shape out;
    for (size_t axis = 0; axis < axes_.size(); ++axis) {
        const auto count = static_cast<std::int64_t>(axes_[axis].size());
        if (block[axis] < 0 || block[axis] >= count)
            throw IndexError("block index {} is out of range for numblocks {}", shape_str(block),
                             shape_str(numblocks()));
        out.push_back(axes_[axis][static_cast<size_t>(block[axis])]);
    }
    return out;
}

std::int64_t Chunks::block_start(std::int64_t axis, std::int64_t block) const {
    if (axis < 0 || axis >= ndim())
        throw IndexError("axis {} is out of range for chunks with {} dimensions", axis, ndim());
    const BlockSizes& sizes = axes_[static_cast<size_t>(axis)];
    if (block < 0 || block > static_cast<std::int64_t>(sizes.size()))
        throw IndexError("block {} is out of range for axis {} with {} blocks", block, axis,
                         sizes.size());
    if (all_unknown(sizes)) return block == 0 ? 0 : -1;
    return std::accumulate(sizes.begin(), sizes.begin() + block, std::int64_t{0});
}

Shape Chunks::max_block_shape() const {
    Shape out;
    for (const BlockSizes& sizes : axes_)
        out.push_back(*std::max_element(sizes.begin(), sizes.end()));
    return out;
}

bool Chunks::has_unknown() const { return std::any_of(axes_.begin(), axes_.end(), all_unknown); }

std::string Chunks::str() const {
    std::vector<std::string> parts;
    for (const BlockSizes& sizes : axes_) parts.push_back(sizes_str(sizes));
    return tuple_str(parts);
}

std::ostream& operator<<(std::ostream& os, const Chunks& chunks) { return os << chunks.str(); }

Chunks normalize_chunks(const ChunkSpec& spec, const Shape& shape, DType dtype,
                        const std::optional<Chunks>& previous,
                        std::optional<std::int64_t> limit_bytes) {
    const size_t ndim = shape.size();
    for (size_t axis = 0; axis < ndim; ++axis)
        if (shape[axis] < -1)
            throw ChunkError("negative extent {} for axis {} in shape {}", shape[axis], axis,
                             shape_str(shape));

    // One AxisChunks per axis.
    std::vector<AxisChunks> per_axis;
    if (spec.is_default()) {
        per_axis.assign(ndim, AxisChunks::automatic());
    } else if (spec.uniform()) {
        per_axis.assign(ndim, *spec.uniform());
    } else if (spec.exact()) {
        if (static_cast<size_t>(spec.exact()->ndim()) != ndim)
            throw ChunkError("chunks {} have {} dimensions but the array has {}",
                             spec.exact()->str(), spec.exact()->ndim(), ndim);
        for (const BlockSizes& sizes : spec.exact()->axes()) per_axis.emplace_back(sizes);
    } else {
        per_axis = spec.per_axis();
        const bool all_sizes = std::all_of(per_axis.begin(), per_axis.end(), [](const auto& c) {
            return c.kind() == AxisChunks::Kind::Size;
        });
        if (ndim == 1 && per_axis.size() > 1 && all_sizes) {
            // Dask reads several numbers for a 1-d array as that axis' explicit sizes.
            BlockSizes sizes;
            for (const AxisChunks& c : per_axis) sizes.push_back(c.size());
            per_axis = {AxisChunks(sizes)};
        } else if (per_axis.empty() && ndim > 0 &&
                   std::all_of(shape.begin(), shape.end(), [](auto e) { return e == 0; })) {
            per_axis.assign(ndim, AxisChunks(BlockSizes{0}));
        }
        if (per_axis.size() != ndim)
            throw ChunkError("chunks {} have {} dimensions but the array has {}",
                             spec_str(spec.per_axis()), spec.per_axis().size(), ndim);
    }

    // Validate every axis; "auto" axes are resolved below.
    std::vector<AxisRequest> request(ndim);
    bool any_auto = false;
    for (size_t axis = 0; axis < ndim; ++axis) {
        const AxisChunks& c = per_axis[axis];
        const std::int64_t extent = shape[axis];
        AxisRequest& r = request[axis];
        if (c.kind() == AxisChunks::Kind::Explicit) {
            r = {AxisRequest::Kind::Explicit, 0, c.sizes()};
            if (c.sizes().empty())
                throw ChunkError("chunks () for axis {} are empty (an axis of length 0 has "
                                 "chunks (0,))",
                                 axis);
            if (extent == -1 || all_unknown(c.sizes())) {
                if (extent != -1 || !all_unknown(c.sizes()))
                    throw ChunkError("chunks {} for axis {} do not match its length {}",
                                     sizes_str(c.sizes()), axis, extent);
                continue;
            }
            for (std::int64_t size : c.sizes())
                if (size < 0)
                    throw ChunkError("negative chunk size {} for axis {} in {}", size, axis,
                                     shape_str(c.sizes()));
            const std::int64_t sum =
                std::accumulate(c.sizes().begin(), c.sizes().end(), std::int64_t{0});
            if (sum != extent)
                throw ChunkError("chunks {} for axis {} sum to {} but the axis has length {}",
                                 shape_str(c.sizes()), axis, sum, extent);
            continue;
        }
        if (extent == -1)
            throw ChunkError("axis {} has unknown length: its chunks must be given explicitly",
                             axis);
        switch (c.kind()) {
            case AxisChunks::Kind::Whole: r = {AxisRequest::Kind::Size, extent, {}}; break;
            case AxisChunks::Kind::Size:
                if (c.size() < -1 || (c.size() == 0 && extent > 0))
                    throw ChunkError("chunk size {} for axis {} of length {} must be positive",
                                     c.size(), axis, extent);
                r = {AxisRequest::Kind::Size, c.size(), {}};
                break;
            case AxisChunks::Kind::Auto:
                if (c.word() != "auto")
                    throw ChunkError("unknown chunk specification '{}' for axis {} (expected "
                                     "'auto', a size or -1)",
                                     c.word(), axis);
                r.kind = AxisRequest::Kind::Auto;
                any_auto = true;
                break;
            case AxisChunks::Kind::Explicit: break;
        }
    }

    if (any_auto) {
        const std::int64_t limit_value =
            limit_bytes ? *limit_bytes : config::get().chunk_size_bytes;
        const auto limit = static_cast<double>(std::max<std::int64_t>(1, limit_value));
        const auto itemsize = static_cast<double>(dtype.itemsize());
        if (previous) {
            if (static_cast<size_t>(previous->ndim()) != ndim)
                throw ChunkError("previous chunks {} have {} dimensions but the array has {}",
                                 previous->str(), previous->ndim(), ndim);
            if (previous->has_unknown())
                throw ChunkError("cannot choose automatic chunks from previous chunks {} with "
                                 "unknown sizes",
                                 previous->str());
            auto_with_previous(request, shape, limit, itemsize, *previous);
        } else {
            auto_without_previous(request, shape, limit, itemsize);
        }
    }

    std::vector<BlockSizes> axes;
    for (size_t axis = 0; axis < ndim; ++axis) {
        const AxisRequest& r = request[axis];
        if (r.kind == AxisRequest::Kind::Explicit)
            axes.push_back(r.sizes);
        else
            axes.push_back(blocks_of(shape[axis], r.size, static_cast<std::int64_t>(axis)));
    }
    return Chunks(std::move(axes));
}

}  // namespace tessera
