// cumsum / cumprod / nancumsum / nancumprod as Dask's cumreduction, without rechunking:
//   ("<op>_block-<token>", b)  the scan of input block b along the axis, in the result dtype;
//   ("<op>_carry-<token>", b)  for b[axis] >= 1: the running total of every block before b
//                              along the axis (the previous carry ⊕ the last slice of the
//                              previous block's scan), shaped like b with the axis of length 1;
//   ("<op>-<token>", b)        the block's scan ⊕ its carry (the scan itself for b[axis] == 0).
// Only the thin carries run in sequence; the block scans are independent.
#include <algorithm>
#include <cmath>
#include <utility>

#include "array/shape_ops.hpp"
#include "array/tree_reduce.hpp"
#include "src/dispatch.hpp"
#include "tessera/error.hpp"
#include "tessera/reductions.hpp"

namespace tessera::detail {

namespace {

enum class ScanKind : std::uint8_t { CumSum, CumProd, NanCumSum, NanCumProd };

const char* scan_name(ScanKind k) {
    switch (k) {
        case ScanKind::CumSum: return "cumsum";
        case ScanKind::CumProd: return "cumprod";
        case ScanKind::NanCumSum: return "nancumsum";
        case ScanKind::NanCumProd: return "nancumprod";
    }
    return "?";
}

struct ScanParams {
    std::uint8_t kind = 0;
    std::int64_t axis = 0;
    std::uint8_t dtype = 0;  // DTypeId of the result

    template <class Archive>
    void serialize(Archive& ar) {
        ar(kind, axis, dtype);
    }
    ScanKind scan_kind() const { return static_cast<ScanKind>(kind); }
    bool is_prod() const { return scan_kind() == ScanKind::CumProd || scan_kind() == ScanKind::NanCumProd; }
    bool skip_nan() const { return scan_kind() == ScanKind::NanCumSum || scan_kind() == ScanKind::NanCumProd; }
    DType out_dtype() const { return DType(static_cast<DTypeId>(dtype)); }
};

/// a ⊕ b in T; integers wrap modulo 2^64 like NumPy (no signed-overflow UB).
template <class T>
T combine(bool prod, T a, T b) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        const auto ua = static_cast<std::uint64_t>(a), ub = static_cast<std::uint64_t>(b);
        return static_cast<T>(prod ? ua * ub : ua + ub);
    } else if constexpr (std::is_same_v<T, bool>) {
        return prod ? (a && b) : (a || b);
    } else {
        return prod ? a * b : a + b;
    }
}

template <class T>
bool is_nan_elem(T v) {
    if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
    else if constexpr (is_complex_v<T>) return std::isnan(v.real()) || std::isnan(v.imag());
    else return false;
}

/// (outer, len, inner) of `shape` around `axis`.
struct Geometry {
    std::int64_t outer = 1, len = 1, inner = 1;
};
Geometry geometry(const Shape& shape, std::int64_t axis) {
    Geometry g;
    for (std::int64_t a = 0; a < static_cast<std::int64_t>(shape.size()); ++a) {
        const std::int64_t n = shape[static_cast<std::size_t>(a)];
        if (a < axis) g.outer *= n;
        else if (a == axis) g.len = n;
        else g.inner *= n;
    }
    return g;
}

