// Tree reductions after the chunk stage: parameters' encoding, merging partials (Chan's formula
// for variances) and the final conversion. The chunk stage is in array/reduction_chunk.cpp.
#include "array/reduction_kernels.hpp"

#include <cmath>
#include <complex>
#include <limits>
#include <sstream>
#include <type_traits>

#include <cereal/archives/binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "array/reduction_math.hpp"
#include "src/dispatch.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {

namespace {

using namespace rmath;

// ------------------------------------------------------------------------------ merging

template <class F>
decltype(auto) visit_acc(DType dtype, F&& f) {
    switch (dtype.id()) {
        case DTypeId::Int64: return f(std::type_identity<std::int64_t>{});
        case DTypeId::UInt64: return f(std::type_identity<std::uint64_t>{});
        case DTypeId::Float64: return f(std::type_identity<double>{});
        case DTypeId::Complex128: return f(std::type_identity<std::complex<double>>{});
        default: throw ProtocolError("reduction partial of unexpected dtype {}", dtype);
    }
}

const NDArray& part(const ValueList& list, std::size_t k, std::size_t expected) {
    if (list.size() != expected || !list[k].is_array())
        throw ProtocolError("malformed reduction partial: expected {} arrays, got {}", expected, list.size());
    return list[k].array();
}

void check_same_shape(const NDArray& a, const NDArray& b) {
    if (a.shape() != b.shape() || a.dtype() != b.dtype())
        throw ProtocolError("reduction partials do not match: {} {} and {} {}", a.dtype(),
                            shape_str(a.shape()), b.dtype(), shape_str(b.shape()));
}

template <class T, class F>
void zip_into(NDArray& acc, const NDArray& other, F&& f) {
    check_same_shape(acc, other);
    NDArray b = other.contiguous();
    T* a = acc.data<T>();
    const T* y = b.data<T>();
    for (std::int64_t i = 0, n = acc.size(); i < n; ++i) a[i] = f(a[i], y[i]);
}

/// Merges `b` into `a` (both lists of this kind's partials; `a` owns its buffers).
void merge_into(const ReduceParams& p, ValueList& a, const ValueList& b) {
    switch (p.kind) {
        case ReduceKind::Sum:
        case ReduceKind::NanSum:
        case ReduceKind::Prod: {
            NDArray acc = part(a, 0, 1);
            const NDArray& y = part(b, 0, 1);
            check_same_shape(acc, y);
            NDArray yc = y.contiguous();
            const bool mul = p.kind == ReduceKind::Prod;
            visit_acc(acc.dtype(), [&](auto tag) {
                using A = typename decltype(tag)::type;
                A* x = acc.data<A>();
                const A* v = yc.data<A>();
                for (std::int64_t i = 0, n = acc.size(); i < n; ++i)
                    x[i] = mul ? acc_mul(x[i], v[i]) : acc_add(x[i], v[i]);
            });
            return;
        }
        case ReduceKind::Mean:
        case ReduceKind::NanMean: {
            NDArray count = part(a, 0, 2), sum = part(a, 1, 2);
            const NDArray &count_b = part(b, 0, 2), sum_b = part(b, 1, 2);
            check_same_shape(count, count_b);
            check_same_shape(sum, sum_b);
            NDArray cb = count_b.contiguous(), sb = sum_b.contiguous();
            std::int64_t* c = count.data<std::int64_t>();
            const std::int64_t* d = cb.data<std::int64_t>();
            for (std::int64_t i = 0, n = count.size(); i < n; ++i) c[i] += d[i];
            visit_acc(sum.dtype(), [&](auto tag) {
                using A = typename decltype(tag)::type;
                A* x = sum.data<A>();
                const A* v = sb.data<A>();
                for (std::int64_t i = 0, n = sum.size(); i < n; ++i) x[i] = acc_add(x[i], v[i]);
            });
            return;
        }
        case ReduceKind::Var:
        case ReduceKind::Std:
        case ReduceKind::NanVar:
        case ReduceKind::NanStd: {
            NDArray count = part(a, 0, 3), mean = part(a, 1, 3), m2 = part(a, 2, 3);
            NDArray cb = part(b, 0, 3).contiguous(), mb = part(b, 1, 3).contiguous(),
                    qb = part(b, 2, 3).contiguous();
            check_same_shape(count, cb);
            check_same_shape(mean, mb);
            check_same_shape(m2, qb);
            std::int64_t* na = count.data<std::int64_t>();
            const std::int64_t* nb = cb.data<std::int64_t>();
            double* qa = m2.data<double>();
            const double* qv = qb.data<double>();
            auto chan = [&](auto* ma, const auto* mv) {
                // Chan, Golub & LeVeque's pairwise update of (count, mean, M2).
                for (std::int64_t i = 0, n = count.size(); i < n; ++i) {
                    if (nb[i] == 0) continue;
                    if (na[i] == 0) {
                        na[i] = nb[i], ma[i] = mv[i], qa[i] = qv[i];
                        continue;
                    }
                    const double total = static_cast<double>(na[i] + nb[i]);
                    const auto delta = mv[i] - ma[i];
                    ma[i] += delta * (static_cast<double>(nb[i]) / total);
                    qa[i] += qv[i] + abs2(delta) * (static_cast<double>(na[i]) * static_cast<double>(nb[i]) / total);
                    na[i] += nb[i];
                }
            };
            if (mean.dtype() == complex128)
                chan(mean.data<std::complex<double>>(), mb.data<std::complex<double>>());
            else if (mean.dtype() == float64)
                chan(mean.data<double>(), mb.data<double>());
            else
                throw ProtocolError("reduction partial of unexpected dtype {}", mean.dtype());
            return;
        }
        case ReduceKind::Min:
        case ReduceKind::Max:
        case ReduceKind::NanMin:
        case ReduceKind::NanMax: {
            NDArray acc = part(a, 0, 1);
            const bool is_max = p.kind == ReduceKind::Max || p.kind == ReduceKind::NanMax;
            const bool skip = skips_nan(p.kind);
            if (acc.dtype().is_complex())
                throw NotImplemented("{} of complex dtype {} is not supported", reduce_name(p.kind), acc.dtype());
            visit_real_dtype(acc.dtype(), reduce_name(p.kind), [&](auto tag) {
                using T = typename decltype(tag)::type;
                zip_into<T>(acc, part(b, 0, 1), [&](T x, T y) { return pick(x, y, is_max, skip); });
            });
            return;
        }
        case ReduceKind::Any:
        case ReduceKind::All: {
            NDArray acc = part(a, 0, 1);
            const bool is_all = p.kind == ReduceKind::All;
            if (acc.dtype() != bool_) throw ProtocolError("reduction partial of unexpected dtype {}", acc.dtype());
            zip_into<bool>(acc, part(b, 0, 1), [&](bool x, bool y) { return is_all ? (x && y) : (x || y); });
            return;
        }
    }
}

Shape drop_reduced(const Shape& partial_shape, std::span<const std::int64_t> axes) {
    Shape out;
    std::size_t next = 0;
    for (std::int64_t axis = 0; axis < static_cast<std::int64_t>(partial_shape.size()); ++axis) {
        if (next < axes.size() && axes[next] == axis) {
            ++next;
            continue;
        }
        out.push_back(partial_shape[static_cast<std::size_t>(axis)]);
    }
    return out;
}

}  // namespace

