// vindex: pointwise indexing. Points are grouped by the block they fall in; a
// "tessera.vindex_slice" task per touched block extracts that block's points (in point order),
// and a "tessera.vindex_merge" task per output block puts the points of its range in order.
// Untouched blocks are never read, and the graph has (touched blocks + output blocks) tasks.
#include <algorithm>
#include <cstring>
#include <numeric>
#include <utility>

#include "array/shape_ops.hpp"
#include "tessera/config.hpp"
#include "tessera/indexing.hpp"

namespace tessera::detail {

namespace {

struct VindexSliceParams {
    std::uint8_t dtype = 0;
    // Block-local coordinates, point after point (ndim entries each).
    std::vector<std::int64_t> coords;

    template <class Archive>
    void serialize(Archive& ar) {
        ar(dtype, coords);
    }
};

Value vindex_slice_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<VindexSliceParams>(ctx.task.params, "vindex_slice");
    if (p.dtype >= kNumDTypes || ctx.inputs.size() != 1)
        throw ProtocolError("vindex_slice: bad parameters (dtype {}, {} inputs)", p.dtype, ctx.inputs.size());
    const NDArray& b = ctx.inputs[0]->array();
    const DType dtype(static_cast<DTypeId>(p.dtype));
    const auto ndim = static_cast<std::size_t>(b.ndim());
    if (b.dtype() != dtype || ndim == 0 || p.coords.size() % ndim != 0)
        throw ProtocolError("vindex_slice: {} coordinates for a {} block of shape {}", p.coords.size(), b.dtype(),
                            shape_str(b.shape()));
    const auto npoints = static_cast<std::int64_t>(p.coords.size() / ndim);
    NDArray out = NDArray::empty(dtype, {npoints});
    const auto item = static_cast<std::size_t>(dtype.itemsize());
    const auto* src = static_cast<const std::byte*>(b.raw_data());
    auto* dst = static_cast<std::byte*>(out.raw_data());
    for (std::int64_t pt = 0; pt < npoints; ++pt) {
        std::int64_t offset = 0;
        for (std::size_t a = 0; a < ndim; ++a) {
            const std::int64_t c = p.coords[static_cast<std::size_t>(pt) * ndim + a];
            if (c < 0 || c >= b.shape()[a])
                throw ProtocolError("vindex_slice: coordinate {} outside a block of shape {}", c, shape_str(b.shape()));
            offset += c * b.strides()[a];
        }
        std::memcpy(dst + static_cast<std::size_t>(pt) * item, src + offset * static_cast<std::int64_t>(item), item);
    }
    return Value(std::move(out));
}

struct VindexMergeParams {
    std::uint8_t dtype = 0;
    // Per output point: its input (dependency) and position in it.
    std::vector<std::int64_t> dep, pos;

    template <class Archive>
    void serialize(Archive& ar) {
        ar(dtype, dep, pos);
    }
};

Value vindex_merge_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<VindexMergeParams>(ctx.task.params, "vindex_merge");
    if (p.dtype >= kNumDTypes || p.dep.size() != p.pos.size())
        throw ProtocolError("vindex_merge: bad parameters (dtype {})", p.dtype);
    const DType dtype(static_cast<DTypeId>(p.dtype));
    NDArray out = NDArray::empty(dtype, {static_cast<std::int64_t>(p.dep.size())});
    const auto item = static_cast<std::size_t>(dtype.itemsize());
    auto* dst = static_cast<std::byte*>(out.raw_data());
    for (std::size_t k = 0; k < p.dep.size(); ++k) {
        const auto d = static_cast<std::size_t>(p.dep[k]);
        if (d >= ctx.inputs.size()) throw ProtocolError("vindex_merge: input {} of {}", d, ctx.inputs.size());
        const NDArray& in = ctx.inputs[d]->array();
        if (in.dtype() != dtype || in.ndim() != 1 || !in.is_contiguous() || p.pos[k] < 0 || p.pos[k] >= in.size())
            throw ProtocolError("vindex_merge: position {} of a {} input of shape {}", p.pos[k], in.dtype(),
                                shape_str(in.shape()));
        std::memcpy(dst + k * item, static_cast<const std::byte*>(in.raw_data()) + p.pos[k] * static_cast<std::int64_t>(item), item);
    }
    return Value(std::move(out));
}