Value scan_block_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<ScanParams>(ctx.task.params, "scan");
    if (ctx.inputs.size() != 1) throw ProtocolError("scan block: {} inputs instead of 1", ctx.inputs.size());
    const NDArray& in = ctx.inputs[0]->array();
    if (p.axis >= in.ndim()) throw ProtocolError("scan axis {} for a block of shape {}", p.axis, shape_str(in.shape()));
    NDArray block = in;
    if (p.skip_nan()) {
        block = visit_dtype(in.dtype(), [&](auto tag) -> NDArray {
            using T = typename decltype(tag)::type;
            if constexpr (std::is_floating_point_v<T> || is_complex_v<T>) {
                NDArray out = in.copy();
                T* x = out.data<T>();
                const T identity = p.is_prod() ? T(1) : T(0);
                for (std::int64_t e = 0, n = out.size(); e < n; ++e)
                    if (is_nan_elem(x[e])) x[e] = identity;
                return out;
            } else {
                return in;
            }
        });
    }
    NDArray out = block.astype(p.out_dtype());  // always a fresh contiguous buffer
    if (out.size() == 0) return Value(out);
    const Geometry g = geometry(out.shape(), p.axis);
    visit_dtype(out.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* x = out.data<T>();
        for (std::int64_t o = 0; o < g.outer; ++o)
            for (std::int64_t r = 1; r < g.len; ++r) {
                T* row = x + (o * g.len + r) * g.inner;
                const T* prev = row - g.inner;
                for (std::int64_t i = 0; i < g.inner; ++i) row[i] = combine<T>(p.is_prod(), prev[i], row[i]);
            }
    });
    return Value(out);
}

/// The last slice along the axis of a scanned block (the identity for an empty block).
NDArray last_slice(const ScanParams& p, const NDArray& scanned) {
    const std::int64_t len = scanned.shape(p.axis);
    if (len > 0) return scanned.slice(p.axis, len - 1, len).copy();
    Shape shape = scanned.shape();
    shape[static_cast<std::size_t>(p.axis)] = 1;
    return NDArray::full(p.out_dtype(), shape, Scalar(p.is_prod() ? 1 : 0));
}

/// a ⊕ b elementwise, b broadcast along the axis when it has length 1 there.
NDArray apply(const ScanParams& p, const NDArray& a, const NDArray& b) {
    NDArray out = a.copy();
    const NDArray carry = b.contiguous();
    if (out.size() == 0) return out;
    const Geometry g = geometry(out.shape(), p.axis);
    const Geometry gc = geometry(carry.shape(), p.axis);
    if (gc.outer != g.outer || gc.inner != g.inner || carry.dtype() != out.dtype())
        throw ProtocolError("scan carry of shape {} does not fit a block of shape {}", shape_str(carry.shape()),
                            shape_str(out.shape()));
    visit_dtype(out.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* x = out.data<T>();
        const T* c = carry.data<T>();
        for (std::int64_t o = 0; o < g.outer; ++o)
            for (std::int64_t r = 0; r < g.len; ++r) {
                T* row = x + (o * g.len + r) * g.inner;
                const T* crow = c + o * g.inner;
                for (std::int64_t i = 0; i < g.inner; ++i) row[i] = combine<T>(p.is_prod(), crow[i], row[i]);
            }
    });
    return out;
}

// inputs: [previous block's scan] or [previous carry, previous block's scan].
Value scan_carry_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<ScanParams>(ctx.task.params, "scan");
    if (ctx.inputs.size() == 1) return Value(last_slice(p, ctx.inputs[0]->array()));
    if (ctx.inputs.size() != 2) throw ProtocolError("scan carry with {} inputs", ctx.inputs.size());
    return Value(apply(p, last_slice(p, ctx.inputs[1]->array()), ctx.inputs[0]->array()));
}

// inputs: [scan] or [scan, carry].
Value scan_apply_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<ScanParams>(ctx.task.params, "scan");
    if (ctx.inputs.size() == 1) return *ctx.inputs[0];
    if (ctx.inputs.size() != 2) throw ProtocolError("scan apply with {} inputs", ctx.inputs.size());
    return Value(apply(p, ctx.inputs[0]->array(), ctx.inputs[1]->array()));
}

struct ScanOps {
    OpId block, carry, apply;
};

const ScanOps& scan_ops() {
    static const ScanOps ops{register_op("tessera.scan_block", &scan_block_op),
                             register_op("tessera.scan_carry", &scan_carry_op),
                             register_op("tessera.scan_apply", &scan_apply_op)};
    return ops;
}

