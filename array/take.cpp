// take: integer-array indexing along one axis. The output axis is split into groups of
// consecutive indices; each output block gathers its indices from the input blocks of its group
// ("tessera.take", one memcpy per (outer position, index) of the contiguous inner extent).
#include <algorithm>
#include <cstring>
#include <utility>

#include "array/shape_ops.hpp"
#include "tessera/config.hpp"
#include "tessera/indexing.hpp"

namespace tessera::detail {

namespace {

struct TakeParams {
    std::uint8_t dtype = 0;
    std::int64_t axis = 0;
    Shape out_shape;
    // Per output position along the axis: which input (dependency) and the index inside it.
    std::vector<std::int64_t> dep, local;

    template <class Archive>
    void serialize(Archive& ar) {
        ar(dtype, axis, out_shape, dep, local);
    }
};

Value take_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<TakeParams>(ctx.task.params, "take");
    const auto rank = static_cast<std::int64_t>(p.out_shape.size());
    if (p.dtype >= kNumDTypes || p.axis < 0 || p.axis >= rank || p.dep.size() != p.local.size() ||
        static_cast<std::int64_t>(p.dep.size()) != p.out_shape[static_cast<std::size_t>(p.axis)])
        throw ProtocolError("take: bad parameters (dtype {}, axis {}, shape {})", p.dtype, p.axis,
                            shape_str(p.out_shape));
    const DType dtype(static_cast<DTypeId>(p.dtype));
    NDArray out = NDArray::empty(dtype, p.out_shape);
    if (out.size() == 0) return Value(std::move(out));
    std::vector<NDArray> blocks;
    for (const Value* v : ctx.inputs) {
        NDArray b = v->array().contiguous();
        bool ok = b.dtype() == dtype && b.ndim() == rank;
        for (std::int64_t a = 0; ok && a < rank; ++a)
            ok = a == p.axis || b.shape(a) == p.out_shape[static_cast<std::size_t>(a)];
        if (!ok)
            throw ProtocolError("take: an input block {} {} for an output block {} {}", b.dtype(),
                                shape_str(b.shape()), dtype, shape_str(p.out_shape));
        blocks.push_back(std::move(b));
    }
    const auto ax = static_cast<std::size_t>(p.axis);
    std::int64_t outer = 1, inner = dtype.itemsize();
    for (std::size_t a = 0; a < ax; ++a) outer *= p.out_shape[a];
    for (std::size_t a = ax + 1; a < p.out_shape.size(); ++a) inner *= p.out_shape[a];
    const std::int64_t len = p.out_shape[ax];
    for (std::size_t k = 0; k < p.dep.size(); ++k) {
        const auto d = p.dep[k];
        if (d < 0 || d >= static_cast<std::int64_t>(blocks.size()) || p.local[k] < 0 ||
            p.local[k] >= blocks[static_cast<std::size_t>(d)].shape(p.axis))
            throw ProtocolError("take: index {} of input {} is outside the {} inputs", p.local[k], d, blocks.size());
    }
    auto* dst = static_cast<std::byte*>(out.raw_data());
    for (std::int64_t o = 0; o < outer; ++o) {
        for (std::int64_t k = 0; k < len; ++k) {
            const NDArray& b = blocks[static_cast<std::size_t>(p.dep[static_cast<std::size_t>(k)])];
            const auto* src = static_cast<const std::byte*>(b.raw_data()) +
                              (o * b.shape(p.axis) + p.local[static_cast<std::size_t>(k)]) * inner;
            std::memcpy(dst + (o * len + k) * inner, src, static_cast<std::size_t>(inner));
        }
    }
    return Value(std::move(out));
}

OpId take_op_id() {
    static const OpId id = register_op("tessera.take", &take_op);
    return id;
}

[[maybe_unused]] const OpId take_registered = take_op_id();

// One output block along the axis: indices [begin, end) and the input blocks they come from.
struct TakeGroup {
    std::int64_t begin = 0, end = 0;
    std::vector<std::int64_t> sources;  // sorted, unique
};

class TakeNode final : public ArrayNode {
public:
    TakeNode(NodePtr input, Chunks chunks, std::int64_t axis, std::vector<TakeGroup> groups,
             std::vector<std::int64_t> block_of, std::vector<std::int64_t> local, std::uint64_t token)
        : ArrayNode("take", input->dtype(), std::move(chunks), {input}, token),
          axis_(axis),
          groups_(std::move(groups)),
          block_of_(std::move(block_of)),
          local_(std::move(local)) {}

protected:
    void lower_tasks(LowerContext& ctx) const override {
        const ArrayNode& in = *inputs()[0];
        in.lower(ctx);
        const OpId op = take_op_id();
        const auto ax = static_cast<std::size_t>(axis_);
        TakeParams p;
        p.dtype = static_cast<std::uint8_t>(dtype().id());
        p.axis = axis_;
        Shape in_block;
        for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> block) {
            const TakeGroup& g = groups_[static_cast<std::size_t>(block[ax])];
            p.out_shape = chunks().block_shape(block);
            p.dep.clear();
            p.local.clear();
            Task task;
            task.key = block_key(block);
            task.op = op;
            task.nbytes_hint = shape_size(p.out_shape) * dtype().itemsize();
            if (shape_size(p.out_shape) != 0) {
                in_block.assign(block.begin(), block.end());
                for (std::int64_t src : g.sources) {
                    in_block[ax] = src;
                    task.deps.push_back(in.block_key(in_block));
                }
                for (std::int64_t k = g.begin; k < g.end; ++k) {
                    const auto src = block_of_[static_cast<std::size_t>(k)];
                    p.dep.push_back(std::lower_bound(g.sources.begin(), g.sources.end(), src) - g.sources.begin());
                    p.local.push_back(local_[static_cast<std::size_t>(k)]);
                }
            } else {
                p.dep.assign(static_cast<std::size_t>(g.end - g.begin), 0);
                p.local.assign(p.dep.size(), 0);
            }
            task.params = encode_shape_params(p);
            ctx.graph.add(std::move(task));
        });
    }