OpId vindex_slice_id() {
    static const OpId id = register_op("tessera.vindex_slice", &vindex_slice_op);
    return id;
}
OpId vindex_merge_id() {
    static const OpId id = register_op("tessera.vindex_merge", &vindex_merge_op);
    return id;
}
[[maybe_unused]] const OpId vindex_slice_registered = vindex_slice_id();
[[maybe_unused]] const OpId vindex_merge_registered = vindex_merge_id();

class VindexNode final : public ArrayNode {
public:
    // Per point: the flat (C order) index of its block, and its block-local coordinates.
    VindexNode(NodePtr input, Chunks chunks, std::vector<std::int64_t> point_block, std::vector<std::int64_t> coords,
               std::uint64_t token)
        : ArrayNode("vindex", input->dtype(), std::move(chunks), {input}, token),
          point_block_(std::move(point_block)),
          coords_(std::move(coords)) {}

protected:
    void lower_tasks(LowerContext& ctx) const override {
        const ArrayNode& in = *inputs()[0];
        in.lower(ctx);
        const auto ndim = static_cast<std::size_t>(in.ndim());
        const auto npoints = point_block_.size();
        // Points sorted by block (stable: point order within a block).
        std::vector<std::int64_t> order(npoints);
        std::iota(order.begin(), order.end(), std::int64_t{0});
        std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
            return point_block_[static_cast<std::size_t>(a)] < point_block_[static_cast<std::size_t>(b)];
        });
        // One slice task per touched block; remember each point's slice task and position.
        const std::string slice_name = "vindex-slice-" + name().substr(name().rfind('-') + 1);
        const Shape grid = in.chunks().numblocks();
        std::vector<Key> slice_keys;
        std::vector<std::int64_t> point_task(npoints), point_pos(npoints);
        VindexSliceParams sp;
        sp.dtype = static_cast<std::uint8_t>(dtype().id());
        Shape block(ndim);
        for (std::size_t start = 0; start < npoints;) {
            const std::int64_t flat = point_block_[static_cast<std::size_t>(order[start])];
            std::size_t stop = start;
            sp.coords.clear();
            while (stop < npoints && point_block_[static_cast<std::size_t>(order[stop])] == flat) {
                const auto pt = static_cast<std::size_t>(order[stop]);
                point_task[pt] = static_cast<std::int64_t>(slice_keys.size());
                point_pos[pt] = static_cast<std::int64_t>(stop - start);
                sp.coords.insert(sp.coords.end(), coords_.begin() + static_cast<std::ptrdiff_t>(pt * ndim),
                                 coords_.begin() + static_cast<std::ptrdiff_t>((pt + 1) * ndim));
                ++stop;
            }
            std::int64_t rest = flat;
            for (std::size_t a = ndim; a-- > 0;) {
                block[a] = rest % grid[a];
                rest /= grid[a];
            }
            Task task;
            task.key = Key(slice_name, block);
            task.op = vindex_slice_id();
            task.deps.push_back(in.block_key(block));
            task.nbytes_hint = static_cast<std::int64_t>(stop - start) * dtype().itemsize();
            task.params = encode_shape_params(sp);
            slice_keys.push_back(task.key);
            ctx.graph.add(std::move(task));
            start = stop;
        }
        // One merge task per output block.
        VindexMergeParams mp;
        mp.dtype = sp.dtype;
        std::int64_t begin = 0;
        std::vector<std::int64_t> dep_of(slice_keys.size(), -1);
        const auto& sizes = chunks().sizes(0);
        for (std::size_t b = 0; b < sizes.size(); ++b) {
            Task task;
            task.key = block_key(std::vector<std::int64_t>{static_cast<std::int64_t>(b)});
            task.op = vindex_merge_id();
            mp.dep.clear();
            mp.pos.clear();
            for (std::int64_t pt = begin; pt < begin + sizes[b]; ++pt) {
                const auto t = static_cast<std::size_t>(point_task[static_cast<std::size_t>(pt)]);
                if (dep_of[t] < 0) {
                    dep_of[t] = static_cast<std::int64_t>(task.deps.size());
                    task.deps.push_back(slice_keys[t]);
                }
                mp.dep.push_back(dep_of[t]);
                mp.pos.push_back(point_pos[static_cast<std::size_t>(pt)]);
            }
            for (std::int64_t pt = begin; pt < begin + sizes[b]; ++pt)  // reset for the next block
                dep_of[static_cast<std::size_t>(point_task[static_cast<std::size_t>(pt)])] = -1;
            task.nbytes_hint = sizes[b] * dtype().itemsize();
            task.params = encode_shape_params(mp);
            ctx.graph.add(std::move(task));
            begin += sizes[b];
        }
    }

