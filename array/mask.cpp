// Boolean mask indexing (x[mask]) and compute_chunk_sizes. The masked axes are merged into one
// (reshape), then every output block is the selected rows of one block of x ("tessera.mask":
// x block + mask block), so the first output axis has one block per block of x along it, of
// unknown size (-1) until compute_chunk_sizes counts
// the mask's blocks ("tessera.mask_count") and rebuilds the node with known sizes.
#include <cstring>
#include <utility>

#include "array/shape_ops.hpp"
#include "tessera/config.hpp"
#include "tessera/indexing.hpp"

namespace tessera::detail {

namespace {

struct MaskParams {
    std::uint8_t dtype = 0;
    std::int64_t mask_ndim = 0;

    template <class Archive>
    void serialize(Archive& ar) {
        ar(dtype, mask_ndim);
    }
};

Value mask_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<MaskParams>(ctx.task.params, "mask");
    if (p.dtype >= kNumDTypes || ctx.inputs.size() != 2)
        throw ProtocolError("mask: bad parameters (dtype {}, {} inputs)", p.dtype, ctx.inputs.size());
    const DType dtype(static_cast<DTypeId>(p.dtype));
    const NDArray x = ctx.inputs[0]->array().contiguous();
    const NDArray m = ctx.inputs[1]->array().contiguous();
    bool ok = x.dtype() == dtype && m.dtype() == bool_ && m.ndim() == p.mask_ndim && x.ndim() >= m.ndim();
    for (std::int64_t a = 0; ok && a < m.ndim(); ++a) ok = x.shape(a) == m.shape(a);
    if (!ok)
        throw ProtocolError("mask: a {} block of shape {} with a {} mask of shape {}", x.dtype(), shape_str(x.shape()),
                            m.dtype(), shape_str(m.shape()));
    const bool* sel = m.data<bool>();
    std::int64_t count = 0;
    for (std::int64_t k = 0; k < m.size(); ++k) count += sel[k] ? 1 : 0;
    Shape shape{count};
    shape.insert(shape.end(), x.shape().begin() + m.ndim(), x.shape().end());
    NDArray out = NDArray::empty(dtype, shape);
    const std::int64_t inner = shape_size(std::span(x.shape()).subspan(static_cast<std::size_t>(m.ndim()))) * x.itemsize();
    const auto* src = static_cast<const std::byte*>(x.raw_data());
    auto* dst = static_cast<std::byte*>(out.raw_data());
    if (inner > 0)
        for (std::int64_t k = 0; k < m.size(); ++k)
            if (sel[k]) {
                std::memcpy(dst, src + k * inner, static_cast<std::size_t>(inner));
                dst += inner;
            }
    return Value(std::move(out));
}

Value mask_count_op(const TaskContext& ctx) {
    if (ctx.inputs.size() != 1 || ctx.inputs[0]->array().dtype() != bool_)
        throw ProtocolError("mask_count: expected one bool block");
    const NDArray m = ctx.inputs[0]->array().contiguous();
    const bool* sel = m.data<bool>();
    std::int64_t count = 0;
    for (std::int64_t k = 0; k < m.size(); ++k) count += sel[k] ? 1 : 0;
    return Value(NDArray::scalar(Scalar(count, int64)));
}

OpId mask_op_id() {
    static const OpId id = register_op("tessera.mask", &mask_op);
    return id;
}
OpId mask_count_op_id() {
    static const OpId id = register_op("tessera.mask_count", &mask_count_op);
    return id;
}
[[maybe_unused]] const OpId mask_registered = mask_op_id();
[[maybe_unused]] const OpId mask_count_registered = mask_count_op_id();

// The chunks of x[mask]: one block per mask block along the first axis (sizes -1 or `counts`).
Chunks mask_chunks(const Chunks& x, std::int64_t mask_ndim, const std::vector<std::int64_t>* counts) {
    std::int64_t nlead = 1;
    for (std::int64_t a = 0; a < mask_ndim; ++a) nlead *= static_cast<std::int64_t>(x.sizes(a).size());
    std::vector<BlockSizes> sizes;
    sizes.push_back(counts ? *counts : BlockSizes(static_cast<std::size_t>(nlead), -1));
    for (std::int64_t a = mask_ndim; a < x.ndim(); ++a) sizes.push_back(x.sizes(a));
    return Chunks(std::move(sizes));
}

std::uint64_t mask_token() { return Tokenizer().add(std::string_view("mask")).digest(); }

}  // namespace

