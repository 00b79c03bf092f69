// argmin / argmax / nanargmin / nanargmax as tree reductions of (value, global index) pairs.
// Partials: [values (input dtype), indices (int64)] shaped like the output block with the
// reduced axes kept as 1; index -1 means "no candidate yet" (an empty block, or only NaN for the
// nan* forms). Indices are global (along the axis, or into the flattened array), so merging
// breaks ties by the smaller index whatever order partials arrive in.
#include <cmath>
#include <utility>

#include <cereal/types/vector.hpp>

#include "array/shape_ops.hpp"
#include "array/tree_reduce.hpp"
#include "src/dispatch.hpp"
#include "tessera/config.hpp"
#include "tessera/error.hpp"
#include "tessera/reductions.hpp"

namespace tessera::detail {

namespace {

enum class ArgKind : std::uint8_t { ArgMin, ArgMax, NanArgMin, NanArgMax };

const char* arg_name(ArgKind k) {
    switch (k) {
        case ArgKind::ArgMin: return "argmin";
        case ArgKind::ArgMax: return "argmax";
        case ArgKind::NanArgMin: return "nanargmin";
        case ArgKind::NanArgMax: return "nanargmax";
    }
    return "?";
}

struct ArgParams {
    std::uint8_t kind = 0;
    std::int64_t axis = -1;  // -1: flattened
    bool keepdims = false;
    Shape shape;        // the input's shape (flattened indices)
    Shape block_start;  // chunk tasks: the block's offsets

    template <class Archive>
    void serialize(Archive& ar) {
        ar(kind, axis, keepdims, shape, block_start);
    }
    ArgKind arg_kind() const { return static_cast<ArgKind>(kind); }
    bool is_max() const { return arg_kind() == ArgKind::ArgMax || arg_kind() == ArgKind::NanArgMax; }
    bool skip_nan() const { return arg_kind() == ArgKind::NanArgMin || arg_kind() == ArgKind::NanArgMax; }
};

template <class T>
bool isnan_of(T v) {
    if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
    else return false;
}

/// True when (v, i) should replace the current candidate (cv, ci).
template <class T>
bool better(const ArgParams& p, T v, std::int64_t i, T cv, std::int64_t ci) {
    if (ci < 0) return true;
    if (!p.skip_nan()) {
        const bool vn = isnan_of(v), cn = isnan_of(cv);
        if (cn) return vn && i < ci;
        if (vn) return true;
    }
    if (p.is_max() ? cv < v : v < cv) return true;
    return v == cv && i < ci;
}

template <class T>
ValueList chunk_kernel(const ArgParams& p, const NDArray& raw) {
    const NDArray block = raw.contiguous();
    const T* x = block.size() > 0 ? block.data<T>() : nullptr;
    const std::int64_t ndim = block.ndim();
    Shape out_shape = block.shape();
    if (p.axis < 0) out_shape.assign(static_cast<std::size_t>(ndim), 1);
    else out_shape[static_cast<std::size_t>(p.axis)] = 1;
    NDArray values = NDArray::zeros(dtype_of<T>(), out_shape);
    NDArray indices = NDArray::full(int64, out_shape, Scalar(std::int64_t{-1}, int64));
    T* val = values.data<T>();
    std::int64_t* idx = indices.data<std::int64_t>();
    const bool skip = p.skip_nan();
    if (p.axis < 0) {
        // Flattened: walk the block in C order keeping the global flat index up to date.
        const std::vector<std::int64_t> gstrides = c_strides(p.shape);
        for_each_block(block.shape(), [&, n = std::int64_t{0}](std::span<const std::int64_t> local) mutable {
            const T v = x[n++];
            if (skip && isnan_of(v)) return;
            std::int64_t flat = 0;
            for (std::size_t a = 0; a < local.size(); ++a) flat += (p.block_start[a] + local[a]) * gstrides[a];
            if (better(p, v, flat, val[0], idx[0])) val[0] = v, idx[0] = flat;
        });
        return {values, indices};
    }
    const auto ax = static_cast<std::size_t>(p.axis);
    std::int64_t outer = 1, inner = 1;
    for (std::size_t a = 0; a < ax; ++a) outer *= block.shape()[a];
    for (std::size_t a = ax + 1; a < static_cast<std::size_t>(ndim); ++a) inner *= block.shape()[a];
    const std::int64_t len = block.shape()[ax];
    const std::int64_t start = p.block_start[ax];
    for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t r = 0; r < len; ++r)
            for (std::int64_t i = 0; i < inner; ++i) {
                const T v = x[(o * len + r) * inner + i];
                if (skip && isnan_of(v)) continue;
                const std::int64_t k = o * inner + i;
                if (better(p, v, start + r, val[k], idx[k])) val[k] = v, idx[k] = start + r;
            }
    return {values, indices};
}

Value arg_chunk_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<ArgParams>(ctx.task.params, "arg reduction");
    if (ctx.inputs.size() != 1) throw ProtocolError("{} chunk: {} inputs instead of 1", arg_name(p.arg_kind()), ctx.inputs.size());
    const NDArray& block = ctx.inputs[0]->array();
    return visit_real_dtype(block.dtype(), arg_name(p.arg_kind()),
                            [&](auto tag) { return Value(chunk_kernel<typename decltype(tag)::type>(p, block)); });
}

