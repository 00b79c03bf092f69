// TreeReduceNode and BlockMapNode (see array/tree_reduce.hpp).
#include "array/tree_reduce.hpp"

#include <algorithm>
#include <utility>

#include "tessera/error.hpp"

namespace tessera::detail {


Chunks reduced_chunks(const Chunks& chunks, std::span<const std::int64_t> axes, bool keepdims) {
    std::vector<BlockSizes> out;
    for (std::int64_t axis = 0; axis < chunks.ndim(); ++axis) {
        const bool reduced = std::find(axes.begin(), axes.end(), axis) != axes.end();
        if (!reduced) out.push_back(chunks.sizes(axis));
        else if (keepdims) out.push_back({1});
    }
    return Chunks(std::move(out));
}

TreeReduceNode::TreeReduceNode(std::string op, DType dtype, NodePtr input, std::vector<std::int64_t> axes,
                               bool keepdims, std::int64_t split_every, std::uint64_t token)
    : ArrayNode(std::move(op), dtype, reduced_chunks(input->chunks(), axes, keepdims), {input}, token),
      axes_(std::move(axes)),
      keepdims_(keepdims),
      split_every_(split_every) {}

void TreeReduceNode::lower_tasks(LowerContext& ctx) const {
    const ArrayNode& in = *inputs()[0];
    in.lower(ctx);
    const TreeOps o = ops();
    const std::string token = name().substr(op().size() + 1);
    const std::string chunk_name = op() + "_chunk-" + token;
    const std::int64_t ndim = in.ndim();
    std::vector<bool> reduced(static_cast<std::size_t>(ndim), false);
    for (auto axis : axes_) reduced[static_cast<std::size_t>(axis)] = true;
    const Chunks& in_chunks = in.chunks();
    const Shape grid = in_chunks.numblocks();

    auto bytes_of = [&](std::span<const std::int64_t> block) {
        std::int64_t n = 1;
        for (std::int64_t axis = 0; axis < ndim; ++axis)
            if (!reduced[static_cast<std::size_t>(axis)])
                n *= in_chunks.sizes(axis)[static_cast<std::size_t>(block[static_cast<std::size_t>(axis)])];
        return partial_bytes(n);
    };

    for_each_block(grid, [&](std::span<const std::int64_t> block) {
        Task task;
        task.key = Key(chunk_name, std::vector<std::int64_t>(block.begin(), block.end()));
        task.op = o.chunk;
        task.params = chunk_params(block);
        task.deps = {in.block_key(block)};
        task.nbytes_hint = bytes_of(block);
        ctx.graph.add(std::move(task));
    });

    const ReductionTree tree(grid, reduced, split_every_, chunk_name, op() + "_combine-" + token);
    const std::string combine_bytes = combine_params();
    tree.add_combine_tasks(ctx.graph, o.combine, combine_bytes, bytes_of);
    tree.for_each_aggregate([&](std::span<const std::int64_t> idx, ReductionTree::Group group) {
        std::vector<std::int64_t> out_index;
        for (std::size_t a = 0; a < static_cast<std::size_t>(ndim); ++a)
            if (!reduced[a] || keepdims_) out_index.push_back(idx[a]);
        Task task;
        task.key = Key(name(), std::move(out_index));
        task.op = o.aggregate;
        task.params = aggregate_params(idx);
        task.deps = std::move(group.keys);
        task.nbytes_hint = bytes_of(idx);
        ctx.graph.add(std::move(task));
    });
}

ReductionTree::ReductionTree(Shape grid, std::vector<bool> reduced, std::int64_t split_every,
                             std::string chunk_name, std::string combine_name)
    : grid_(std::move(grid)),
      reduced_(std::move(reduced)),
      split_every_(split_every),
      chunk_name_(std::move(chunk_name)),
      combine_name_(std::move(combine_name)) {
    levels_.push_back(grid_);
    while (true) {
        const Shape& cur = levels_.back();
        bool deep = false;
        for (std::size_t a = 0; a < cur.size(); ++a) deep = deep || (reduced_[a] && cur[a] > split_every_);
        if (!deep) break;
        Shape next = cur;
        for (std::size_t a = 0; a < cur.size(); ++a)
            if (reduced_[a]) next[a] = (cur[a] + split_every_ - 1) / split_every_;
        levels_.push_back(std::move(next));
    }
}

Key ReductionTree::key_at(std::int64_t level, std::span<const std::int64_t> idx) const {
    if (level == 0) return Key(chunk_name_, std::vector<std::int64_t>(idx.begin(), idx.end()));
    std::vector<std::int64_t> index{level - 1};  // combine keys count their levels from 0
    index.insert(index.end(), idx.begin(), idx.end());
    return Key(combine_name_, std::move(index));
}

ReductionTree::Group ReductionTree::group(std::int64_t level, const Shape& cur, std::span<const std::int64_t> idx,
                                          std::int64_t fan_in) const {
    Group g;
    g.lo.resize(cur.size());
    g.extent.resize(cur.size());
    for (std::size_t a = 0; a < cur.size(); ++a) {
        g.lo[a] = reduced_[a] ? idx[a] * fan_in : idx[a];
        g.extent[a] = reduced_[a] ? std::min(g.lo[a] + fan_in, cur[a]) - g.lo[a] : 1;
    }
    Shape at(cur.size());
    for_each_block(g.extent, [&](std::span<const std::int64_t> offset) {
        for (std::size_t a = 0; a < at.size(); ++a) at[a] = g.lo[a] + offset[a];
        g.keys.push_back(key_at(level, at));
    });
    return g;
}

void ReductionTree::add_combine_tasks(Graph& graph, OpId op, const std::string& params,
                                      const std::function<std::int64_t(const Shape&)>& bytes) const {
    for_each_combine([&](Key key, Group group) {
        Task task;
        task.key = std::move(key);
        task.op = op;
        task.params = params;
        task.deps = std::move(group.keys);
        task.nbytes_hint = bytes(group.lo);
        graph.add(std::move(task));
    });
}

void ReductionTree::for_each_combine(const std::function<void(Key, Group)>& f) const {
    for (std::size_t level = 1; level < levels_.size(); ++level) {
        const Shape& below = levels_[level - 1];
        for_each_block(levels_[level], [&](std::span<const std::int64_t> idx) {
            f(key_at(static_cast<std::int64_t>(level), idx),
              group(static_cast<std::int64_t>(level - 1), below, idx, split_every_));
        });
    }
}

void ReductionTree::for_each_aggregate(const std::function<void(std::span<const std::int64_t>, Group)>& f) const {
    const Shape& last = levels_.back();
    Shape out_grid = grid_;
    std::int64_t everything = 1;  // one group covering every remaining partial
    for (std::size_t a = 0; a < out_grid.size(); ++a) {
        if (reduced_[a]) out_grid[a] = 1;
        everything = std::max(everything, last[a]);
    }
    for_each_block(out_grid, [&](std::span<const std::int64_t> idx) {
        f(idx, group(static_cast<std::int64_t>(levels_.size()) - 1, last, idx, everything));
    });
}

BlockMapNode::BlockMapNode(std::string op, DType dtype, Chunks chunks, std::vector<NodePtr> inputs, OpId task_op,
                           std::string params, std::vector<std::int64_t> source_axis, std::uint64_t token)
    : ArrayNode(std::move(op), dtype, std::move(chunks), std::move(inputs), token),
      task_op_(task_op),
      params_(std::move(params)),
      source_axis_(std::move(source_axis)) {
    for (const auto& input : this->inputs())
        TESSERA_ASSERT(input->ndim() == static_cast<std::int64_t>(source_axis_.size()),
                       "BlockMapNode input rank differs from source_axis");
}

void BlockMapNode::lower_tasks(LowerContext& ctx) const {
    for (const auto& input : inputs()) input->lower(ctx);
    std::vector<std::int64_t> src(source_axis_.size());
    for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> block) {
        for (std::size_t k = 0; k < source_axis_.size(); ++k)
            src[k] = source_axis_[k] < 0 ? 0 : block[static_cast<std::size_t>(source_axis_[k])];
        Task task;
        task.key = block_key(block);
        task.op = task_op_;
        task.params = params_;
        for (const auto& input : inputs()) task.deps.push_back(input->block_key(src));
        task.nbytes_hint = shape_size(chunks().block_shape(block)) * dtype().itemsize();
        ctx.graph.add(std::move(task));
    });
}

std::uint64_t params_token(std::string_view op, std::string_view params) {
    Tokenizer tok;
    tok.add(op).add(params);
    return tok.digest();
}

}  // namespace tessera::detail