private:
    std::int64_t axis_;
    std::vector<TakeGroup> groups_;
    std::vector<std::int64_t> block_of_, local_;
};

void close_group(std::vector<TakeGroup>& groups, TakeGroup& g, std::int64_t end,
                 const std::vector<std::int64_t>& block_of) {
    g.end = end;
    g.sources.assign(block_of.begin() + g.begin, block_of.begin() + end);
    std::sort(g.sources.begin(), g.sources.end());
    g.sources.erase(std::unique(g.sources.begin(), g.sources.end()), g.sources.end());
    groups.push_back(std::move(g));
    g = TakeGroup{};
    g.begin = end;
}

}  // namespace

std::vector<std::int64_t> index_values(const NDArray& indices) {
    if (!indices.dtype().is_integer())
        throw IndexError("arrays used as indices must be of integer (or boolean) type");
    const NDArray c = indices.astype(int64);
    const auto* data = c.data<std::int64_t>();
    if (indices.dtype() == uint64) {
        for (std::int64_t k = 0; k < c.size(); ++k)
            if (data[k] < 0)  // above INT64_MAX: out of bounds for any axis
                throw IndexError("index {} is out of bounds", static_cast<std::uint64_t>(data[k]));
    }
    return std::vector<std::int64_t>(data, data + c.size());
}

void normalize_indices(std::vector<std::int64_t>& indices, std::int64_t axis, std::int64_t n) {
    for (auto& i : indices) {
        if (i < -n || i >= n) throw IndexError("index {} is out of bounds for axis {} with size {}", i, axis, n);
        if (i < 0) i += n;
    }
}