[[maybe_unused]] const ScanOps& scan_ops_registered = scan_ops();

class ScanNode final : public ArrayNode {
public:
    ScanNode(NodePtr input, ScanParams params, std::uint64_t token)
        : ArrayNode(scan_name(params.scan_kind()), params.out_dtype(), input->chunks(), {input}, token),
          params_(params) {}

protected:
    void lower_tasks(LowerContext& ctx) const override {
        const ArrayNode& in = *inputs()[0];
        in.lower(ctx);
        const ScanOps& ops = scan_ops();
        const std::string token = name().substr(op().size() + 1);
        const std::string block_name = op() + "_block-" + token;
        const std::string carry_name = op() + "_carry-" + token;
        const std::string params = encode_shape_params(params_);
        const auto ax = static_cast<std::size_t>(params_.axis);
        for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> block) {
            const std::vector<std::int64_t> index(block.begin(), block.end());
            const std::int64_t bytes = shape_size(chunks().block_shape(block)) * dtype().itemsize();
            Task scan;
            scan.key = Key(block_name, index);
            scan.op = ops.block;
            scan.params = params;
            scan.deps = {in.block_key(block)};
            scan.nbytes_hint = bytes;
            ctx.graph.add(std::move(scan));

            Task out;
            out.key = block_key(block);
            out.op = ops.apply;
            out.params = params;
            out.deps = {Key(block_name, index)};
            out.nbytes_hint = bytes;
            if (index[ax] > 0) {
                std::vector<std::int64_t> prev = index;
                --prev[ax];
                Task carry;
                carry.key = Key(carry_name, index);
                carry.op = ops.carry;
                carry.params = params;
                if (prev[ax] > 0) carry.deps.push_back(Key(carry_name, prev));
                carry.deps.push_back(Key(block_name, prev));
                carry.nbytes_hint = bytes / std::max<std::int64_t>(chunks().sizes(params_.axis)[index[ax]], 1);
                ctx.graph.add(std::move(carry));
                out.deps.push_back(Key(carry_name, index));
            }
            ctx.graph.add(std::move(out));
        });
    }

private:
    ScanParams params_;
};

Array scan(ScanKind kind, const Array& a, std::optional<std::int64_t> axis, std::optional<DType> dtype) {
    const DType out = dtype.value_or(sum_dtype(a.dtype()));
    if (out.is_bool()) throw NotImplemented("{} with dtype bool is not supported", scan_name(kind));
    Array x = a;
    std::int64_t ax = 0;
    if (axis) ax = normalize_axis(*axis, a.ndim());
    else x = ravel(a);
    ScanParams p;
    p.kind = static_cast<std::uint8_t>(kind);
    p.axis = ax;
    p.dtype = static_cast<std::uint8_t>(out.id());
    Tokenizer tok;
    tok.add(std::int64_t{p.kind}).add(p.axis).add(std::int64_t{p.dtype});
    return Array(std::make_shared<ScanNode>(x.node(), p, tok.digest()));
}

}  // namespace
}  // namespace tessera::detail

namespace tessera {

using detail::ScanKind;

Array cumsum(const Array& a, std::optional<std::int64_t> axis, std::optional<DType> dtype) {
    return detail::scan(ScanKind::CumSum, a, axis, dtype);
}
Array cumprod(const Array& a, std::optional<std::int64_t> axis, std::optional<DType> dtype) {
    return detail::scan(ScanKind::CumProd, a, axis, dtype);
}
Array nancumsum(const Array& a, std::optional<std::int64_t> axis, std::optional<DType> dtype) {
    return detail::scan(ScanKind::NanCumSum, a, axis, dtype);
}
Array nancumprod(const Array& a, std::optional<std::int64_t> axis, std::optional<DType> dtype) {
    return detail::scan(ScanKind::NanCumProd, a, axis, dtype);
}

}  // namespace tessera
