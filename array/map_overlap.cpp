// map_overlap: every task assembles its block with a halo of `depth` elements per side from the
// neighbouring blocks (or, at the array's edges, from the boundary rule), calls the kernel and
// trims the halo off the result, all in one task (no intermediate overlapped array). Axes with
// blocks smaller than their depth are rechunked first, merging small blocks into their
// neighbours like Dask's ensure_minimum_chunksize.
#include <algorithm>
#include <map>
#include <utility>

#include "array/custom_ops.hpp"
#include "tessera/array_shape.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {

namespace {

// One segment of the halo'd block along one axis.
struct Segment {
    std::int64_t block = 0;  // source block along the axis (-1: fill)
    std::int64_t start = 0, stop = 0;
    bool flip = false;
};

class OverlapNode final : public CustomNode {
public:
    OverlapNode(std::string op, DType dtype, Chunks chunks, NodePtr input, std::uint64_t token, KernelRef kernel,
                Shape depth, std::vector<Boundary> boundary, bool trim, std::string params)
        : CustomNode(std::move(op), dtype, std::move(chunks), {std::move(input)}, token, std::move(kernel)),
          depth_(std::move(depth)),
          boundary_(std::move(boundary)),
          trim_(trim),
          params_(std::move(params)) {}

    /// The segments of block `b` along `axis` of `in` (left halo, the block, right halo).
    static std::vector<Segment> segments(const Chunks& in, std::int64_t axis, std::int64_t b, std::int64_t d,
                                         const Boundary& boundary, std::int64_t& before, std::int64_t& after) {
        const BlockSizes& sizes = in.sizes(axis);
        const auto n = static_cast<std::int64_t>(sizes.size());
        auto size = [&](std::int64_t k) { return sizes[static_cast<std::size_t>(k)]; };
        std::vector<Segment> out;
        before = after = 0;
        if (d > 0) {
            if (b > 0) out.push_back({b - 1, size(b - 1) - d, size(b - 1), false});
            else if (boundary.kind == Boundary::Kind::Constant) out.push_back({-1, 0, d, false});
            else if (boundary.kind == Boundary::Kind::Periodic) out.push_back({n - 1, size(n - 1) - d, size(n - 1), false});
            else if (boundary.kind == Boundary::Kind::Reflect) out.push_back({0, 0, d, true});
            if (!out.empty()) before = d;
        }
        out.push_back({b, 0, size(b), false});
        if (d > 0) {
            const std::size_t had = out.size();
            if (b < n - 1) out.push_back({b + 1, 0, d, false});
            else if (boundary.kind == Boundary::Kind::Constant) out.push_back({-1, 0, d, false});
            else if (boundary.kind == Boundary::Kind::Periodic) out.push_back({0, 0, d, false});
            else if (boundary.kind == Boundary::Kind::Reflect) out.push_back({n - 1, size(n - 1) - d, size(n - 1), true});
            if (out.size() > had) after = d;
        }
        return out;
    }

protected:
    CallSpec block_spec(std::span<const std::int64_t> block, std::vector<Key>& deps) const override {
        const ArrayNode& in = *inputs()[0];
        const std::size_t ndim = depth_.size();
        CallSpec spec;
        spec.kernel = kernel_.name;
        spec.what = "map_overlap";
        spec.params = params_;
        spec.info.output = block_location(chunks(), block);
        spec.info.dtype = dtype();
        spec.info.inputs.push_back(block_location(in.chunks(), block));
        std::vector<std::vector<Segment>> segs(ndim);
        spec.info.halo_before.resize(ndim);
        spec.info.halo_after.resize(ndim);
        OperandSpec op;
        for (std::size_t axis = 0; axis < ndim; ++axis) {
            segs[axis] = segments(in.chunks(), static_cast<std::int64_t>(axis), block[axis], depth_[axis],
                                  boundary_[axis], spec.info.halo_before[axis], spec.info.halo_after[axis]);
            op.grid.push_back(static_cast<std::int64_t>(segs[axis].size()));
            std::int64_t extent = 0;
            for (const auto& s : segs[axis]) extent += s.stop - s.start;
            spec.info.chunk_shape.push_back(extent);
            if (boundary_[axis].kind == Boundary::Kind::Constant) op.fill = boundary_[axis].value;
        }
        op.fill_dtype = in.dtype();
        if (trim_) {
            spec.trim_before = spec.info.halo_before;
            spec.trim_after = spec.info.halo_after;
        }
        std::map<Key, std::int32_t> positions;
        for_each_block(op.grid, [&](std::span<const std::int64_t> g) {
            OperandPart part;
            Shape src(ndim);
            bool fill = false;
            for (std::size_t axis = 0; axis < ndim; ++axis) {
                const Segment& s = segs[axis][static_cast<std::size_t>(g[axis])];
                fill = fill || s.block < 0;
                src[axis] = s.block;
                part.start.push_back(s.start);
                part.stop.push_back(s.stop);
                part.fill_shape.push_back(s.stop - s.start);
                if (s.flip) part.flip.push_back(static_cast<std::int64_t>(axis));
            }
            if (fill) {
                part.start.clear();
                part.stop.clear();
                part.flip.clear();
            } else {
                const Key key = in.block_key(src);
                auto [it, inserted] = positions.emplace(key, static_cast<std::int32_t>(deps.size()));
                if (inserted) deps.push_back(key);
                part.dep = it->second;
                part.fill_shape.clear();
            }
            op.parts.push_back(std::move(part));
        });
        spec.operands.push_back(std::move(op));
        return spec;
    }

private:
    Shape depth_;
    std::vector<Boundary> boundary_;
    bool trim_;
    std::string params_;
};

// Merges blocks smaller than `depth` into their neighbours (every result block >= depth).
BlockSizes ensure_minimum(const BlockSizes& sizes, std::int64_t depth) {
    BlockSizes out;
    std::int64_t pending = 0;
    for (auto s : sizes) {
        pending += s;
        if (pending >= depth) {
            out.push_back(pending);
            pending = 0;
        }
    }
    if (pending > 0) out.back() += pending;
    return out;
}

}  // namespace

}  // namespace tessera::detail