private:
    std::vector<std::int64_t> point_block_, coords_;
};

}  // namespace

}  // namespace tessera::detail

namespace tessera {

Array vindex(const Array& x, const std::vector<NDArray>& indices) {
    const std::int64_t ndim = x.ndim();
    if (static_cast<std::int64_t>(indices.size()) != ndim || ndim == 0)
        throw IndexError("vindex: {} index arrays for an array of dimension {}", indices.size(), ndim);
    std::vector<Shape> shapes;
    for (const auto& idx : indices) {
        if (idx.dtype().is_bool()) throw NotImplemented("vindex: boolean indices are not supported");
        if (!idx.dtype().is_integer()) throw IndexError("arrays used as indices must be of integer (or boolean) type");
        shapes.push_back(idx.shape());
    }
    if (x.chunks().has_unknown())
        throw NotImplemented("vindex: arrays with unknown chunk sizes ({}) are not supported", x.chunks().str());
    const Shape shape = broadcast_shapes(std::span<const Shape>(shapes));
    const std::int64_t npoints = shape_size(shape);
    const Shape grid = x.numblocks();
    std::vector<std::int64_t> point_block(static_cast<std::size_t>(npoints), 0);
    std::vector<std::int64_t> coords(static_cast<std::size_t>(npoints * ndim));
    Tokenizer tok;
    for (std::int64_t axis = 0; axis < ndim; ++axis) {
        const auto ua = static_cast<std::size_t>(axis);
        // The index broadcast to `shape` (stride-0 view), then its values.
        const NDArray& idx = indices[ua];
        if (npoints == 0) continue;
        Shape strides(shape.size(), 0);
        const auto lead = shape.size() - static_cast<std::size_t>(idx.ndim());
        for (std::size_t a = 0; a < static_cast<std::size_t>(idx.ndim()); ++a)
            strides[lead + a] = idx.shape()[a] == 1 ? 0 : idx.strides()[a];
        const NDArray view(idx.dtype(), shape, strides, idx.offset(), idx.buffer());
        std::vector<std::int64_t> values = detail::index_values(view);
        detail::normalize_indices(values, axis, x.shape(axis));
        tok.add(std::span<const std::int64_t>(values));
        const auto bounds = detail::block_offsets(x.chunks().sizes(axis));
        for (std::size_t pt = 0; pt < values.size(); ++pt) {
            const auto b = std::upper_bound(bounds.begin(), bounds.end(), values[pt]) - bounds.begin() - 1;
            point_block[pt] = point_block[pt] * grid[ua] + b;
            coords[pt * static_cast<std::size_t>(ndim) + ua] = values[pt] - bounds[static_cast<std::size_t>(b)];
        }
    }
    // Output blocks of at most config().chunk_size_bytes.
    const std::int64_t per_block = std::max<std::int64_t>(config::get().chunk_size_bytes / x.dtype().itemsize(), 1);
    BlockSizes sizes;
    for (std::int64_t start = 0; start < npoints; start += per_block) sizes.push_back(std::min(per_block, npoints - start));
    if (sizes.empty()) sizes.push_back(0);
    tok.add(shape).add(per_block);
    Array flat(std::make_shared<detail::VindexNode>(x.node(), Chunks({sizes}), std::move(point_block), std::move(coords),
                                                    tok.digest()));
    if (shape.size() == 1) return flat;
    return reshape(flat, shape);
}

Array vindex(const Array& x, const std::vector<std::vector<std::int64_t>>& indices) {
    std::vector<NDArray> arrays;
    for (const auto& idx : indices) arrays.push_back(NDArray::from_vector(idx));
    return vindex(x, arrays);
}

}  // namespace tessera