/// Merges the partials of `ctx.inputs` in order.
ValueList merge(const ArgParams& p, std::span<const Value* const> inputs) {
    if (inputs.empty()) throw ProtocolError("{}: nothing to merge", arg_name(p.arg_kind()));
    const ValueList& first = inputs[0]->list();
    if (first.size() != 2) throw ProtocolError("malformed {} partial of {} values", arg_name(p.arg_kind()), first.size());
    NDArray values = first[0].array().copy();
    NDArray indices = first[1].array().copy();
    visit_real_dtype(values.dtype(), arg_name(p.arg_kind()), [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* val = values.data<T>();
        std::int64_t* idx = indices.data<std::int64_t>();
        for (std::size_t k = 1; k < inputs.size(); ++k) {
            const ValueList& part = inputs[k]->list();
            if (part.size() != 2 || part[0].array().shape() != values.shape() || part[0].array().dtype() != values.dtype())
                throw ProtocolError("{} partials do not match", arg_name(p.arg_kind()));
            const NDArray pv = part[0].array().contiguous(), pi = part[1].array().contiguous();
            const T* v = pv.data<T>();
            const std::int64_t* i = pi.data<std::int64_t>();
            for (std::int64_t e = 0, n = values.size(); e < n; ++e)
                if (i[e] >= 0 && better(p, v[e], i[e], val[e], idx[e])) val[e] = v[e], idx[e] = i[e];
        }
    });
    return {values, indices};
}

Value arg_combine_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<ArgParams>(ctx.task.params, "arg reduction");
    return Value(merge(p, ctx.inputs));
}

Value arg_aggregate_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<ArgParams>(ctx.task.params, "arg reduction");
    const ValueList merged = merge(p, ctx.inputs);
    const NDArray& indices = merged[1].array();
    const std::int64_t* idx = indices.data<std::int64_t>();
    for (std::int64_t e = 0, n = indices.size(); e < n; ++e) {
        if (idx[e] >= 0) continue;
        if (p.axis < 0) throw ValueError("All-NaN slice encountered in {}", arg_name(p.arg_kind()));
        throw ValueError("All-NaN slice encountered in {} along axis {}", arg_name(p.arg_kind()), p.axis);
    }
    if (p.keepdims) return Value(indices);
    Shape out;
    if (p.axis >= 0)
        for (std::int64_t a = 0; a < indices.ndim(); ++a)
            if (a != p.axis) out.push_back(indices.shape(a));
    return Value(indices.reshape(out));
}

