// The chunk stage of tree reductions: the partials of one block (layout in
// array/reduction_kernels.hpp). Floating sums are pairwise like NumPy's, accumulated in float64
// (or complex128) whatever the input precision; variances take two passes over the block.
#include <algorithm>
#include <limits>
#include <vector>

#include "array/reduction_kernels.hpp"
#include "array/reduction_math.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {

namespace {

using namespace rmath;

/// A block seen as `outer` output elements × `length` inputs each. Lanes: the inputs of an
/// output are contiguous (x[o * length + r]); rows: the reduced axes lead a contiguous block
/// (x[r * outer + o], e.g. column sums), which is reduced in place, row by row.
template <class T>
struct Layout {
    const T* data = nullptr;
    std::int64_t outer = 1;
    std::int64_t length = 1;
    bool rows = false;
};

/// acc[o] += Σ_r f(x[r, o], o) over `rows` rows: up to 128 rows in order, halves above (the
/// pairwise scheme applied to rows).
template <class A, class T, class F>
void row_sum(const T* x, std::int64_t rows, std::int64_t outer, const F& f, A* acc) {
    if (rows <= 128) {
        for (std::int64_t r = 0; r < rows; ++r) {
            const T* row = x + r * outer;
            for (std::int64_t o = 0; o < outer; ++o) acc[o] += f(row[o], o);
        }
        return;
    }
    const std::int64_t half = rows / 2;
    row_sum<A>(x, half, outer, f, acc);
    std::vector<A> tail(static_cast<std::size_t>(outer), A(0));
    row_sum<A>(x + half * outer, rows - half, outer, f, tail.data());
    for (std::int64_t o = 0; o < outer; ++o) acc[o] += tail[static_cast<std::size_t>(o)];
}

/// out[o] = fold of g(acc, x) over output o's inputs, in order, starting from `init`.
template <class A, class T, class G>
void fold_into(const Layout<T>& l, A* out, A init, const G& g) {
    if (l.outer == 0) return;
    if (!l.rows) {
        for (std::int64_t o = 0; o < l.outer; ++o) {
            const T* lane = l.data + o * l.length;
            A acc = init;
            for (std::int64_t r = 0; r < l.length; ++r) acc = g(acc, lane[r]);
            out[o] = acc;
        }
        return;
    }
    std::fill(out, out + l.outer, init);
    for (std::int64_t r = 0; r < l.length; ++r) {
        const T* row = l.data + r * l.outer;
        for (std::int64_t o = 0; o < l.outer; ++o) out[o] = g(out[o], row[o]);
    }
}

/// out[o] = Σ f(x, o) over output o's inputs: exact wrapping sums for integers, pairwise sums
/// otherwise.
template <class A, class T, class F>
void sum_into(const Layout<T>& l, A* out, const F& f) {
    if (l.outer == 0) return;
    if constexpr (std::is_integral_v<A>) {
        if (!l.rows) {
            for (std::int64_t o = 0; o < l.outer; ++o) {
                const T* lane = l.data + o * l.length;
                A acc = 0;
                for (std::int64_t r = 0; r < l.length; ++r) acc = acc_add(acc, f(lane[r], o));
                out[o] = acc;
            }
            return;
        }
        std::fill(out, out + l.outer, A(0));
        for (std::int64_t r = 0; r < l.length; ++r) {
            const T* row = l.data + r * l.outer;
            for (std::int64_t o = 0; o < l.outer; ++o) out[o] = acc_add(out[o], f(row[o], o));
        }
    } else {
        if (!l.rows) {
            for (std::int64_t o = 0; o < l.outer; ++o)
                out[o] = pairwise_sum<A>(l.data + o * l.length, l.length, [&](T v) { return f(v, o); });
            return;
        }
        std::fill(out, out + l.outer, A(0));
        row_sum<A>(l.data, l.length, l.outer, f, out);
    }
}

/// Sums of the values (NaN counted as 0 when `skip`) in accumulator A.
template <class A, class T>
void sum_values(const Layout<T>& l, A* out, bool skip) {
    if (skip && (std::is_floating_point_v<T> || is_complex_v<T>))
        sum_into<A>(l, out, [](T v, std::int64_t) { return is_nan(v) ? A(0) : to_acc<A>(v); });
    else
        sum_into<A>(l, out, [](T v, std::int64_t) { return to_acc<A>(v); });
}

/// Number of values (non-NaN values when `skip`) per output.
template <class T>
NDArray count_values(const Layout<T>& l, const Shape& shape, bool skip) {
    NDArray count = NDArray::empty(int64, shape);
    if (l.outer == 0) return count;
    std::int64_t* c = count.data<std::int64_t>();
    if (skip && (std::is_floating_point_v<T> || is_complex_v<T>))
        sum_into<std::int64_t>(l, c, [](T v, std::int64_t) { return std::int64_t{is_nan(v) ? 0 : 1}; });
    else
        std::fill(c, c + l.outer, l.length);
    return count;
}

template <class T>
ValueList chunk_kernel(const ReduceParams& p, const Layout<T>& l, const Shape& shape) {
    const bool skip = skips_nan(p.kind);
    switch (p.kind) {
        case ReduceKind::Sum:
        case ReduceKind::NanSum: {
            using A = natural_acc_t<T>;
            NDArray out = NDArray::empty(dtype_of<A>(), shape);
            if (l.outer > 0) sum_values<A>(l, out.data<A>(), skip);
            return {out};
        }
        case ReduceKind::Prod: {
            using A = natural_acc_t<T>;
            NDArray out = NDArray::empty(dtype_of<A>(), shape);
            if (l.outer > 0)
                fold_into<A>(l, out.data<A>(), A(1), [](A acc, T v) { return acc_mul(acc, to_acc<A>(v)); });
            return {out};
        }
        case ReduceKind::Mean:
        case ReduceKind::NanMean: {
            NDArray count = count_values(l, shape, skip);
            auto sums = [&](auto acc_tag) {
                using A = typename decltype(acc_tag)::type;
                NDArray out = NDArray::empty(dtype_of<A>(), shape);
                if (l.outer > 0) sum_values<A>(l, out.data<A>(), skip);
                return ValueList{count, out};
            };
            if constexpr (!is_complex_v<T>) {
                // An explicit integer dtype= sums in (wrapping) integers like NumPy.
                if (p.int_mean) return sums(std::type_identity<natural_acc_t<T>>{});
            }
            return sums(std::type_identity<real_acc_t<T>>{});
        }
        case ReduceKind::Var:
        case ReduceKind::Std:
        case ReduceKind::NanVar:
        case ReduceKind::NanStd: {
            using M = real_acc_t<T>;
            NDArray count = count_values(l, shape, skip);
            NDArray mean = NDArray::empty(dtype_of<M>(), shape);
            NDArray m2 = NDArray::empty(float64, shape);
            if (l.outer > 0) {
                const std::int64_t* c = count.data<std::int64_t>();
                M* mu = mean.data<M>();
                sum_values<M>(l, mu, skip);
                for (std::int64_t o = 0; o < l.outer; ++o) mu[o] = c[o] > 0 ? mu[o] / static_cast<double>(c[o]) : M(0);
                // Second pass over the in-memory block: squared deviations from the block mean.
                double* q = m2.data<double>();
                if (skip)
                    sum_into<double>(l, q, [mu](T v, std::int64_t o) { return is_nan(v) ? 0.0 : abs2(to_acc<M>(v) - mu[o]); });
                else
                    sum_into<double>(l, q, [mu](T v, std::int64_t o) { return abs2(to_acc<M>(v) - mu[o]); });
            }
            return {count, mean, m2};
        }
        case ReduceKind::Min:
        case ReduceKind::Max:
        case ReduceKind::NanMin:
        case ReduceKind::NanMax: {
            if constexpr (is_complex_v<T>) {
                throw NotImplemented("{} of complex dtype {} is not supported", reduce_name(p.kind), dtype_of<T>());
            } else {
                const bool is_max = p.kind == ReduceKind::Max || p.kind == ReduceKind::NanMax;
                // The identity of empty blocks: ±inf, the integer limits, or NaN ("no value")
                // for nanmin/nanmax.
                T init;
                if constexpr (std::is_floating_point_v<T>)
                    init = skip ? std::numeric_limits<T>::quiet_NaN()
                                : (is_max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity());
                else if constexpr (std::is_same_v<T, bool>)
                    init = !is_max;
                else
                    init = is_max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
                NDArray out = NDArray::empty(dtype_of<T>(), shape);
                if (l.outer > 0)
                    fold_into<T>(l, out.data<T>(), init, [&](T acc, T v) { return pick(acc, v, is_max, skip); });
                return {out};
            }
        }
        case ReduceKind::Any:
        case ReduceKind::All: {
            const bool is_all = p.kind == ReduceKind::All;
            NDArray out = NDArray::empty(bool_, shape);
            if (l.outer > 0)
                fold_into<bool>(l, out.data<bool>(), is_all, [is_all](bool acc, T v) {
                    return is_all ? (acc && v != T(0)) : (acc || v != T(0));
                });
            return {out};
        }
    }
    TESSERA_ASSERT(false, "unknown reduction kind");
    return {};
}

NDArray zero_nans(const NDArray& block) {
    return visit_dtype(block.dtype(), [&](auto tag) -> NDArray {
        using T = typename decltype(tag)::type;
        if constexpr (std::is_floating_point_v<T> || is_complex_v<T>) {
            NDArray out = block.copy();
            T* p = out.data<T>();
            for (std::int64_t i = 0, n = out.size(); i < n; ++i)
                if (is_nan(p[i])) p[i] = T(0);
            return out;
        } else {
            return block;
        }
    });
}

}  // namespace

