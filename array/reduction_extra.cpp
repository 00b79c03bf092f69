// Reductions composed from the public ones: count_nonzero, nanprod, ptp, moment, average.
// The only new task is average's check that the weights do not sum to zero
// ("tessera.nonzero_weights"), which NumPy raises as ZeroDivisionError.
#include <utility>

#include <cereal/types/string.hpp>

#include "array/shape_ops.hpp"
#include "array/tree_reduce.hpp"
#include "src/dispatch.hpp"
#include "tessera/error.hpp"
#include "tessera/reductions.hpp"

namespace tessera::detail {

namespace {

Value nonzero_weights_op(const TaskContext& ctx) {
    if (ctx.inputs.size() != 1) throw ProtocolError("average weights: {} inputs instead of 1", ctx.inputs.size());
    const NDArray& scl = ctx.inputs[0]->array();
    const bool zero = visit_dtype(scl.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        const NDArray c = scl.contiguous();
        const T* x = c.size() > 0 ? c.data<T>() : nullptr;
        for (std::int64_t e = 0, n = c.size(); e < n; ++e)
            if (x[e] == T(0)) return true;
        return false;
    });
    if (zero) throw ValueError("Weights sum to zero, can't be normalized");
    return *ctx.inputs[0];
}

OpId nonzero_weights_id() {
    static const OpId id = register_op("tessera.nonzero_weights", &nonzero_weights_op);
    return id;
}

[[maybe_unused]] const OpId nonzero_weights_registered = nonzero_weights_id();

/// `scl` unchanged, failing at compute time where it holds a zero.
Array check_nonzero_weights(const Array& scl) {
    std::vector<std::int64_t> source_axis;
    for (std::int64_t ax = 0; ax < scl.ndim(); ++ax) source_axis.push_back(ax);
    return Array(std::make_shared<BlockMapNode>("average_weights", scl.dtype(), scl.chunks(),
                                                std::vector<NodePtr>{scl.node()}, nonzero_weights_id(), std::string(),
                                                std::move(source_axis), params_token("average_weights", "")));
}

std::vector<std::int64_t> reduced_axes(const Array& a, const Axes& axis) {
    if (!axis.all()) return normalize_axes(axis.list(), a.ndim());
    std::vector<std::int64_t> axes;
    for (std::int64_t ax = 0; ax < a.ndim(); ++ax) axes.push_back(ax);
    return axes;
}

}  // namespace
}  // namespace tessera::detail

namespace tessera {

Array count_nonzero(const Array& a, const Axes& axis, const ReduceOptions& options) {
    return sum(a != Scalar(0), axis, {.keepdims = options.keepdims, .dtype = int64, .split_every = options.split_every});
}

Array nanprod(const Array& a, const Axes& axis, const ReduceOptions& options) {
    if (a.dtype().is_complex()) throw NotImplemented("nanprod of complex dtype {} is not supported", a.dtype());
    if (!a.dtype().is_floating()) return prod(a, axis, options);
    return prod(where(isnan(a), Scalar(1), a), axis, options);
}

Array ptp(const Array& a, const Axes& axis, const ReduceOptions& options) {
    if (a.dtype().is_bool())
        throw DTypeError(
            "numpy boolean subtract, the `-` operator, is not supported, use the bitwise_xor, the `^` operator, or "
            "the logical_xor function instead.");
    if (options.dtype) throw NotImplemented("the dtype option of ptp is not supported");
    const ReduceOptions o{.keepdims = options.keepdims, .split_every = options.split_every};
    const Array hi = max(a, axis, o);  // first, so an empty axis is reported as NumPy does
    const Array lo = min(a, axis, o);
    return hi - lo;
}

Array moment(const Array& a, std::int64_t order, const Axes& axis, const ReduceOptions& options) {
    if (order < 0) throw ValueError("Order must be an integer >= 0");
    if (options.dtype) throw NotImplemented("the dtype option of moment is not supported");
    const std::vector<std::int64_t> axes = detail::reduced_axes(a, axis);
    const ReduceOptions keep{.keepdims = options.keepdims, .split_every = options.split_every};
    if (order < 2) {
        // By definition 1 (order 0) or 0 (order 1), in float64 like Dask.
        const Array shape_of = sum(a, axes, keep);
        return order == 0 ? ones_like(shape_of).astype(float64) : zeros_like(shape_of).astype(float64);
    }
    const Array centered = a - mean(a, axes, {.keepdims = true, .split_every = options.split_every});
    Array power = centered;
    for (std::int64_t k = 1; k < order; ++k) power = power * centered;
    std::int64_t n = 1;
    for (auto ax : axes) n *= a.shape(ax);
    return sum(power, axes, keep) / Scalar(static_cast<double>(n - options.ddof));
}

Array average(const Array& a, const Axes& axis, const std::optional<Array>& weights, bool keepdims) {
    if (!weights) return mean(a, axis, {.keepdims = keepdims});
    Array w = *weights;
    const std::vector<std::int64_t> axes = detail::reduced_axes(a, axis);
    if (a.shape() != w.shape()) {
        if (axis.all()) throw ShapeError("Axis must be specified when shapes of a and weights differ.");
        if (w.ndim() != 1) throw ShapeError("1D weights expected when shapes of a and weights differ.");
        if (axes.size() != 1) throw NotImplemented("average with 1-d weights over several axes is not supported");
        if (w.shape(0) != a.shape(axes[0])) throw ShapeError("Length of weights not compatible with specified axis.");
        Shape shape(static_cast<std::size_t>(a.ndim()), 1);
        shape[static_cast<std::size_t>(axes[0])] = w.shape(0);
        w = reshape(w, shape);
    }
    const DType dtypes[] = {a.dtype(), w.dtype(), float64};
    const DType result = a.dtype().is_integer() || a.dtype().is_bool()
                             ? result_type(std::span<const DType>(dtypes))
                             : result_type(a.dtype(), w.dtype());
    const ReduceOptions o{.keepdims = keepdims, .dtype = result};
    const Array scl = detail::check_nonzero_weights(sum(w, axes, o));
    return sum(a.astype(result) * w.astype(result), axes, o) / scl;
}

}  // namespace tessera