const TreeOps& arg_ops() {
    static const TreeOps ops{register_op("tessera.arg_chunk", &arg_chunk_op),
                             register_op("tessera.arg_combine", &arg_combine_op),
                             register_op("tessera.arg_aggregate", &arg_aggregate_op)};
    return ops;
}

[[maybe_unused]] const TreeOps& arg_ops_registered = arg_ops();

class ArgReduceNode final : public TreeReduceNode {
public:
    ArgReduceNode(NodePtr input, std::vector<std::int64_t> axes, std::int64_t split_every, ArgParams params,
                  std::uint64_t token)
        : TreeReduceNode(arg_name(params.arg_kind()), int64, std::move(input), std::move(axes), params.keepdims,
                         split_every, token),
          params_(std::move(params)) {}

protected:
    TreeOps ops() const override { return arg_ops(); }
    std::string chunk_params(std::span<const std::int64_t> block) const override {
        ArgParams p = params_;
        const Chunks& c = inputs()[0]->chunks();
        for (std::int64_t a = 0; a < c.ndim(); ++a)
            p.block_start.push_back(c.block_start(a, block[static_cast<std::size_t>(a)]));
        return encode_shape_params(p);
    }
    std::string combine_params() const override { return encode_shape_params(params_); }
    std::string aggregate_params(std::span<const std::int64_t>) const override { return encode_shape_params(params_); }

private:
    ArgParams params_;
};

Array arg_reduce(ArgKind kind, const Array& a, std::optional<std::int64_t> axis, const ReduceOptions& options) {
    const char* name = arg_name(kind);
    if (options.dtype) throw NotImplemented("the dtype option of {} is not supported", name);
    if (a.dtype().is_complex()) throw NotImplemented("{} of complex dtype {} is not supported", name, a.dtype());
    const std::int64_t split_every = options.split_every == 0 ? config::get().split_every : options.split_every;
    if (split_every < 2) throw ValueError("split_every must be at least 2, got {}", split_every);
    ArgParams p;
    p.kind = static_cast<std::uint8_t>(kind);
    p.keepdims = options.keepdims;
    p.shape = a.shape();
    std::vector<std::int64_t> axes;
    if (axis) {
        p.axis = normalize_axis(*axis, a.ndim());
        axes = {p.axis};
        if (a.shape(p.axis) == 0)
            throw ValueError("attempt to get {} of an empty sequence along axis {}", name, p.axis);
    } else {
        for (std::int64_t ax = 0; ax < a.ndim(); ++ax) axes.push_back(ax);
        if (a.size() == 0) throw ValueError("attempt to get {} of an empty sequence", name);
    }
    Tokenizer tok;
    tok.add(std::int64_t{p.kind}).add(p.axis).add(std::int64_t{p.keepdims}).add(split_every);
    return Array(std::make_shared<ArgReduceNode>(a.node(), std::move(axes), split_every, std::move(p), tok.digest()));
}

}  // namespace
}  // namespace tessera::detail

namespace tessera {

using detail::ArgKind;

Array argmin(const Array& a, std::optional<std::int64_t> axis, const ReduceOptions& o) {
    return detail::arg_reduce(ArgKind::ArgMin, a, axis, o);
}
Array argmax(const Array& a, std::optional<std::int64_t> axis, const ReduceOptions& o) {
    return detail::arg_reduce(ArgKind::ArgMax, a, axis, o);
}
Array nanargmin(const Array& a, std::optional<std::int64_t> axis, const ReduceOptions& o) {
    return detail::arg_reduce(ArgKind::NanArgMin, a, axis, o);
}
Array nanargmax(const Array& a, std::optional<std::int64_t> axis, const ReduceOptions& o) {
    return detail::arg_reduce(ArgKind::NanArgMax, a, axis, o);
}

}  // namespace tessera