ValueList reduce_block(const ReduceParams& p, const NDArray& block) {
    const std::int64_t ndim = block.ndim();
    for (auto axis : p.axes)
        if (axis < 0 || axis >= ndim)
            throw ProtocolError("reduced axis {} does not exist in a block of shape {}", axis, shape_str(block.shape()));
    NDArray b = p.zero_nans ? zero_nans(block) : block;
    if (b.dtype() != p.compute_dtype) b = b.astype(p.compute_dtype);

    // Geometry: outputs keep the non-reduced axes (reduced ones become 1).
    const auto k = static_cast<std::int64_t>(p.axes.size());
    std::vector<bool> reduced(static_cast<std::size_t>(ndim), false);
    for (auto axis : p.axes) reduced[static_cast<std::size_t>(axis)] = true;
    Shape shape;
    std::int64_t outer = 1, length = 1;
    bool prefix = true, suffix = true;
    std::vector<std::int64_t> perm;
    for (std::int64_t axis = 0; axis < ndim; ++axis) {
        const bool r = reduced[static_cast<std::size_t>(axis)];
        shape.push_back(r ? 1 : b.shape(axis));
        (r ? length : outer) *= b.shape(axis);
        prefix = prefix && (r == (axis < k));
        suffix = suffix && (r == (axis >= ndim - k));
        if (!r) perm.push_back(axis);
    }
    perm.insert(perm.end(), p.axes.begin(), p.axes.end());
    bool rows = false;
    if (!(b.is_contiguous() && (suffix || outer == 1 || length == 1))) {
        if (b.is_contiguous() && prefix) rows = true;
        else b = b.transpose(perm).copy();  // lanes: non-reduced axes first
    }
    return visit_dtype(b.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        Layout<T> l{outer * length > 0 ? b.data<T>() : nullptr, outer, length, rows};
        return chunk_kernel<T>(p, l, shape);
    });
}

ValueList identity_partials(const ReduceParams& p) {
    Shape empty_shape = p.partial_shape;
    for (auto axis : p.axes) empty_shape.at(static_cast<std::size_t>(axis)) = 0;
    return reduce_block(p, NDArray::zeros(p.compute_dtype, empty_shape));
}

}  // namespace tessera::detail
