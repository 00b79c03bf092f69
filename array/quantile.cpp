// median / quantile / percentile and their nan* forms, exactly, as in Dask: the reduced axes are
// rechunked to a single block, then every block is reduced on its own ("tessera.quantile").
// NumPy 1.24's 'linear' method (Hyndman & Fan 7) including its _lerp rounding: the difference
// of the neighbours is taken in the input dtype for floats (float64 for integers, where NumPy
// would wrap), and b - diff·(1 - t) is used when t >= 0.5. median is the mean of the two middle
// values (in float32 for float32 input, like np.mean).
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include <cereal/types/vector.hpp>

#include "array/shape_ops.hpp"
#include "array/tree_reduce.hpp"
#include "src/dispatch.hpp"
#include "tessera/error.hpp"
#include "tessera/reductions.hpp"

namespace tessera::detail {

namespace {

enum class QuantileKind : std::uint8_t { Quantile, NanQuantile, Median, NanMedian };

struct QuantileParams {
    std::uint8_t kind = 0;
    std::vector<double> qs;
    std::vector<std::int64_t> axes;  // reduced, sorted
    bool keepdims = false;
    bool q_axis = false;  // a leading axis of len(qs)
    std::uint8_t dtype = 0;

    template <class Archive>
    void serialize(Archive& ar) {
        ar(kind, qs, axes, keepdims, q_axis, dtype);
    }
    QuantileKind quantile_kind() const { return static_cast<QuantileKind>(kind); }
    bool skip_nan() const {
        return quantile_kind() == QuantileKind::NanQuantile || quantile_kind() == QuantileKind::NanMedian;
    }
    bool is_median() const {
        return quantile_kind() == QuantileKind::Median || quantile_kind() == QuantileKind::NanMedian;
    }
};

template <class T>
bool nan_elem(T v) {
    if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
    else return false;
}

/// NumPy's linear quantile of the sorted, NaN-free `v` (n >= 1).
template <class T>
double linear_quantile(const std::vector<T>& v, double q) {
    const auto n = static_cast<std::int64_t>(v.size());
    const double vi = static_cast<double>(n - 1) * q;
    std::int64_t prev, next;
    double gamma;
    // _get_indexes: above the last index both neighbours are the last element and the previous
    // index becomes -1, which _get_gamma then subtracts.
    if (vi >= static_cast<double>(n - 1)) {
        prev = next = n - 1;
        gamma = vi + 1.0;
    } else {
        const double fl = std::floor(vi);
        prev = static_cast<std::int64_t>(fl);
        next = prev + 1;
        gamma = vi - fl;
    }
    const T a = v[static_cast<std::size_t>(prev)], b = v[static_cast<std::size_t>(next)];
    double diff;
    if constexpr (std::is_floating_point_v<T>) diff = static_cast<double>(static_cast<T>(b - a));
    else diff = static_cast<double>(b) - static_cast<double>(a);
    if (gamma >= 0.5) return static_cast<double>(b) - diff * (1.0 - gamma);
    return static_cast<double>(a) + diff * gamma;
}

template <class T, class O>
void quantile_rows(const QuantileParams& p, const T* x, std::int64_t outer, std::int64_t n, O* out) {
    const auto nq = static_cast<std::int64_t>(p.is_median() ? 1 : p.qs.size());
    const O nan = std::numeric_limits<O>::quiet_NaN();
    std::vector<T> row;
    for (std::int64_t o = 0; o < outer; ++o) {
        row.assign(x + o * n, x + (o + 1) * n);
        bool has_nan = false;
        if (p.skip_nan()) row.erase(std::remove_if(row.begin(), row.end(), [](T v) { return nan_elem(v); }), row.end());
        else has_nan = std::any_of(row.begin(), row.end(), [](T v) { return nan_elem(v); });
        if (has_nan || row.empty()) {
            for (std::int64_t k = 0; k < nq; ++k) out[k * outer + o] = nan;
            continue;
        }
        std::sort(row.begin(), row.end());
        if (p.is_median()) {
            const std::size_t m = row.size() / 2;
            if (row.size() % 2 == 1) out[o] = static_cast<O>(row[m]);
            else out[o] = (static_cast<O>(row[m - 1]) + static_cast<O>(row[m])) / O(2);
            continue;
        }
        for (std::int64_t k = 0; k < nq; ++k)
            out[k * outer + o] = static_cast<O>(linear_quantile(row, p.qs[static_cast<std::size_t>(k)]));
    }
}

Value quantile_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<QuantileParams>(ctx.task.params, "quantile");
    if (ctx.inputs.size() != 1) throw ProtocolError("quantile: {} inputs instead of 1", ctx.inputs.size());
    const NDArray& block = ctx.inputs[0]->array();
    const std::int64_t ndim = block.ndim();
    std::vector<std::int64_t> perm;
    Shape out_shape;
    if (p.q_axis) out_shape.push_back(static_cast<std::int64_t>(p.qs.size()));
    std::int64_t outer = 1, n = 1;
    for (std::int64_t a = 0; a < ndim; ++a) {
        const bool reduced = std::binary_search(p.axes.begin(), p.axes.end(), a);
        if (!reduced) {
            perm.push_back(a);
            out_shape.push_back(block.shape(a));
            outer *= block.shape(a);
        } else {
            n *= block.shape(a);
            if (p.keepdims) out_shape.push_back(1);
        }
    }
    perm.insert(perm.end(), p.axes.begin(), p.axes.end());
    const NDArray t = block.transpose(perm).contiguous();
    const DType out_dtype(static_cast<DTypeId>(p.dtype));
    NDArray out = NDArray::empty(out_dtype, out_shape);
    if (out.size() == 0) return Value(out);
    visit_real_dtype(t.dtype(), "quantile", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* x = t.size() > 0 ? t.data<T>() : nullptr;
        if (out_dtype == float32) quantile_rows<T, float>(p, x, outer, n, out.data<float>());
        else quantile_rows<T, double>(p, x, outer, n, out.data<double>());
    });
    return Value(out);
}

