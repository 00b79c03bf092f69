// broadcast_to (a node whose blocks are broadcast views of one input block, copied), block
// (nested concatenate) and from_delayed (one block computed by a Delayed).
#include <utility>

#include "array/shape_ops.hpp"
#include "tessera/indexing.hpp"

namespace tessera::detail {

namespace {

struct BroadcastParams {
    std::uint8_t dtype = 0;
    Shape out_shape;

    template <class Archive>
    void serialize(Archive& ar) {
        ar(dtype, out_shape);
    }
};

Value broadcast_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<BroadcastParams>(ctx.task.params, "broadcast_to");
    if (p.dtype >= kNumDTypes || ctx.inputs.size() != 1)
        throw ProtocolError("broadcast_to: bad parameters (dtype {}, {} inputs)", p.dtype, ctx.inputs.size());
    const NDArray& in = ctx.inputs[0]->array();
    const auto rank = p.out_shape.size(), in_rank = static_cast<std::size_t>(in.ndim());
    if (in_rank > rank || in.dtype() != DType(static_cast<DTypeId>(p.dtype)))
        throw ProtocolError("broadcast_to: a {} block of shape {} to {}", in.dtype(), shape_str(in.shape()),
                            shape_str(p.out_shape));
    Shape strides(rank, 0);
    for (std::size_t a = 0; a < in_rank; ++a) {
        const std::size_t o = rank - in_rank + a;
        if (in.shape()[a] == p.out_shape[o])
            strides[o] = in.strides()[a];
        else if (in.shape()[a] != 1)
            throw ProtocolError("broadcast_to: a block of shape {} to {}", shape_str(in.shape()), shape_str(p.out_shape));
    }
    if (shape_size(p.out_shape) == 0) return Value(NDArray::empty(in.dtype(), p.out_shape));
    return Value(NDArray(in.dtype(), p.out_shape, std::move(strides), in.offset(), in.buffer()).copy());
}

OpId broadcast_op_id() {
    static const OpId id = register_op("tessera.broadcast_to", &broadcast_op);
    return id;
}
[[maybe_unused]] const OpId broadcast_registered = broadcast_op_id();

class BroadcastNode final : public ArrayNode {
public:
    BroadcastNode(NodePtr input, Chunks chunks)
        : ArrayNode("broadcast_to", input->dtype(), std::move(chunks), {input}, Tokenizer().digest()) {}

protected:
    void lower_tasks(LowerContext& ctx) const override {
        const ArrayNode& in = *inputs()[0];
        in.lower(ctx);
        const auto lead = static_cast<std::size_t>(ndim() - in.ndim());
        BroadcastParams p;
        p.dtype = static_cast<std::uint8_t>(dtype().id());
        Shape in_block(static_cast<std::size_t>(in.ndim()));
        for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> block) {
            for (std::size_t a = 0; a < in_block.size(); ++a)
                in_block[a] = in.chunks().sizes(static_cast<std::int64_t>(a)).size() == 1 ? 0 : block[lead + a];
            p.out_shape = chunks().block_shape(block);
            Task task;
            task.key = block_key(block);
            task.op = broadcast_op_id();
            task.deps = {in.block_key(in_block)};
            task.nbytes_hint = shape_size(p.out_shape) * dtype().itemsize();
            task.params = encode_shape_params(p);
            ctx.graph.add(std::move(task));
        });
    }
};

struct FromDelayedParams {
    std::uint8_t dtype = 0;
    Shape shape;

    template <class Archive>
    void serialize(Archive& ar) {
        ar(dtype, shape);
    }
};

Value from_delayed_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<FromDelayedParams>(ctx.task.params, "from_delayed");
    if (p.dtype >= kNumDTypes || ctx.inputs.size() != 1)
        throw ProtocolError("from_delayed: bad parameters (dtype {}, {} inputs)", p.dtype, ctx.inputs.size());
    const DType dtype(static_cast<DTypeId>(p.dtype));
    const Value& v = *ctx.inputs[0];
    if (!v.is_array())
        throw ValueError("from_delayed: the value is a {} but a {} array of shape {} was declared", v.describe(), dtype,
                         shape_str(p.shape));
    const NDArray& a = v.array();
    if (a.dtype() != dtype || a.shape() != p.shape)
        throw ValueError("from_delayed: the value is a {} array of shape {} but {} of shape {} was declared", a.dtype(),
                         shape_str(a.shape()), dtype, shape_str(p.shape));
    return v;
}

OpId from_delayed_op_id() {
    static const OpId id = register_op("tessera.from_delayed", &from_delayed_op);
    return id;
}
[[maybe_unused]] const OpId from_delayed_registered = from_delayed_op_id();

Chunks one_block(const Shape& shape) {
    std::vector<BlockSizes> sizes;
    for (auto n : shape) sizes.push_back({n});
    return Chunks(std::move(sizes));
}

