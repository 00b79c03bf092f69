// transpose / swapaxes / moveaxis: the chunks are permuted with the axes and block b of the
// result is block perm⁻¹(b) of the input, transposed and copied contiguous
// ("tessera.transpose").
#include <algorithm>
#include <numeric>
#include <utility>

#include "array/shape_ops.hpp"
#include "tessera/array_shape.hpp"

namespace tessera::detail {

namespace {

struct TransposeParams {
    std::vector<std::int64_t> axes;

    template <class Archive>
    void serialize(Archive& ar) {
        ar(axes);
    }
};

Value transpose_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<TransposeParams>(ctx.task.params, "transpose");
    if (ctx.inputs.size() != 1) throw ProtocolError("transpose: {} inputs instead of 1", ctx.inputs.size());
    const NDArray& block = ctx.inputs[0]->array();
    if (static_cast<std::int64_t>(p.axes.size()) != block.ndim())
        throw ProtocolError("transpose: axes {} for a block of shape {}", shape_str(p.axes), shape_str(block.shape()));
    return Value(block.transpose(p.axes).contiguous());
}

OpId transpose_op_id() {
    static const OpId id = register_op("tessera.transpose", &transpose_op);
    return id;
}

[[maybe_unused]] const OpId transpose_registered = transpose_op_id();

class TransposeNode final : public ArrayNode {
public:
    TransposeNode(NodePtr input, Chunks chunks, std::vector<std::int64_t> axes, std::uint64_t token)
        : ArrayNode("transpose", input->dtype(), std::move(chunks), {input}, token), axes_(std::move(axes)) {}

    const std::vector<std::int64_t>& axes() const { return axes_; }

protected:
    void lower_tasks(LowerContext& ctx) const override {
        const ArrayNode& in = *inputs()[0];
        in.lower(ctx);
        const std::string params = encode_shape_params(TransposeParams{axes_});
        const OpId op = transpose_op_id();
        Shape in_block(axes_.size());
        for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> block) {
            for (std::size_t k = 0; k < axes_.size(); ++k) in_block[static_cast<std::size_t>(axes_[k])] = block[k];
            Task task;
            task.key = block_key(block);
            task.op = op;
            task.params = params;
            task.deps = {in.block_key(in_block)};
            task.nbytes_hint = shape_size(chunks().block_shape(block)) * dtype().itemsize();
            ctx.graph.add(std::move(task));
        });
    }

private:
    std::vector<std::int64_t> axes_;
};

}  // namespace

const ArrayNode* transpose_input(const ArrayNode& node, const std::vector<std::int64_t>** axes) {
    const auto* t = dynamic_cast<const TransposeNode*>(&node);
    if (t == nullptr) return nullptr;
    *axes = &t->axes();
    return t->inputs()[0].get();
}

}  // namespace tessera::detail

namespace tessera {

Array transpose(const Array& x, const std::vector<std::int64_t>& axes) {
    const std::int64_t n = x.ndim();
    std::vector<std::int64_t> perm = normalize_permutation(axes, n);
    bool identity = true;
    for (std::int64_t axis = 0; axis < n; ++axis) identity = identity && perm[static_cast<std::size_t>(axis)] == axis;
    if (identity) return x;
    std::vector<BlockSizes> sizes;
    for (auto axis : perm) sizes.push_back(x.chunks().sizes(axis));
    Tokenizer tok;
    tok.add(std::span<const std::int64_t>(perm));
    return Array(std::make_shared<detail::TransposeNode>(x.node(), Chunks(std::move(sizes)), std::move(perm),
                                                         tok.digest()));
}

Array swapaxes(const Array& x, std::int64_t axis1, std::int64_t axis2) {
    const std::int64_t a = normalize_axis(axis1, x.ndim()), b = normalize_axis(axis2, x.ndim());
    std::vector<std::int64_t> perm(static_cast<std::size_t>(x.ndim()));
    std::iota(perm.begin(), perm.end(), std::int64_t{0});
    std::swap(perm[static_cast<std::size_t>(a)], perm[static_cast<std::size_t>(b)]);
    return transpose(x, perm);
}

Array moveaxis(const Array& x, const Axes& source, const Axes& destination) {
    if (source.all() || destination.all() || source.list().size() != destination.list().size())
        throw ValueError("`source` and `destination` arguments must have the same number of elements");
    const std::int64_t n = x.ndim();
    // normalize_axes sorts; keep the given order but let it check range and repeats.
    auto normalized = [&](const std::vector<std::int64_t>& axes) {
        normalize_axes(axes, n);
        std::vector<std::int64_t> out;
        for (auto axis : axes) out.push_back(normalize_axis(axis, n));
        return out;
    };
    const auto src = normalized(source.list()), dst = normalized(destination.list());
    std::vector<std::int64_t> order;
    for (std::int64_t axis = 0; axis < n; ++axis)
        if (std::find(src.begin(), src.end(), axis) == src.end()) order.push_back(axis);
    std::vector<std::pair<std::int64_t, std::int64_t>> moves;
    for (std::size_t k = 0; k < src.size(); ++k) moves.emplace_back(dst[k], src[k]);
    std::sort(moves.begin(), moves.end());
    for (const auto& [to, from] : moves) order.insert(order.begin() + to, from);
    return transpose(x, order);
}

}  // namespace tessera
