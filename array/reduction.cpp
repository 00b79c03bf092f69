// Reductions (sum, mean, var, min, ... and their nan* forms) as Dask-style trees:
//   chunk     one task per input block → partials ("<op>_chunk-<token>", block index); when the
//             input is an elementwise expression used only here, the task evaluates the fused
//             program itself, so the expression is never materialized;
//   combine   merges up to split_every partials along every reduced axis per level
//             ("<op>_combine-<token>", {level, group index...});
//   aggregate merges the rest and converts to the result ("<op>-<token>", output block).
// Reductions of one input lowered together may share the chunk and combine stages
// (array/reduction_share.hpp). Kernels and the partials' layout: array/reduction_kernels.hpp.
#include <algorithm>
#include <optional>
#include <utility>

#include "array/fused.hpp"
#include "array/node.hpp"
#include "array/reduction_kernels.hpp"
#include "array/reduction_share.hpp"
#include "array/tree_reduce.hpp"
#include "tessera/array.hpp"
#include "tessera/config.hpp"
#include "tessera/error.hpp"

namespace tessera {

namespace detail {
namespace {

// ------------------------------------------------------------------------------ task operations

Value chunk_op(const TaskContext& ctx) {
    ReduceParams p = decode_params(ctx.task.params);
    return Value(reduce_block(p, ctx.inputs[0]->array()));
}

Value fused_chunk_op(const TaskContext& ctx) {
    ReduceParams p = decode_params(ctx.task.params);
    return Value(reduce_fused_block(p, ctx.inputs));
}

Value combine_op(const TaskContext& ctx) {
    ReduceParams p = decode_params(ctx.task.params);
    return Value(merge_partials(p, ctx.inputs));
}

/// A member's own partials out of shared ones (no data is copied).
Value member_slice(const Value& shared, std::int64_t offset, std::int64_t n) {
    const ValueList& list = shared.list();
    if (offset < 0 || offset + n > static_cast<std::int64_t>(list.size()))
        throw ProtocolError("malformed shared reduction partial: {} arrays, this reduction's are [{}, {})", list.size(),
                            offset, offset + n);
    return Value(ValueList(list.begin() + offset, list.begin() + offset + n));
}

Value aggregate_op(const TaskContext& ctx) {
    ReduceParams p = decode_params(ctx.task.params);
    if (p.part_offset >= 0 && !ctx.inputs.empty()) {
        std::vector<Value> mine;
        std::vector<const Value*> parts;
        mine.reserve(ctx.inputs.size());
        for (const Value* v : ctx.inputs) mine.push_back(member_slice(*v, p.part_offset, partial_count(p.kind)));
        for (const Value& v : mine) parts.push_back(&v);
        return Value(finalize_partials(p, merge_partials(p, parts)));
    }
    ValueList merged = ctx.inputs.empty() ? identity_partials(p) : merge_partials(p, ctx.inputs);
    return Value(finalize_partials(p, merged));
}

struct ReduceOps {
    OpId chunk, fused, combine, aggregate;
};

const ReduceOps& reduce_ops() {
    static const ReduceOps ops{register_op("tessera.reduce_chunk", &chunk_op),
                               register_op("tessera.reduce_fused", &fused_chunk_op),
                               register_op("tessera.reduce_combine", &combine_op),
                               register_op("tessera.reduce_aggregate", &aggregate_op)};
    return ops;
}

// Registered when the library loads, so a worker process knows them before any task arrives.
[[maybe_unused]] const ReduceOps& reduce_ops_registered = reduce_ops();

// ------------------------------------------------------------------------------ the node

class ReduceNode final : public ArrayNode {
public:
    ReduceNode(DType dtype, Chunks chunks, NodePtr input, ReduceParams params, std::int64_t split_every,
               std::uint64_t token)
        : ArrayNode(std::string(reduce_name(params.kind)), dtype, std::move(chunks), {std::move(input)},
                    token),
          params_(std::move(params)),
          split_every_(split_every) {}