Array take_normalized(const Array& x, const std::vector<std::int64_t>& indices, std::int64_t axis) {
    const BlockSizes& sizes = x.chunks().sizes(axis);
    const auto bounds = block_offsets(sizes);
    const auto count = static_cast<std::int64_t>(indices.size());
    std::vector<std::int64_t> block_of(indices.size()), local(indices.size());
    for (std::size_t k = 0; k < indices.size(); ++k) {
        const auto b = std::upper_bound(bounds.begin(), bounds.end(), indices[k]) - bounds.begin() - 1;
        block_of[k] = b;
        local[k] = indices[k] - bounds[static_cast<std::size_t>(b)];
    }
    // Largest output block along the axis that keeps blocks below the configured chunk size.
    std::int64_t other = x.dtype().itemsize();
    for (std::int64_t a = 0; a < x.ndim(); ++a)
        if (a != axis) {
            const auto& s = x.chunks().sizes(a);
            other *= std::max<std::int64_t>(*std::max_element(s.begin(), s.end()), 1);
        }
    const std::int64_t max_len = std::max<std::int64_t>(config::get().chunk_size_bytes / other, 1);

    // Dask's slicing_plan: runs of consecutive indices in one input block, split at max_len.
    std::vector<TakeGroup> groups;
    TakeGroup g;
    for (std::int64_t k = 1; k <= count; ++k) {
        const auto uk = static_cast<std::size_t>(k);
        if (k == count || block_of[uk] != block_of[uk - 1] || k - g.begin >= max_len)
            close_group(groups, g, k, block_of);
    }
    const auto nblocks = static_cast<std::int64_t>(sizes.size());
    if (static_cast<std::int64_t>(groups.size()) > 10 * nblocks) {
        // Scattered indices: blocks as long as the input's, each gathering from several blocks.
        const std::int64_t len =
            std::min(std::max<std::int64_t>(*std::max_element(sizes.begin(), sizes.end()), 1), max_len);
        groups.clear();
        g = TakeGroup{};
        for (std::int64_t k = 1; k <= count; ++k)
            if (k == count || k - g.begin >= len) close_group(groups, g, k, block_of);
    }
    if (groups.empty()) groups.push_back(TakeGroup{});  // no indices: one empty block

    std::vector<BlockSizes> out(x.chunks().axes());
    out[static_cast<std::size_t>(axis)].clear();
    for (const auto& grp : groups) out[static_cast<std::size_t>(axis)].push_back(grp.end - grp.begin);
    Tokenizer tok;
    tok.add(axis).add(std::span<const std::int64_t>(indices)).add(static_cast<std::int64_t>(groups.size()));
    return Array(std::make_shared<TakeNode>(x.node(), Chunks(std::move(out)), axis, std::move(groups),
                                            std::move(block_of), std::move(local), tok.digest()));
}

}  // namespace tessera::detail

namespace tessera {

Array take(const Array& x, const NDArray& indices, std::int64_t axis) {
    if (x.ndim() == 0) throw AxisError("axis {} is out of bounds for array of dimension 0", axis);
    axis = normalize_axis(axis, x.ndim());
    if (indices.dtype().is_bool()) throw IndexError("take: boolean indices are not supported (use getitem_mask)");
    std::vector<std::int64_t> values = detail::index_values(indices);
    if (x.chunks().has_unknown())
        throw NotImplemented("take: arrays with unknown chunk sizes ({}) are not supported", x.chunks().str());
    detail::normalize_indices(values, axis, x.shape(axis));
    Array out = detail::take_normalized(x, values, axis);
    if (indices.ndim() == 1) return out;
    Shape shape(x.shape().begin(), x.shape().begin() + axis);
    shape.insert(shape.end(), indices.shape().begin(), indices.shape().end());
    shape.insert(shape.end(), x.shape().begin() + axis + 1, x.shape().end());
    return reshape(out, shape);
}

Array take(const Array& x, const std::vector<std::int64_t>& indices, std::int64_t axis) {
    return take(x, NDArray::from_vector(indices), axis);
}

}  // namespace tessera