// ------------------------------------------------------------------------------ public

std::string_view reduce_name(ReduceKind kind) {
    static constexpr std::string_view names[] = {"sum",    "prod",    "mean",   "var",    "std",
                                                 "min",    "max",     "any",    "all",    "nansum",
                                                 "nanmean", "nanvar", "nanstd", "nanmin", "nanmax"};
    return names[static_cast<std::size_t>(kind)];
}

std::string encode_params(const ReduceParams& p) {
    std::ostringstream os(std::ios::binary);
    {
        cereal::BinaryOutputArchive ar(os);
        ar(static_cast<std::uint8_t>(p.kind), static_cast<std::uint8_t>(p.compute_dtype.id()),
           static_cast<std::uint8_t>(p.out_dtype.id()), p.zero_nans, p.int_mean, p.keepdims, p.ddof,
           p.axes, p.partial_shape, p.program);
    }
    return std::move(os).str();
}

ReduceParams decode_params(std::string_view bytes) {
    ReduceParams p;
    std::uint8_t kind = 0, compute = 0, out = 0;
    try {
        std::istringstream is(std::string(bytes), std::ios::binary);
        cereal::BinaryInputArchive ar(is);
        ar(kind, compute, out, p.zero_nans, p.int_mean, p.keepdims, p.ddof, p.axes, p.partial_shape,
           p.program);
    } catch (const cereal::Exception& e) {
        throw ProtocolError("malformed reduction parameters ({} bytes): {}", bytes.size(), e.what());
    }
    if (kind > static_cast<std::uint8_t>(ReduceKind::NanMax) || compute >= kNumDTypes || out >= kNumDTypes)
        throw ProtocolError("malformed reduction parameters: kind {}, dtypes {} {}", kind, compute, out);
    p.kind = static_cast<ReduceKind>(kind);
    p.compute_dtype = DType(static_cast<DTypeId>(compute));
    p.out_dtype = DType(static_cast<DTypeId>(out));
    return p;
}

