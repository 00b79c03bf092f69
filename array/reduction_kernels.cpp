// Tree reductions after the chunk stage: parameters' encoding, merging partials (Chan's formula
// for variances) and the final conversion. The chunk stage is in array/reduction_chunk.cpp.
#include "array/reduction_kernels.hpp"

#include <bit>
#include <cmath>
#include <complex>
#include <cstring>
#include <limits>
#include <type_traits>

#include <fmt/format.h>

#include "array/byte_codec.hpp"
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
void zip_into(NDArray& acc, const NDArray& other, std::int64_t i0, std::int64_t i1, F&& f) {
    check_same_shape(acc, other);
    NDArray b = other.contiguous();
    T* a = acc.data<T>();
    const T* y = b.data<T>();
    for (std::int64_t i = i0; i < i1; ++i) a[i] = f(a[i], y[i]);
}

/// a where keep_a is all ones, b where take_b is, else ab (the masks exclude each other). Bit
/// operations on values computed unconditionally: with a select of FP results, GCC sinks the
/// (possibly trapping) arithmetic into a branch and the loop no longer vectorizes.
inline double select3(std::uint64_t keep_a, std::uint64_t take_b, double a, double b, double ab) {
    const std::uint64_t both = ~(keep_a | take_b);
    const std::uint64_t bits = (std::bit_cast<std::uint64_t>(a) & keep_a) | (std::bit_cast<std::uint64_t>(b) & take_b) |
                               (std::bit_cast<std::uint64_t>(ab) & both);
    return std::bit_cast<double>(bits);
}

/// Chan, Golub & LeVeque's pairwise update of (count, sum, M2) over [i0, i1): a's state takes
/// b's; an empty side keeps the other's M2. Branch-free and unaliased, so the loop vectorizes.
template <class M>
void chan_merge(std::int64_t* __restrict na, M* __restrict sa, double* __restrict qa, const std::int64_t* __restrict nb,
                const M* __restrict sb, const double* __restrict qb, std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) {
        const std::int64_t count_a = na[i], count_b = nb[i];
        const M sum_a = sa[i], sum_b = sb[i];
        const double m2_a = qa[i], m2_b = qb[i];
        const double fa = static_cast<double>(count_a), fb = static_cast<double>(count_b);
        const M delta = sum_b / fb - sum_a / fa;
        const double m2_ab = m2_a + (m2_b + abs2(delta) * (fa * fb / static_cast<double>(count_a + count_b)));
        const std::uint64_t keep_a = std::uint64_t{0} - static_cast<std::uint64_t>(count_b == 0);
        const std::uint64_t take_b = std::uint64_t{0} - static_cast<std::uint64_t>(count_a == 0 && count_b != 0);
        qa[i] = select3(keep_a, take_b, m2_a, m2_b, m2_ab);
        sa[i] = acc_add(sum_a, sum_b);  // exactly as a mean's sum merges
        na[i] = count_a + count_b;
    }
}

/// Merges elements [i0, i1) of `b` into `a` (both lists of this kind's partials; `a` owns its
/// buffers).
void merge_into(const ReduceParams& p, ValueList& a, const ValueList& b, std::int64_t i0, std::int64_t i1) {
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
                if (mul)
                    for (std::int64_t i = i0; i < i1; ++i) x[i] = acc_mul(x[i], v[i]);
                else
                    for (std::int64_t i = i0; i < i1; ++i) x[i] = acc_add(x[i], v[i]);
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
            for (std::int64_t i = i0; i < i1; ++i) c[i] += d[i];
            visit_acc(sum.dtype(), [&](auto tag) {
                using A = typename decltype(tag)::type;
                A* x = sum.data<A>();
                const A* v = sb.data<A>();
                for (std::int64_t i = i0; i < i1; ++i) x[i] = acc_add(x[i], v[i]);
            });
            return;
        }
        case ReduceKind::Var:
        case ReduceKind::Std:
        case ReduceKind::NanVar:
        case ReduceKind::NanStd: {
            NDArray count = part(a, 0, 3), sum = part(a, 1, 3), m2 = part(a, 2, 3);
            NDArray cb = part(b, 0, 3).contiguous(), sb = part(b, 1, 3).contiguous(),
                    qb = part(b, 2, 3).contiguous();
            check_same_shape(count, cb);
            check_same_shape(sum, sb);
            check_same_shape(m2, qb);
            std::int64_t* na = count.data<std::int64_t>();
            const std::int64_t* nb = cb.data<std::int64_t>();
            double* qa = m2.data<double>();
            const double* qv = qb.data<double>();
            if (sum.dtype() == complex128)
                chan_merge(na, sum.data<std::complex<double>>(), qa, nb, sb.data<std::complex<double>>(), qv, i0, i1);
            else if (sum.dtype() == float64)
                chan_merge(na, sum.data<double>(), qa, nb, sb.data<double>(), qv, i0, i1);
            else
                throw ProtocolError("reduction partial of unexpected dtype {}", sum.dtype());
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
                zip_into<T>(acc, part(b, 0, 1), i0, i1, [&](T x, T y) { return pick(x, y, is_max, skip); });
            });
            return;
        }
        case ReduceKind::Any:
        case ReduceKind::All: {
            NDArray acc = part(a, 0, 1);
            const bool is_all = p.kind == ReduceKind::All;
            if (acc.dtype() != bool_) throw ProtocolError("reduction partial of unexpected dtype {}", acc.dtype());
            zip_into<bool>(acc, part(b, 0, 1), i0, i1, [&](bool x, bool y) { return is_all ? (x && y) : (x || y); });
            return;
        }
    }
}