OpId quantile_op_id() {
    static const OpId id = register_op("tessera.quantile", &quantile_op);
    return id;
}

[[maybe_unused]] const OpId quantile_registered = quantile_op_id();

const char* kind_name(QuantileKind k, bool percent) {
    switch (k) {
        case QuantileKind::Quantile: return percent ? "percentile" : "quantile";
        case QuantileKind::NanQuantile: return percent ? "nanpercentile" : "nanquantile";
        case QuantileKind::Median: return "median";
        case QuantileKind::NanMedian: return "nanmedian";
    }
    return "?";
}

Array quantile_impl(QuantileKind kind, const Array& a, std::vector<double> qs, bool q_axis, bool percent,
                    const Axes& axis, const QuantileOptions& options) {
    const char* name = kind_name(kind, percent);
    if (a.dtype().is_bool() || a.dtype().is_complex())
        throw DTypeError("{} of dtype {} is not supported", name, a.dtype());
    for (auto& q : qs) {
        if (percent) q = q / 100.0;
        if (!(q >= 0.0 && q <= 1.0)) {
            if (percent) throw ValueError("Percentiles must be in the range [0, 100]");
            throw ValueError("Quantiles must be in the range [0, 1]");
        }
    }
    QuantileParams p;
    p.kind = static_cast<std::uint8_t>(kind);
    p.qs = std::move(qs);
    p.keepdims = options.keepdims;
    p.q_axis = q_axis;
    const bool median = kind == QuantileKind::Median || kind == QuantileKind::NanMedian;
    p.dtype = static_cast<std::uint8_t>((median && a.dtype() == float32 ? float32 : float64).id());
    if (axis.all()) {
        for (std::int64_t ax = 0; ax < a.ndim(); ++ax) p.axes.push_back(ax);
    } else {
        p.axes = normalize_axes(axis.list(), a.ndim());
    }
    std::int64_t n = 1;
    for (auto ax : p.axes) n *= a.shape(ax);
    if (n == 0 && kind == QuantileKind::Quantile) throw IndexError("cannot do a non-empty take from an empty axes.");

    // The reduced axes become one block each (like Dask); the others keep their chunks.
    std::vector<BlockSizes> target;
    std::vector<BlockSizes> out_chunks;
    std::vector<std::int64_t> source_axis;
    if (q_axis) out_chunks.push_back({static_cast<std::int64_t>(p.qs.size())});
    for (std::int64_t ax = 0; ax < a.ndim(); ++ax) {
        if (std::binary_search(p.axes.begin(), p.axes.end(), ax)) {
            target.push_back({a.shape(ax)});
            source_axis.push_back(-1);
            if (p.keepdims) out_chunks.push_back({1});
        } else {
            target.push_back(a.chunks().sizes(ax));
            source_axis.push_back(static_cast<std::int64_t>(out_chunks.size()));
            out_chunks.push_back(a.chunks().sizes(ax));
        }
    }
    const Array whole = rechunk(a, ChunkSpec(Chunks(std::move(target))));
    std::string params = encode_shape_params(p);
    const std::uint64_t token = params_token(name, params);
    return Array(std::make_shared<BlockMapNode>(name, DType(static_cast<DTypeId>(p.dtype)), Chunks(std::move(out_chunks)),
                                                std::vector<NodePtr>{whole.node()}, quantile_op_id(), std::move(params),
                                                std::move(source_axis), token));
}

}  // namespace
}  // namespace tessera::detail

namespace tessera {

using detail::QuantileKind;
using detail::quantile_impl;

Array quantile(const Array& a, double q, const Axes& axis, const QuantileOptions& o) {
    return quantile_impl(QuantileKind::Quantile, a, {q}, false, false, axis, o);
}
Array quantile(const Array& a, const std::vector<double>& q, const Axes& axis, const QuantileOptions& o) {
    return quantile_impl(QuantileKind::Quantile, a, q, true, false, axis, o);
}
Array percentile(const Array& a, double q, const Axes& axis, const QuantileOptions& o) {
    return quantile_impl(QuantileKind::Quantile, a, {q}, false, true, axis, o);
}
Array percentile(const Array& a, const std::vector<double>& q, const Axes& axis, const QuantileOptions& o) {
    return quantile_impl(QuantileKind::Quantile, a, q, true, true, axis, o);
}
Array nanquantile(const Array& a, double q, const Axes& axis, const QuantileOptions& o) {
    return quantile_impl(QuantileKind::NanQuantile, a, {q}, false, false, axis, o);
}
Array nanquantile(const Array& a, const std::vector<double>& q, const Axes& axis, const QuantileOptions& o) {
    return quantile_impl(QuantileKind::NanQuantile, a, q, true, false, axis, o);
}
Array nanpercentile(const Array& a, double q, const Axes& axis, const QuantileOptions& o) {
    return quantile_impl(QuantileKind::NanQuantile, a, {q}, false, true, axis, o);
}
Array nanpercentile(const Array& a, const std::vector<double>& q, const Axes& axis, const QuantileOptions& o) {
    return quantile_impl(QuantileKind::NanQuantile, a, q, true, true, axis, o);
}
Array median(const Array& a, const Axes& axis, const QuantileOptions& o) {
    return quantile_impl(QuantileKind::Median, a, {}, false, false, axis, o);
}
Array nanmedian(const Array& a, const Axes& axis, const QuantileOptions& o) {
    return quantile_impl(QuantileKind::NanMedian, a, {}, false, false, axis, o);
}

}  // namespace tessera
