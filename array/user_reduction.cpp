// reduction: Dask's user-defined tree reduction, with the same tree shape as the built-in
// reductions (array/reduction.cpp):
//   chunk      one task per input block → a partial keeping the reduced axes
//              ("<name>_chunk-<token>", block index);
//   combine    the partials of up to split_every consecutive blocks per reduced axis,
//              concatenated along those axes, merged into one partial, level by level
//              ("<name>_combine-<token>", {level, group index...});
//   aggregate  the remaining partials concatenated and turned into the output block
//              ("<name>-<token>", output block).
#include <algorithm>
#include <utility>

#include "array/custom_ops.hpp"
#include "array/tree_reduce.hpp"
#include "tessera/config.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {

namespace {

class UserReductionNode final : public ArrayNode {
public:
    UserReductionNode(std::string op, DType dtype, Chunks chunks, NodePtr input, std::uint64_t token,
                      KernelRef chunk, KernelRef combine, KernelRef aggregate, std::vector<std::int64_t> axes,
                      bool keepdims, std::int64_t split_every, std::string params)
        : ArrayNode(std::move(op), dtype, std::move(chunks), {std::move(input)}, token),
          chunk_(std::move(chunk)),
          combine_(std::move(combine)),
          aggregate_(std::move(aggregate)),
          axes_(std::move(axes)),
          keepdims_(keepdims),
          split_every_(split_every),
          params_(std::move(params)) {}

protected:
    void lower_tasks(LowerContext& ctx) const override;

private:
    KernelRef chunk_, combine_, aggregate_;
    std::vector<std::int64_t> axes_;
    bool keepdims_;
    std::int64_t split_every_;
    std::string params_;
};

void UserReductionNode::lower_tasks(LowerContext& ctx) const {
    const ArrayNode& in = *inputs()[0];
    in.lower(ctx);
    const std::string token = name().substr(op().size() + 1);
    const std::string chunk_name = op() + "_chunk-" + token;
    const std::string combine_name = op() + "_combine-" + token;
    const std::int64_t ndim = in.ndim();
    std::vector<bool> reduced(static_cast<std::size_t>(ndim), false);
    for (auto axis : axes_) reduced[static_cast<std::size_t>(axis)] = true;
    const Shape grid = in.chunks().numblocks();

    auto base_spec = [&](const char* what, bool keepdims) {
        CallSpec spec;
        spec.what = what;
        spec.params = params_;
        spec.info.dtype = dtype();
        spec.info.axis = axes_;
        spec.info.keepdims = keepdims;
        spec.check_dtype = false;
        spec.check_shape = false;
        return spec;
    };

    // (1) chunk tasks.
    for_each_block(grid, [&](std::span<const std::int64_t> block) {
        CallSpec spec = base_spec("reduction chunk", true);
        spec.kernel = chunk_.name;
        spec.info.output = block_location(in.chunks(), block);
        spec.info.inputs.push_back(spec.info.output);
        OperandSpec op;
        op.grid.assign(static_cast<std::size_t>(ndim), 1);
        op.parts.push_back(OperandPart{0, {}, {}, {}, {}});
        spec.operands.push_back(std::move(op));
        ctx.graph.add(make_custom_task(Key(chunk_name, Shape(block.begin(), block.end())), chunk_, spec,
                                       {in.block_key(block)}, 0));
    });

    // (2) combine levels and (3) one aggregate task per output block (array/tree_reduce.hpp);
    // a group of partials is one operand whose grid is the group's box.
    auto operand_of = [](const ReductionTree::Group& group) {
        OperandSpec op;
        op.grid = group.extent;
        for (std::size_t k = 0; k < group.keys.size(); ++k)
            op.parts.push_back(OperandPart{static_cast<std::int32_t>(k), {}, {}, {}, {}});
        return op;
    };
    const ReductionTree tree(grid, reduced, split_every_, chunk_name, combine_name);
    tree.for_each_combine([&](Key key, ReductionTree::Group group) {
        CallSpec spec = base_spec("reduction combine", true);
        spec.kernel = combine_.name;
        spec.operands.push_back(operand_of(group));
        ctx.graph.add(make_custom_task(std::move(key), combine_, spec, std::move(group.keys), 0));
    });
    tree.for_each_aggregate([&](std::span<const std::int64_t> idx, ReductionTree::Group group) {
        Shape out_index;
        for (std::int64_t axis = 0; axis < ndim; ++axis)
            if (!reduced[static_cast<std::size_t>(axis)] || keepdims_) out_index.push_back(idx[static_cast<std::size_t>(axis)]);
        CallSpec spec = base_spec("reduction", keepdims_);
        spec.kernel = aggregate_.name;
        spec.check_dtype = true;
        spec.check_shape = true;
        spec.info.output = block_location(chunks(), out_index);
        spec.info.chunk_shape = chunks().block_shape(out_index);
        if (!keepdims_) spec.squeeze = axes_;
        spec.operands.push_back(operand_of(group));
        ctx.graph.add(make_custom_task(Key(name(), out_index), aggregate_, spec, std::move(group.keys),
                                       shape_size(spec.info.chunk_shape) * dtype().itemsize()));
    });
}

}  // namespace

}  // namespace tessera::detail

namespace tessera {

Array reduction(const Array& x, const BlockKernel& chunk, const BlockKernel& aggregate,
                const std::optional<BlockKernel>& combine, const Axes& axis, const UserReductionOptions& options) {
    const detail::KernelRef chunk_ref = detail::resolve_kernel(chunk);
    const detail::KernelRef aggregate_ref = detail::resolve_kernel(aggregate);
    const detail::KernelRef combine_ref = combine ? detail::resolve_kernel(*combine) : aggregate_ref;
    const std::int64_t ndim = x.ndim();
    std::vector<std::int64_t> axes;
    if (axis.all()) {
        for (std::int64_t a = 0; a < ndim; ++a) axes.push_back(a);
    } else {
        axes = normalize_axes(axis.list(), ndim);
    }
    const std::int64_t split_every = options.split_every == 0 ? config::get().split_every : options.split_every;
    if (split_every < 2) throw ValueError("split_every must be at least 2, got {}", split_every);
    std::vector<BlockSizes> out_chunks;
    for (std::int64_t a = 0; a < ndim; ++a) {
        const bool is_reduced = std::binary_search(axes.begin(), axes.end(), a);
        if (!is_reduced) out_chunks.push_back(x.chunks().sizes(a));
        else if (options.keepdims) out_chunks.push_back({1});
    }
    const std::string params = detail::encode_value(options.params, "the params of reduction");
    Tokenizer tok;
    tok.add(std::string_view(chunk_ref.name))
        .add(std::string_view(combine_ref.name))
        .add(std::span<const std::int64_t>(axes))
        .add(std::int64_t{options.keepdims})
        .add(split_every);
    if (combine_ref.local && combine_ref.local != aggregate_ref.local) tok.add(std::string_view(unique_token()));
    if (chunk_ref.local) tok.add(std::string_view(unique_token()));
    const DType dtype = options.dtype.value_or(x.dtype());
    return Array(std::make_shared<detail::UserReductionNode>(
        detail::custom_prefix(options.name, aggregate_ref, "reduction"), dtype, Chunks(std::move(out_chunks)),
        x.node(), detail::custom_token(aggregate_ref, params, tok), chunk_ref, combine_ref, aggregate_ref,
        std::move(axes), options.keepdims, split_every, params));
}

}  // namespace tessera