/// Elements merged per pass over the partials: every list's slice of a block is merged while
/// the accumulator's slice stays in cache (one pass over memory, not one per list).
constexpr std::int64_t kMergeBlock = 2048;

/// The members of (possibly shared) parameters as merge steps over slices of the partial list:
/// a mean followed by the variance of the same NaN rule (MomentsPolicy's partials) share their
/// count and sum arrays, so the variance's step merges the mean's partials too.
struct MergeStep {
    ReduceParams params;
    std::size_t offset = 0, count = 0;
    bool merged_by_next = false;  // the mean of a moments pair
};

std::vector<MergeStep> merge_steps(const ReduceParams& p) {
    std::vector<MergeStep> steps;
    if (p.shared.empty()) {
        steps.push_back({p, 0, static_cast<std::size_t>(partial_count(p.kind)), false});
        return steps;
    }
    std::size_t offset = 0;
    for (std::size_t m = 0; m < p.shared.size(); ++m) {
        MergeStep step{member_params(p, m), offset, static_cast<std::size_t>(partial_count(member_params(p, m).kind)),
                       false};
        offset += step.count;
        steps.push_back(std::move(step));
    }
    return steps;
}

/// True when member `m` and the next are a moments pair (see MergeStep).
bool moments_pair(const std::vector<MergeStep>& steps, std::size_t m) {
    if (m + 1 >= steps.size() || steps[m].params.int_mean) return false;
    const ReduceKind a = steps[m].params.kind, b = steps[m + 1].params.kind;
    return (a == ReduceKind::Mean && b == ReduceKind::Var) || (a == ReduceKind::NanMean && b == ReduceKind::NanVar);
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
    std::string out;
    out.reserve(64 + p.program.size() + 8 * (p.axes.size() + p.partial_shape.size()));
    ByteWriter w(out);
    w.put(static_cast<std::uint8_t>(p.kind));
    w.put(static_cast<std::uint8_t>(p.compute_dtype.id()));
    w.put(static_cast<std::uint8_t>(p.out_dtype.id()));
    w.put(static_cast<std::uint8_t>(p.zero_nans));
    w.put(static_cast<std::uint8_t>(p.int_mean));
    w.put(static_cast<std::uint8_t>(p.keepdims));
    w.put(p.ddof);
    w.put_vector(p.axes);
    w.put_vector(p.partial_shape);
    w.put_string(p.program);
    w.put_vector(p.shared);
    w.put(p.part_offset);
    return out;
}

ReduceParams decode_params(std::string_view bytes) {
    ReduceParams p;
    ByteReader r(bytes, "malformed reduction parameters");
    const auto kind = r.get<std::uint8_t>(), compute = r.get<std::uint8_t>(), out = r.get<std::uint8_t>();
    const auto flag = [&] {
        const auto b = r.get<std::uint8_t>();
        if (b > 1) r.fail(fmt::format("flag {}", b));
        return b == 1;
    };
    p.zero_nans = flag();
    p.int_mean = flag();
    p.keepdims = flag();
    p.ddof = r.get<std::int64_t>();
    p.axes = r.get_vector<std::int64_t>();
    p.partial_shape = r.get_vector<std::int64_t>();
    p.program = r.get_string();
    p.shared = r.get_vector<std::uint8_t>();
    p.part_offset = r.get<std::int64_t>();
    if (!r.done()) r.fail("trailing bytes");
    if (kind > static_cast<std::uint8_t>(ReduceKind::NanMax) || compute >= kNumDTypes || out >= kNumDTypes)
        throw ProtocolError("malformed reduction parameters: kind {}, dtypes {} {}", kind, compute, out);
    for (auto code : p.shared)
        if ((code & 0x7f) > static_cast<std::uint8_t>(ReduceKind::NanMax))
            throw ProtocolError("malformed reduction parameters: shared partial kind {}", code);
    p.kind = static_cast<ReduceKind>(kind);
    p.compute_dtype = DType(static_cast<DTypeId>(compute));
    p.out_dtype = DType(static_cast<DTypeId>(out));
    return p;
}