namespace tessera {

Array map_overlap(const BlockKernel& kernel, const Array& x, const std::vector<std::int64_t>& depth,
                  const MapOverlapOptions& options) {
    const detail::KernelRef ref = detail::resolve_kernel(kernel);
    const std::int64_t ndim = x.ndim();
    const auto n = static_cast<std::size_t>(ndim);
    if (depth.size() != 1 && depth.size() != n)
        throw AxisError("depth has {} entries but the array has {} dimensions", depth.size(), ndim);
    Shape d(n, depth.empty() ? 0 : depth[0]);
    if (depth.size() == n) d = depth;
    std::vector<Boundary> boundary(n, Boundary::none());
    if (options.boundary.size() == 1) boundary.assign(n, options.boundary[0]);
    else if (options.boundary.size() == n) boundary = options.boundary;
    else if (!options.boundary.empty())
        throw ValueError("boundary has {} entries but the array has {} dimensions", options.boundary.size(), ndim);

    std::vector<BlockSizes> target = x.chunks().axes();
    Tokenizer tok;
    for (std::size_t axis = 0; axis < n; ++axis) {
        if (d[axis] < 0) throw ValueError("depth {} along axis {} is negative", d[axis], axis);
        if (d[axis] > x.shape()[axis])
            throw ValueError("depth {} along axis {} is larger than the axis length {}", d[axis], axis, x.shape()[axis]);
        if (d[axis] > 0) target[axis] = detail::ensure_minimum(target[axis], d[axis]);
        tok.add(d[axis]).add(static_cast<std::int64_t>(boundary[axis].kind)).add(boundary[axis].value);
    }
    tok.add(std::int64_t{options.trim});
    Chunks chunks(target);
    const Array input = chunks == x.chunks() ? x : rechunk(x, chunks);

    std::vector<BlockSizes> out_sizes = chunks.axes();
    if (!options.trim) {
        for (std::size_t axis = 0; axis < n; ++axis) {
            const auto nb = static_cast<std::int64_t>(out_sizes[axis].size());
            for (std::int64_t b = 0; b < nb; ++b) {
                std::int64_t before = 0, after = 0;
                detail::OverlapNode::segments(chunks, static_cast<std::int64_t>(axis), b, d[axis], boundary[axis],
                                              before, after);
                out_sizes[axis][static_cast<std::size_t>(b)] += before + after;
            }
        }
    }
    const std::string params = detail::encode_value(options.params, "the params of map_overlap");
    const DType dtype = options.dtype.value_or(x.dtype());
    return Array(std::make_shared<detail::OverlapNode>(detail::custom_prefix(options.name, ref, "map_overlap"), dtype,
                                                       Chunks(std::move(out_sizes)), input.node(),
                                                       detail::custom_token(ref, params, tok), ref, std::move(d),
                                                       std::move(boundary), options.trim, params));
}

}  // namespace tessera