    const ReduceParams& params() const { return params_; }
    std::int64_t split_every() const { return split_every_; }

protected:
    void lower_tasks(LowerContext& ctx) const override;

private:
    ReduceParams params_;
    std::int64_t split_every_;
};

/// The chunk and combine tasks of a tree over `in` (one reduction's, or a shared tree's).
void lower_partials(LowerContext& ctx, const ArrayNode& in, const ReduceParams& chunk_params, bool fused,
                    std::int64_t split_every, const std::string& chunk_name, const std::string& combine_name,
                    std::int64_t n_partials) {
    const ReduceOps& ops = reduce_ops();
    if (!fused) in.lower(ctx);
    const std::int64_t ndim = in.ndim();
    std::vector<bool> reduced(static_cast<std::size_t>(ndim), false);
    for (auto axis : chunk_params.axes) reduced[static_cast<std::size_t>(axis)] = true;
    const Chunks& in_chunks = in.chunks();
    const Shape grid = in_chunks.numblocks();

    // Partials are a few 8-byte arrays shaped like the output block.
    auto partial_bytes = [&](std::span<const std::int64_t> block) {
        std::int64_t n = 1;
        for (std::int64_t axis = 0; axis < ndim; ++axis)
            if (!reduced[static_cast<std::size_t>(axis)])
                n *= std::max<std::int64_t>(in_chunks.sizes(axis)[static_cast<std::size_t>(block[axis])], 0);
        return 8 * n_partials * n;
    };

    // (1) chunk tasks.
    const std::string chunk_bytes = encode_params(chunk_params);
    std::optional<FusedKernelBuilder> kernels;  // one expression walk per block shape
    if (fused) kernels.emplace(in, ctx);
    for_each_block(grid, [&](std::span<const std::int64_t> block) {
        Task task;
        task.key = Key(chunk_name, std::vector<std::int64_t>(block.begin(), block.end()));
        if (fused) {
            FusedKernel kernel = kernels->build(block);
            ReduceParams p = chunk_params;
            p.program = std::move(kernel.program);
            task.op = ops.fused;
            task.params = encode_params(p);
            task.deps = std::move(kernel.deps);
        } else {
            task.op = ops.chunk;
            task.params = chunk_bytes;
            task.deps = {in.block_key(block)};
        }
        task.nbytes_hint = partial_bytes(block);
        ctx.graph.add(std::move(task));
    });

    // (2) combine levels (array/tree_reduce.hpp).
    const ReductionTree tree(grid, reduced, split_every, chunk_name, combine_name);
    tree.add_combine_tasks(ctx.graph, ops.combine, chunk_bytes, partial_bytes);
}

void ReduceNode::lower_tasks(LowerContext& ctx) const {
    const ArrayNode& in = *inputs()[0];
    const std::int64_t ndim = in.ndim();
    std::vector<bool> reduced(static_cast<std::size_t>(ndim), false);
    for (auto axis : params_.axes) reduced[static_cast<std::size_t>(axis)] = true;
    const Chunks& in_chunks = in.chunks();

    ReduceParams own = params_;
    own.partial_shape.clear();
    std::string chunk_name, combine_name;
    std::int64_t part_offset = -1;
    if (const SharedTree* shared = find_shared_tree(ctx, *this, part_offset)) {
        // (1, 2) the chunk and combine tasks shared with other reductions of `in`, once.
        chunk_name = shared->chunk_name;
        combine_name = shared->combine_name;
        if (ctx.lowered.insert(shared->name).second)
            lower_partials(ctx, in, shared->params, shared->fused, split_every_, chunk_name, combine_name,
                           shared->n_partials);
    } else {
        // (1, 2) this reduction's own chunk and combine tasks.
        const std::string token = name().substr(op().size() + 1);
        chunk_name = op() + "_chunk-" + token;
        combine_name = op() + "_combine-" + token;
        lower_partials(ctx, in, own, ctx.fusable(in), split_every_, chunk_name, combine_name,
                       partial_count(params_.kind));
    }

    // (3) one aggregate task per output block.
    const ReductionTree tree(in_chunks.numblocks(), reduced, split_every_, chunk_name, combine_name);
    tree.for_each_aggregate([&](std::span<const std::int64_t> idx, ReductionTree::Group group) {
        ReduceParams p = own;
        p.part_offset = group.keys.empty() ? -1 : part_offset;
        std::vector<std::int64_t> out_index;
        for (std::int64_t axis = 0; axis < ndim; ++axis) {
            auto a = static_cast<std::size_t>(axis);
            p.partial_shape.push_back(reduced[a] ? 1 : in_chunks.sizes(axis)[static_cast<std::size_t>(idx[a])]);
            if (!reduced[a] || params_.keepdims) out_index.push_back(idx[a]);
        }
        Task task;
        task.key = Key(name(), std::move(out_index));
        task.op = reduce_ops().aggregate;
        task.params = encode_params(p);
        task.deps = std::move(group.keys);
        task.nbytes_hint = shape_size(p.partial_shape) * dtype().itemsize();
        ctx.graph.add(std::move(task));
    });
}

// ------------------------------------------------------------------------------ building

bool is_inexact(DType d) { return d.is_floating() || d.is_complex(); }

DType real_of(DType d) {
    if (d == complex64) return float32;
    if (d == complex128) return float64;
    return d;
}

Array reduce(ReduceKind kind, const Array& a, const Axes& axis, const ReduceOptions& options) {
    const std::string_view name = reduce_name(kind);
    const DType in = a.dtype();
    const std::int64_t ndim = a.ndim();

    ReduceParams p;
    p.kind = kind;
    p.keepdims = options.keepdims;
    p.ddof = options.ddof;
    if (axis.all()) {
        for (std::int64_t ax = 0; ax < ndim; ++ax) p.axes.push_back(ax);
    } else {
        p.axes = normalize_axes(axis.list(), ndim);
    }
    const std::int64_t split_every = options.split_every == 0 ? config::get().split_every : options.split_every;
    if (split_every < 2) throw ValueError("split_every must be at least 2, got {}", split_every);

    const bool explicit_dtype = options.dtype.has_value();
    const bool nan_kind = kind == ReduceKind::NanSum || kind == ReduceKind::NanMean ||
                          kind == ReduceKind::NanVar || kind == ReduceKind::NanStd ||
                          kind == ReduceKind::NanMin || kind == ReduceKind::NanMax;
    DType out = in;
    switch (kind) {
        case ReduceKind::Sum:
        case ReduceKind::Prod:
        case ReduceKind::NanSum:
            out = options.dtype.value_or(sum_dtype(in));
            break;
        case ReduceKind::Mean:
        case ReduceKind::NanMean:
        case ReduceKind::Var:
        case ReduceKind::Std:
        case ReduceKind::NanVar:
        case ReduceKind::NanStd: {
            const bool is_mean = kind == ReduceKind::Mean || kind == ReduceKind::NanMean;
            out = options.dtype.value_or(float_dtype(in));
            if (nan_kind && is_inexact(in) && !is_inexact(out))
                throw DTypeError("If a is inexact, then dtype must be inexact");
            if (out.is_bool() || (!is_mean && !is_inexact(out)))
                throw NotImplemented("{} with dtype {} is not supported", name, out);
            p.int_mean = is_mean && out.is_integer();
            if (!is_mean) out = real_of(out);
            break;
        }
        case ReduceKind::Min:
        case ReduceKind::Max:
        case ReduceKind::NanMin:
        case ReduceKind::NanMax:
        case ReduceKind::Any:
        case ReduceKind::All:
            if (explicit_dtype) throw NotImplemented("the dtype option of {} is not supported", name);
            if (kind == ReduceKind::Any || kind == ReduceKind::All) {
                out = bool_;
                break;
            }
            if (in.is_complex()) throw NotImplemented("{} of complex dtype {} is not supported", name, in);
            for (auto ax : p.axes) {
                if (a.shape(ax) == 0) {
                    const char* ufunc = kind == ReduceKind::Min    ? "minimum"
                                        : kind == ReduceKind::Max  ? "maximum"
                                        : kind == ReduceKind::NanMin ? "fmin"
                                                                     : "fmax";
                    throw ValueError("zero-size array to reduction operation {} which has no identity", ufunc);
                }
            }
            break;
    }
    p.compute_dtype = explicit_dtype ? *options.dtype : in;
    p.out_dtype = out;
    p.zero_nans = nan_kind && explicit_dtype && is_inexact(in) && *options.dtype != in;

    std::vector<BlockSizes> out_chunks;
    for (std::int64_t ax = 0; ax < ndim; ++ax) {
        const bool is_reduced = std::binary_search(p.axes.begin(), p.axes.end(), ax);
        if (!is_reduced) out_chunks.push_back(a.chunks().sizes(ax));
        else if (p.keepdims) out_chunks.push_back({1});
    }

    Tokenizer tok;
    tok.add(std::int64_t{static_cast<std::uint8_t>(kind)})
        .add(std::span<const std::int64_t>(p.axes))
        .add(std::int64_t{p.keepdims})
        .add(std::int64_t{static_cast<std::uint8_t>(p.compute_dtype.id())})
        .add(std::int64_t{static_cast<std::uint8_t>(out.id())})
        .add(p.ddof)
        .add(split_every)
        .add(std::int64_t{p.zero_nans})
        .add(std::int64_t{p.int_mean});
    return Array(std::make_shared<ReduceNode>(out, Chunks(std::move(out_chunks)), a.node(), std::move(p),
                                              split_every, tok.digest()));
}

}  // namespace

std::optional<ShareableReduction> shareable_reduction(const ArrayNode& node) {
    const auto* r = dynamic_cast<const ReduceNode*>(&node);
    if (r == nullptr) return std::nullopt;
    return ShareableReduction{r->inputs()[0].get(), &r->params(), r->split_every()};
}

}  // namespace detail

using detail::ReduceKind;

Array sum(const Array& a, const Axes& axis, const ReduceOptions& o) { return detail::reduce(ReduceKind::Sum, a, axis, o); }
Array prod(const Array& a, const Axes& axis, const ReduceOptions& o) { return detail::reduce(ReduceKind::Prod, a, axis, o); }
Array mean(const Array& a, const Axes& axis, const ReduceOptions& o) { return detail::reduce(ReduceKind::Mean, a, axis, o); }
Array var(const Array& a, const Axes& axis, const ReduceOptions& o) { return detail::reduce(ReduceKind::Var, a, axis, o); }
Array std(const Array& a, const Axes& axis, const ReduceOptions& o) { return detail::reduce(ReduceKind::Std, a, axis, o); }
Array min(const Array& a, const Axes& axis, const ReduceOptions& o) { return detail::reduce(ReduceKind::Min, a, axis, o); }
Array max(const Array& a, const Axes& axis, const ReduceOptions& o) { return detail::reduce(ReduceKind::Max, a, axis, o); }
Array any(const Array& a, const Axes& axis, const ReduceOptions& o) { return detail::reduce(ReduceKind::Any, a, axis, o); }
Array all(const Array& a, const Axes& axis, const ReduceOptions& o) { return detail::reduce(ReduceKind::All, a, axis, o); }
Array nansum(const Array& a, const Axes& axis, const ReduceOptions& o) { return detail::reduce(ReduceKind::NanSum, a, axis, o); }
Array nanmean(const Array& a, const Axes& axis, const ReduceOptions& o) { return detail::reduce(ReduceKind::NanMean, a, axis, o); }
Array nanvar(const Array& a, const Axes& axis, const ReduceOptions& o) { return detail::reduce(ReduceKind::NanVar, a, axis, o); }
Array nanstd(const Array& a, const Axes& axis, const ReduceOptions& o) { return detail::reduce(ReduceKind::NanStd, a, axis, o); }
Array nanmin(const Array& a, const Axes& axis, const ReduceOptions& o) { return detail::reduce(ReduceKind::NanMin, a, axis, o); }
Array nanmax(const Array& a, const Axes& axis, const ReduceOptions& o) { return detail::reduce(ReduceKind::NanMax, a, axis, o); }

Array Array::sum(const Axes& axis, const ReduceOptions& o) const { return tessera::sum(*this, axis, o); }
Array Array::prod(const Axes& axis, const ReduceOptions& o) const { return tessera::prod(*this, axis, o); }
Array Array::mean(const Axes& axis, const ReduceOptions& o) const { return tessera::mean(*this, axis, o); }
Array Array::var(const Axes& axis, const ReduceOptions& o) const { return tessera::var(*this, axis, o); }
Array Array::std(const Axes& axis, const ReduceOptions& o) const { return tessera::std(*this, axis, o); }
Array Array::min(const Axes& axis, const ReduceOptions& o) const { return tessera::min(*this, axis, o); }
Array Array::max(const Axes& axis, const ReduceOptions& o) const { return tessera::max(*this, axis, o); }
Array Array::any(const Axes& axis, const ReduceOptions& o) const { return tessera::any(*this, axis, o); }
Array Array::all(const Axes& axis, const ReduceOptions& o) const { return tessera::all(*this, axis, o); }

}  // namespace tessera