class MaskNode final : public ArrayNode {
public:
    MaskNode(NodePtr x, NodePtr mask, const std::vector<std::int64_t>* counts, std::uint64_t token)
        : ArrayNode("getitem-mask", x->dtype(), mask_chunks(x->chunks(), mask->ndim(), counts), {x, mask}, token) {}

    const NodePtr& x() const { return inputs()[0]; }
    const NodePtr& mask() const { return inputs()[1]; }

protected:
    void lower_tasks(LowerContext& ctx) const override {
        const ArrayNode& xn = *x();
        const ArrayNode& mn = *mask();
        xn.lower(ctx);
        mn.lower(ctx);
        MaskParams p;
        p.dtype = static_cast<std::uint8_t>(dtype().id());
        p.mask_ndim = mn.ndim();
        const std::string params = encode_shape_params(p);
        const Shape grid = mn.chunks().numblocks();
        const auto k = grid.size();
        Shape in_block(static_cast<std::size_t>(xn.ndim())), lead(k);
        for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> block) {
            std::int64_t rest = block[0];
            for (std::size_t a = k; a-- > 0;) {
                lead[a] = rest % grid[a];
                rest /= grid[a];
            }
            std::copy(lead.begin(), lead.end(), in_block.begin());
            std::copy(block.begin() + 1, block.end(), in_block.begin() + static_cast<std::ptrdiff_t>(k));
            Task task;
            task.key = block_key(block);
            task.op = mask_op_id();
            task.deps = {xn.block_key(in_block), mn.block_key(lead)};
            task.params = params;
            ctx.graph.add(std::move(task));
        });
    }
};

}  // namespace tessera::detail

namespace tessera {

Array getitem_mask(const Array& x, const Array& mask) {
    if (!mask.dtype().is_bool()) throw IndexError("arrays used as indices must be of integer (or boolean) type");
    if (mask.ndim() == 0) throw NotImplemented("getitem_mask: a 0-d mask is not supported");
    if (mask.ndim() > x.ndim())
        throw IndexError("too many indices for array: array is {}-dimensional, but {} were indexed", x.ndim(),
                         mask.ndim());
    for (std::int64_t a = 0; a < mask.ndim(); ++a)
        if (mask.shape(a) != x.shape(a))
            throw IndexError(
                "boolean index did not match indexed array along dimension {}; dimension is {} but corresponding "
                "boolean dimension is {}",
                a, x.shape(a), mask.shape(a));
    if (x.chunks().has_unknown() || mask.chunks().has_unknown())
        throw NotImplemented("getitem_mask: arrays with unknown chunk sizes are not supported");
    // NumPy's order is C order over the masked axes: like Dask, merge them into one axis first
    // (a blockwise reshape when their chunks allow it), so the blocks of the result follow it.
    Array flat_x = x, m = mask;
    if (mask.ndim() > 1) {
        const std::int64_t n = shape_size(mask.shape());
        Shape shape{n};
        shape.insert(shape.end(), x.shape().begin() + mask.ndim(), x.shape().end());
        flat_x = reshape(x, shape);
        m = reshape(mask, {n});
    }
    const Chunks lead_chunks({flat_x.chunks().sizes(0)});
    if (m.chunks() != lead_chunks) m = rechunk(m, ChunkSpec(lead_chunks));
    return Array(std::make_shared<detail::MaskNode>(flat_x.node(), m.node(), nullptr, detail::mask_token()));
}

Array compute_chunk_sizes(const Array& x, const ComputeOptions& options) {
    if (!x.chunks().has_unknown()) return x;
    const auto* node = dynamic_cast<const detail::MaskNode*>(x.node().get());
    if (node == nullptr || node->x()->chunks().has_unknown())
        throw NotImplemented("compute_chunk_sizes: unknown chunk sizes of '{}' arrays are not supported", x.node()->op());
    std::vector<std::int64_t> counts;
    {
        Graph graph;
        const detail::NodePtr& mask = node->mask();
        std::vector<Key> mask_keys = detail::lower_arrays(std::span(&mask, 1), graph, config::get().optimize);
        const std::string name = "mask-count-" + x.name().substr(x.name().rfind('-') + 1);
        std::vector<Key> keys;
        for (std::size_t b = 0; b < mask_keys.size(); ++b) {
            Task task;
            task.key = Key(name, {static_cast<std::int64_t>(b)});
            task.op = detail::mask_count_op_id();
            task.deps = {mask_keys[b]};
            keys.push_back(task.key);
            graph.add(std::move(task));
        }
        for (const Value& v : compute_graph(graph, keys, options)) counts.push_back(v.array().item<std::int64_t>());
    }
    return Array(std::make_shared<detail::MaskNode>(node->x(), node->mask(), &counts, detail::mask_token()));
}

}  // namespace tessera