ValueList merge_partials(const ReduceParams& p, std::span<const Value* const> parts) {
    TESSERA_ASSERT(!parts.empty(), "merging no partials");
    ValueList acc;
    for (const Value& v : parts[0]->list()) {
        if (!v.is_array()) throw ProtocolError("malformed reduction partial: {}", v.describe());
        acc.emplace_back(v.array().copy());
    }
    for (std::size_t k = 1; k < parts.size(); ++k) merge_into(p, acc, parts[k]->list());
    return acc;
}

NDArray finalize_partials(const ReduceParams& p, const ValueList& partials) {
    NDArray out;
    switch (p.kind) {
        case ReduceKind::Sum:
        case ReduceKind::NanSum:
        case ReduceKind::Prod:
            out = part(partials, 0, 1).astype(p.out_dtype);
            break;
        case ReduceKind::Mean:
        case ReduceKind::NanMean: {
            NDArray count = part(partials, 0, 2).contiguous(), sum = part(partials, 1, 2).contiguous();
            const std::int64_t* c = count.data<std::int64_t>();
            if (p.int_mean) {
                // NumPy: the sum wraps in the integer dtype, then true_divide casts back.
                NDArray wrapped = sum.astype(p.out_dtype);
                out = NDArray::empty(p.out_dtype, sum.shape());
                visit_real_dtype(p.out_dtype, "mean", [&](auto tag) {
                    using R = typename decltype(tag)::type;
                    const R* s = wrapped.data<R>();
                    R* o = out.data<R>();
                    for (std::int64_t i = 0, n = out.size(); i < n; ++i)
                        o[i] = element_cast<R>(static_cast<double>(s[i]) / static_cast<double>(c[i]));
                });
                break;
            }
            NDArray mean = NDArray::empty(sum.dtype(), sum.shape());
            visit_acc(sum.dtype(), [&](auto tag) {
                using A = typename decltype(tag)::type;
                if constexpr (std::is_floating_point_v<A> || is_complex_v<A>) {
                    const A* s = sum.data<A>();
                    A* m = mean.data<A>();
                    for (std::int64_t i = 0, n = mean.size(); i < n; ++i) m[i] = s[i] / static_cast<double>(c[i]);
                } else {
                    throw ProtocolError("mean partial of unexpected dtype {}", sum.dtype());
                }
            });
            out = mean.astype(p.out_dtype);
            break;
        }
        case ReduceKind::Var:
        case ReduceKind::Std:
        case ReduceKind::NanVar:
        case ReduceKind::NanStd: {
            NDArray count = part(partials, 0, 3).contiguous(), m2 = part(partials, 2, 3).contiguous();
            const std::int64_t* c = count.data<std::int64_t>();
            const double* q = m2.data<double>();
            NDArray var = NDArray::empty(float64, m2.shape());
            double* v = var.data<double>();
            const bool nan_kind = skips_nan(p.kind);
            const bool take_sqrt = p.kind == ReduceKind::Std || p.kind == ReduceKind::NanStd;
            for (std::int64_t i = 0, n = var.size(); i < n; ++i) {
                const std::int64_t dof = c[i] - p.ddof;
                // NumPy: var divides by max(n - ddof, 0) (inf or NaN); nanvar gives NaN.
                double r;
                if (dof <= 0 && nan_kind) r = std::numeric_limits<double>::quiet_NaN();
                else r = q[i] / static_cast<double>(dof > 0 ? dof : 0);
                v[i] = take_sqrt ? std::sqrt(r) : r;
            }
            out = var.astype(p.out_dtype);
            break;
        }
        case ReduceKind::Min:
        case ReduceKind::Max:
        case ReduceKind::NanMin:
        case ReduceKind::NanMax:
        case ReduceKind::Any:
        case ReduceKind::All:
            out = part(partials, 0, 1).astype(p.out_dtype);
            break;
    }
    if (!p.keepdims) out = out.reshape(drop_reduced(out.shape(), p.axes));
    return out;
}

}  // namespace tessera::detail
