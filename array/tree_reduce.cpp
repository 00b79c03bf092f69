// TreeReduceNode and BlockMapNode (see array/tree_reduce.hpp).
#include "array/tree_reduce.hpp"

#include <algorithm>
#include <utility>

#include "tessera/error.hpp"

namespace tessera::detail {

namespace {

/// Calls f(index) for every index of the box [lo, hi) in C order.
template <class F>
void for_each_in_box(const Shape& lo, const Shape& hi, F&& f) {
    const std::size_t n = lo.size();
    for (std::size_t axis = 0; axis < n; ++axis)
        if (hi[axis] <= lo[axis]) return;
    Shape idx = lo;
    while (true) {
        f(std::span<const std::int64_t>(idx));
        std::size_t axis = n;
        while (axis > 0) {
            --axis;
            if (++idx[axis] < hi[axis]) break;
            idx[axis] = lo[axis];
            if (axis == 0) return;
        }
        if (n == 0) return;
    }
}

}  // namespace

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
    const std::string combine_name = op() + "_combine-" + token;
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

    std::int64_t level = -1;  // -1: the chunk tasks
    auto key_at = [&](std::int64_t lvl, std::span<const std::int64_t> idx) {
        if (lvl < 0) return Key(chunk_name, std::vector<std::int64_t>(idx.begin(), idx.end()));
        std::vector<std::int64_t> index{lvl};
        index.insert(index.end(), idx.begin(), idx.end());
        return Key(combine_name, std::move(index));
    };
    auto group_deps = [&](const Shape& cur, std::span<const std::int64_t> idx, std::int64_t fan_in) {
        Shape lo(static_cast<std::size_t>(ndim)), hi(static_cast<std::size_t>(ndim));
        for (std::size_t a = 0; a < static_cast<std::size_t>(ndim); ++a) {
            lo[a] = reduced[a] ? idx[a] * fan_in : idx[a];
            hi[a] = reduced[a] ? std::min(lo[a] + fan_in, cur[a]) : idx[a] + 1;
        }
        std::vector<Key> deps;
        for_each_in_box(lo, hi, [&](std::span<const std::int64_t> dep) { deps.push_back(key_at(level, dep)); });
        return deps;
    };

    const std::int64_t s = split_every_;
    const std::string combine_bytes = combine_params();
    Shape cur = grid;
    while (true) {
        bool deep = false;
        for (std::size_t a = 0; a < static_cast<std::size_t>(ndim); ++a) deep = deep || (reduced[a] && cur[a] > s);
        if (!deep) break;
        Shape next = cur;
        for (std::size_t a = 0; a < static_cast<std::size_t>(ndim); ++a)
            if (reduced[a]) next[a] = (cur[a] + s - 1) / s;
        for_each_block(next, [&](std::span<const std::int64_t> idx) {
            Task task;
            task.key = key_at(level + 1, idx);
            task.op = o.combine;
            task.params = combine_bytes;
            task.deps = group_deps(cur, idx, s);
            task.nbytes_hint = bytes_of(idx);
            ctx.graph.add(std::move(task));
        });
        cur = std::move(next);
        ++level;
    }

    Shape out_grid = grid;
    for (std::size_t a = 0; a < static_cast<std::size_t>(ndim); ++a)
        if (reduced[a]) out_grid[a] = 1;
    std::int64_t everything = 1;
    for (auto n : cur) everything = std::max(everything, n);
    for_each_block(out_grid, [&](std::span<const std::int64_t> idx) {
        std::vector<std::int64_t> out_index;
        for (std::size_t a = 0; a < static_cast<std::size_t>(ndim); ++a)
            if (!reduced[a] || keepdims_) out_index.push_back(idx[a]);
        Task task;
        task.key = Key(name(), std::move(out_index));
        task.op = o.aggregate;
        task.params = aggregate_params(idx);
        task.deps = group_deps(cur, idx, everything);
        task.nbytes_hint = bytes_of(idx);
        ctx.graph.add(std::move(task));
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