std::int64_t partial_count(ReduceKind kind) {
    switch (kind) {
        case ReduceKind::Mean:
        case ReduceKind::NanMean: return 2;
        case ReduceKind::Var:
        case ReduceKind::Std:
        case ReduceKind::NanVar:
        case ReduceKind::NanStd: return 3;
        default: return 1;
    }
}

std::uint8_t share_code(ReduceKind kind, bool int_mean) {
    if (kind == ReduceKind::Std) kind = ReduceKind::Var;
    if (kind == ReduceKind::NanStd) kind = ReduceKind::NanVar;
    const bool is_mean = kind == ReduceKind::Mean || kind == ReduceKind::NanMean;
    return static_cast<std::uint8_t>(static_cast<std::uint8_t>(kind) | (is_mean && int_mean ? 0x80 : 0));
}

ReduceParams member_params(const ReduceParams& shared, std::size_t k) {
    ReduceParams p = shared;
    p.shared.clear();
    p.kind = static_cast<ReduceKind>(shared.shared.at(k) & 0x7f);
    p.int_mean = (shared.shared[k] & 0x80) != 0;
    return p;
}

ValueList merge_partials(const ReduceParams& p, std::span<const Value* const> parts) {
    TESSERA_ASSERT(!parts.empty(), "merging no partials");
    std::vector<MergeStep> steps = merge_steps(p);
    const std::size_t n_arrays = steps.back().offset + steps.back().count;
    std::vector<ValueList> lists;
    for (const Value* v : parts) {
        const ValueList& list = v->list();
        if (list.size() != n_arrays)
            throw ProtocolError("malformed reduction partial: expected {} arrays, got {}", n_arrays, list.size());
        ValueList contiguous;
        for (const Value& a : list) {
            if (!a.is_array()) throw ProtocolError("malformed reduction partial: {}", a.describe());
            contiguous.emplace_back(a.array().contiguous());
        }
        lists.push_back(std::move(contiguous));
    }
    const ValueList& first = lists.front();
    const std::int64_t n = first.front().array().size();
    for (const Value& a : first)
        if (a.array().size() != n)
            throw ProtocolError("malformed reduction partial: arrays of {} and {} elements", n, a.array().size());

    // The result's arrays; a moments pair's variance (count, sum) are its mean's arrays.
    for (std::size_t m = 0; m < steps.size(); ++m) {
        if (moments_pair(steps, m)) {
            for (std::size_t k = 0; k < 2; ++k)
                check_same_shape(first[steps[m].offset + k].array(), first[steps[m + 1].offset + k].array());
            steps[m].merged_by_next = true;
        }
    }
    std::vector<NDArray> out(n_arrays);
    for (std::size_t k = 0; k < n_arrays; ++k)
        out[k] = NDArray::empty(first[k].array().dtype(), first[k].array().shape());
    for (std::size_t m = 0; m < steps.size(); ++m)
        if (steps[m].merged_by_next)
            for (std::size_t k = 0; k < 2; ++k) out[steps[m + 1].offset + k] = out[steps[m].offset + k];
    ValueList acc(out.begin(), out.end());

    auto slice = [](const ValueList& list, const MergeStep& step) {
        const auto from = static_cast<std::ptrdiff_t>(step.offset);
        return ValueList(list.begin() + from, list.begin() + from + static_cast<std::ptrdiff_t>(step.count));
    };
    std::vector<std::vector<ValueList>> sliced(steps.size());  // [step][list]
    std::vector<ValueList> mine(steps.size());
    for (std::size_t m = 0; m < steps.size(); ++m) {
        mine[m] = slice(acc, steps[m]);
        for (const ValueList& list : lists) sliced[m].push_back(slice(list, steps[m]));
    }
    for (std::int64_t i0 = 0; i0 == 0 || i0 < n; i0 += kMergeBlock) {
        const std::int64_t i1 = std::min(n, i0 + kMergeBlock);
        for (std::size_t k = 0; k < n_arrays && i1 > i0; ++k) {
            const NDArray& from = first[k].array();
            std::memcpy(static_cast<std::byte*>(out[k].raw_data()) + i0 * from.itemsize(),
                        static_cast<const std::byte*>(from.raw_data()) + i0 * from.itemsize(),
                        static_cast<std::size_t>((i1 - i0) * from.itemsize()));
        }
        for (std::size_t m = 0; m < steps.size(); ++m) {
            if (steps[m].merged_by_next) continue;
            for (std::size_t k = 1; k < lists.size(); ++k) merge_into(steps[m].params, mine[m], sliced[m][k], i0, i1);
        }
    }
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