class FromDelayedNode final : public ArrayNode {
public:
    FromDelayedNode(Delayed value, const Shape& shape, DType dtype)
        : ArrayNode("from-delayed", dtype, one_block(shape), {}, Tokenizer().add(value.key()).digest()),
          value_(std::move(value)) {}

protected:
    void lower_tasks(LowerContext& ctx) const override {
        std::vector<Key> keys;
        value_.add_to_graph(ctx.graph, keys);
        FromDelayedParams p;
        p.dtype = static_cast<std::uint8_t>(dtype().id());
        p.shape = shape();
        Task task;
        task.key = block_key(Shape(static_cast<std::size_t>(ndim()), 0));
        task.op = from_delayed_op_id();
        task.deps = {value_.key()};
        task.nbytes_hint = shape_size(shape()) * dtype().itemsize();
        task.params = encode_shape_params(p);
        ctx.graph.add(std::move(task));
    }

private:
    Delayed value_;
};

// np.block's depth check: the depth of every leaf (first one found sets it) and the largest rank.
void block_depths(const BlockNest& nest, std::string path, std::int64_t depth, std::int64_t& first_depth,
                  std::int64_t& max_ndim) {
    if (nest.is_leaf()) {
        if (first_depth < 0) first_depth = depth;
        if (depth != first_depth)
            throw ValueError(
                "List depths are mismatched. First element was at depth {}, but there is an element at depth {} ({})",
                first_depth, depth, path);
        max_ndim = std::max(max_ndim, nest.array().ndim());
        return;
    }
    if (nest.items().empty()) throw ValueError("Lists cannot be empty");
    for (std::size_t k = 0; k < nest.items().size(); ++k)
        block_depths(nest.items()[k], path + "[" + std::to_string(k) + "]", depth + 1, first_depth, max_ndim);
}

Array block_rec(const BlockNest& nest, std::int64_t level, std::int64_t depth, std::int64_t ndim) {
    if (nest.is_leaf()) {
        const Array& a = nest.array();
        if (a.ndim() == ndim) return a;
        Shape shape(static_cast<std::size_t>(ndim - a.ndim()), 1);
        shape.insert(shape.end(), a.shape().begin(), a.shape().end());
        return reshape(a, shape);
    }
    std::vector<Array> parts;
    for (const auto& item : nest.items()) parts.push_back(block_rec(item, level + 1, depth, ndim));
    return concatenate(parts, level - depth);
}

}  // namespace

}  // namespace tessera::detail

namespace tessera {

Array broadcast_to(const Array& x, const Shape& shape, const std::optional<ChunkSpec>& chunks) {
    for (auto n : shape)
        if (n < 0) throw ValueError("all elements of broadcast shape must be non-negative");
    const auto ndim = static_cast<std::int64_t>(shape.size());
    const std::int64_t lead = ndim - x.ndim();
    bool ok = lead >= 0;
    for (std::int64_t a = 0; ok && a < x.ndim(); ++a)
        ok = x.shape(a) == 1 || x.shape(a) == shape[static_cast<std::size_t>(lead + a)];
    if (!ok) throw ShapeError("cannot broadcast shape {} to shape {}", shape_str(x.shape()), shape_str(shape));
    if (x.chunks().has_unknown())
        throw NotImplemented("broadcast_to: arrays with unknown chunk sizes ({}) are not supported", x.chunks().str());
    if (shape == x.shape() && !chunks) return x;
    std::vector<BlockSizes> sizes;
    if (chunks) {
        const Chunks c = normalize_chunks(*chunks, shape, x.dtype());
        for (std::int64_t a = 0; a < x.ndim(); ++a) {
            const auto& want = c.sizes(lead + a);
            if (want != x.chunks().sizes(a) && x.chunks().sizes(a) != BlockSizes{1})
                throw ValueError(
                    "cannot broadcast chunks {} to chunks {}: new chunks must either be along a new dimension or a "
                    "dimension of size 1",
                    x.chunks().str(), c.str());
        }
        sizes = c.axes();
    } else {
        for (std::int64_t a = 0; a < ndim; ++a) {
            const auto n = shape[static_cast<std::size_t>(a)];
            sizes.push_back(a < lead || x.shape(a - lead) == 1 ? BlockSizes{n} : x.chunks().sizes(a - lead));
        }
    }
    return Array(std::make_shared<detail::BroadcastNode>(x.node(), Chunks(std::move(sizes))));
}

Array block(const BlockNest& arrays) {
    std::int64_t depth = -1, max_ndim = 0;
    detail::block_depths(arrays, "arrays", 0, depth, max_ndim);
    return detail::block_rec(arrays, 0, depth, std::max(depth, max_ndim));
}

Array from_delayed(const Delayed& value, const Shape& shape, DType dtype) {
    for (auto n : shape)
        if (n < 0) throw ValueError("negative dimensions are not allowed in shape {}", shape_str(shape));
    return Array(std::make_shared<detail::FromDelayedNode>(value, shape, dtype));
}

}  // namespace tessera
