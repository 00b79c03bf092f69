// The streamed chunk stage of tree reductions (see array/reduction_stream.hpp): per-kind
// policies (how a segment or a row reduces, how partials merge) driven over lanes or rows.
#include "array/reduction_stream.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "array/fused_program.hpp"
#include "array/reduction_math.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {

namespace {

using namespace rmath;

template <class T>
constexpr bool has_nan_v = std::is_floating_point_v<T> || is_complex_v<T>;

/// `ok ? v : 0` without a branch (NaN-heavy data makes a branch mispredict constantly, and
/// compilers do not always turn the select into a conditional move).
template <class A>
A keep_if(bool ok, A v) {
    if constexpr (std::is_same_v<A, double>) {
        const std::uint64_t mask = std::uint64_t{0} - static_cast<std::uint64_t>(ok);
        return std::bit_cast<double>(std::bit_cast<std::uint64_t>(v) & mask);
    } else {
        return ok ? v : A(0);
    }
}

template <class A>
NDArray make_out(const Shape& shape) {
    return NDArray::empty(dtype_of<A>(), shape);
}

// ------------------------------------------------------------------------------ policies
// Each policy defines
//   S                        a mergeable partial of some of an output's inputs
//   R                        the accumulator of one output over a group of rows
//   merge(S, S) -> S         in element order
//   segment(x, n) -> S       of n contiguous inputs of one output
//   add(R&, v); close(R) -> S
//   output(states, shape) -> ValueList   the block's partials

/// sum, nansum: NumPy's accumulator; integers wrap.
template <class T, class A, bool Skip>
struct SumPolicy {
    using S = A;
    using R = A;
    static A value(T v) {
        if constexpr (Skip && has_nan_v<T>) return is_nan(v) ? A(0) : to_acc<A>(v);
        else return to_acc<A>(v);
    }
    static S merge(S a, S b) { return acc_add(a, b); }
    static S segment(const T* x, std::int64_t n) {
        if constexpr (std::is_integral_v<A>) {
            A acc = 0;
            for (std::int64_t i = 0; i < n; ++i) acc = acc_add(acc, value(x[i]));
            return acc;
        } else {
            return pairwise_sum<A>(x, n, [](T v) { return value(v); });
        }
    }
    static void add(R& r, T v) { r = acc_add(r, value(v)); }
    static S close(const R& r) { return r; }
    static ValueList output(const std::vector<S>& s, const Shape& shape) {
        NDArray out = make_out<A>(shape);
        std::copy(s.begin(), s.end(), out.data<A>());
        return {out};
    }
};

/// prod: in order, NumPy's accumulator.
template <class T, class A>
struct ProdPolicy {
    using S = A;
    using R = A;
    static S merge(S a, S b) { return acc_mul(a, b); }
    static S segment(const T* x, std::int64_t n) {
        A acc = A(1);
        for (std::int64_t i = 0; i < n; ++i) acc = acc_mul(acc, to_acc<A>(x[i]));
        return acc;
    }
    static R start() { return A(1); }
    static void add(R& r, T v) { r = acc_mul(r, to_acc<A>(v)); }
    static S close(const R& r) { return r; }
    static ValueList output(const std::vector<S>& s, const Shape& shape) {
        NDArray out = make_out<A>(shape);
        std::copy(s.begin(), s.end(), out.data<A>());
        return {out};
    }
};

/// mean, nanmean: (count, sum).
template <class T, class A, bool Skip>
struct MeanPolicy {
    struct S {
        std::int64_t count = 0;
        A sum = A(0);
    };
    using R = S;
    static S merge(const S& a, const S& b) { return {a.count + b.count, acc_add(a.sum, b.sum)}; }
    static S segment(const T* x, std::int64_t n) {
        S s{n, SumPolicy<T, A, Skip>::segment(x, n)};
        if constexpr (Skip && has_nan_v<T>)
            for (std::int64_t i = 0; i < n; ++i) s.count -= is_nan(x[i]) ? 1 : 0;
        return s;
    }
    static void add(R& r, T v) {
        if constexpr (Skip && has_nan_v<T>) {
            // Branch-free: NaN-heavy data would mispredict a branch on every other element.
            const bool ok = !is_nan(v);
            r.count += ok ? 1 : 0;
            r.sum = acc_add(r.sum, keep_if(ok, to_acc<A>(v)));
        } else {
            ++r.count;
            r.sum = acc_add(r.sum, to_acc<A>(v));
        }
    }
    static S close(const R& r) { return r; }
    static ValueList output(const std::vector<S>& s, const Shape& shape) {
        NDArray count = make_out<std::int64_t>(shape), sum = make_out<A>(shape);
        for (std::size_t o = 0; o < s.size(); ++o) count.data<std::int64_t>()[o] = s[o].count, sum.data<A>()[o] = s[o].sum;
        return {count, sum};
    }
};

/// var, std and their nan variants: (count, mean, M2) merged with Chan's formula.
template <class T, bool Skip>
struct VarPolicy {
    using M = real_acc_t<T>;
    struct S {
        std::int64_t count = 0;
        M mean = M(0);
        double m2 = 0;
    };
    /// Sums shifted by the group's first value (no cancellation of two large sums).
    struct R {
        std::int64_t count = 0;
        M shift = M(0), s1 = M(0);
        double s2 = 0;
    };
    static S merge(const S& a, const S& b) {
        if (b.count == 0) return a;
        if (a.count == 0) return b;
        const double total = static_cast<double>(a.count + b.count);
        const M delta = b.mean - a.mean;
        return {a.count + b.count, a.mean + delta * (static_cast<double>(b.count) / total),
                a.m2 + b.m2 + abs2(delta) * (static_cast<double>(a.count) * static_cast<double>(b.count) / total)};
    }
    static S segment(const T* x, std::int64_t n) {
        auto m = MeanPolicy<T, M, Skip>::segment(x, n);
        S s{m.count, m.count > 0 ? m.sum / static_cast<double>(m.count) : M(0), 0.0};
        const M mu = s.mean;
        if constexpr (Skip && has_nan_v<T>)
            s.m2 = pairwise_sum<double>(x, n, [mu](T v) { return is_nan(v) ? 0.0 : abs2(to_acc<M>(v) - mu); });
        else
            s.m2 = pairwise_sum<double>(x, n, [mu](T v) { return abs2(to_acc<M>(v) - mu); });
        return s;
    }
    static void add(R& r, T v) {
        // Branch-free (selects, not jumps): NaN-heavy data would mispredict constantly.
        const M value = to_acc<M>(v);
        bool ok = true;
        if constexpr (Skip && has_nan_v<T>) ok = !is_nan(v);
        r.shift = (ok && r.count == 0) ? value : r.shift;
        r.count += ok ? 1 : 0;
        const M d = keep_if(ok, value - r.shift);
        r.s1 += d;
        r.s2 += abs2(d);
    }
    static S close(const R& r) {
        if (r.count == 0) return {};
        const double n = static_cast<double>(r.count);
        double m2 = r.s2 - abs2(r.s1) / n;
        if (m2 < 0) m2 = 0;  // rounding; NaN stays NaN
        return {r.count, r.shift + r.s1 / n, m2};
    }
    static ValueList output(const std::vector<S>& s, const Shape& shape) {
        NDArray count = make_out<std::int64_t>(shape), mean = make_out<M>(shape), m2 = make_out<double>(shape);
        for (std::size_t o = 0; o < s.size(); ++o)
            count.data<std::int64_t>()[o] = s[o].count, mean.data<M>()[o] = s[o].mean, m2.data<double>()[o] = s[o].m2;
        return {count, mean, m2};
    }
};

/// min, max, nanmin, nanmax (NaN = "no value" for the nan variants), any, all.
template <class T, class Pick>
struct FoldPolicy {
    using S = T;
    using R = T;
    static S merge(S a, S b) { return Pick::apply(a, b); }
    static S segment(const T* x, std::int64_t n) {
        T acc = Pick::identity();
        for (std::int64_t i = 0; i < n; ++i) acc = Pick::apply(acc, x[i]);
        return acc;
    }
    static R start() { return Pick::identity(); }
    static void add(R& r, T v) { r = Pick::apply(r, v); }
    static S close(const R& r) { return r; }
    static ValueList output(const std::vector<S>& s, const Shape& shape) {
        NDArray out = make_out<T>(shape);
        std::copy(s.begin(), s.end(), out.data<T>());
        return {out};
    }
};

template <class T, bool IsMax, bool Skip>
struct MinMax {
    static T identity() {
        if constexpr (std::is_floating_point_v<T>)
            return Skip ? std::numeric_limits<T>::quiet_NaN()
                        : (IsMax ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity());
        else if constexpr (std::is_same_v<T, bool>) return !IsMax;
        else return IsMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
    }
    static T apply(T acc, T v) { return pick(acc, v, IsMax, Skip); }
};

template <class T, bool IsAll>
struct AnyAll {
    static bool identity() { return IsAll; }
    static bool apply(bool acc, bool v) { return IsAll ? (acc && v) : (acc || v); }
};

/// any/all read T and fold booleans.
template <class T, bool IsAll>
struct BoolPolicy {
    using S = bool;
    using R = bool;
    static S merge(S a, S b) { return AnyAll<T, IsAll>::apply(a, b); }
    static S segment(const T* x, std::int64_t n) {
        bool acc = IsAll;
        for (std::int64_t i = 0; i < n; ++i) acc = AnyAll<T, IsAll>::apply(acc, x[i] != T(0));
        return acc;
    }
    static R start() { return IsAll; }
    static void add(R& r, T v) { r = AnyAll<T, IsAll>::apply(r, v != T(0)); }
    static S close(const R& r) { return r; }
    static ValueList output(const std::vector<S>& s, const Shape& shape) {
        NDArray out = make_out<bool>(shape);
        std::copy(s.begin(), s.end(), out.data<bool>());
        return {out};
    }
};

template <class P>
typename P::R start_of() {
    if constexpr (requires { P::start(); }) return P::start();
    else return typename P::R{};
}

// ------------------------------------------------------------------------------ drivers

/// Partials merged in element order as a binary counter: a new partial merges with the top
/// while both cover the same number of pieces, so the merge tree is balanced (pairwise).
template <class S>
class Cascade {
public:
    template <class Merge>
    void push(S s, const Merge& merge) {
        int level = 0;
        while (!stack_.empty() && stack_.back().second == level) {
            s = merge(std::move(stack_.back().first), std::move(s));
            stack_.pop_back();
            ++level;
        }
        stack_.emplace_back(std::move(s), level);
    }
    /// Everything pushed, merged left to right; `empty` when nothing was.
    template <class Merge>
    S fold(const Merge& merge, S empty) {
        if (stack_.empty()) return empty;
        S acc = std::move(stack_.front().first);
        for (std::size_t k = 1; k < stack_.size(); ++k) acc = merge(std::move(acc), std::move(stack_[k].first));
        stack_.clear();
        return acc;
    }

private:
    std::vector<std::pair<S, int>> stack_;
};

template <class T, class P>
class LaneReducer final : public ChunkReducer {
public:
    explicit LaneReducer(const StreamGeometry& g) : g_(g), out_(static_cast<std::size_t>(g.outer)) {}

    void feed(const std::byte* tile, std::int64_t n) override {
        const T* x = reinterpret_cast<const T*>(tile);
        auto merge = [](typename P::S a, typename P::S b) { return P::merge(a, b); };
        while (n > 0) {
            const std::int64_t m = std::min(n, g_.length - pos_);
            cascade_.push(P::segment(x, m), merge);
            x += m, n -= m, pos_ += m;
            if (pos_ == g_.length) {
                out_[static_cast<std::size_t>(lane_++)] = cascade_.fold(merge, typename P::S{});
                pos_ = 0;
            }
        }
    }
    ValueList finish() override {
        if (g_.length == 0)  // empty lanes: the identity
            std::fill(out_.begin(), out_.end(), P::close(start_of<P>()));
        return P::output(out_, g_.out_shape);
    }

private:
    StreamGeometry g_;
    std::vector<typename P::S> out_;
    Cascade<typename P::S> cascade_;
    std::int64_t pos_ = 0, lane_ = 0;
};

/// Rows: output o takes every outer-th element. Wide blocks (outer > kTileElems) arrive
/// column block by column block (see row_tile_order), so the accumulators of one column block
/// stay in cache while all its rows pass; narrow blocks arrive in plain C order.
template <class T, class P>
class RowReducer final : public ChunkReducer {
    using S = typename P::S;
    using R = typename P::R;
    using Group = std::vector<S>;

public:
    explicit RowReducer(const StreamGeometry& g)
        : g_(g), acc_(std::make_unique<R[]>(static_cast<std::size_t>(g.outer))),
          out_(static_cast<std::size_t>(g.outer)) {
        std::fill(acc_.get(), acc_.get() + g.outer, start_of<P>());
    }

    void feed(const std::byte* tile, std::int64_t n) override {
        const T* x = reinterpret_cast<const T*>(tile);
        while (n > 0) {
            const std::int64_t w = block_width();
            const std::int64_t m = std::min(n, w - col_);
            R* acc = acc_.get() + c0_ + col_;
            for (std::int64_t k = 0; k < m; ++k) P::add(acc[k], x[k]);
            x += m, n -= m, col_ += m;
            if (col_ == w) {
                col_ = 0;
                if (++row_ % kRowGroup == 0) close_group(w);
                if (row_ == g_.length) finish_block(w);
            }
        }
    }
    ValueList finish() override {
        if (g_.length == 0) std::fill(out_.begin(), out_.end(), P::close(start_of<P>()));
        return P::output(out_, g_.out_shape);
    }

private:
    std::int64_t block_width() const {
        return g_.outer > kTileElems ? std::min(kTileElems, g_.outer - c0_) : g_.outer;
    }
    static Group merge_groups(Group a, Group b) {
        for (std::size_t o = 0; o < a.size(); ++o) a[o] = P::merge(a[o], b[o]);
        return a;
    }
    void close_group(std::int64_t w) {
        Group group(static_cast<std::size_t>(w));
        R* acc = acc_.get() + c0_;
        for (std::size_t o = 0; o < group.size(); ++o) group[o] = P::close(acc[o]), acc[o] = start_of<P>();
        cascade_.push(std::move(group), merge_groups);
    }
    void finish_block(std::int64_t w) {
        if (row_ % kRowGroup != 0) close_group(w);
        Group block = cascade_.fold(merge_groups, Group{});
        std::copy(block.begin(), block.end(), out_.begin() + c0_);
        row_ = 0;
        c0_ += w;
    }

    StreamGeometry g_;
    std::unique_ptr<R[]> acc_;  // (not std::vector: R may be bool)
    std::vector<S> out_;
    Cascade<Group> cascade_;
    std::int64_t c0_ = 0, col_ = 0, row_ = 0;
};

template <class T, class P>
std::unique_ptr<ChunkReducer> driver(const StreamGeometry& g) {
    if (g.rows) return std::make_unique<RowReducer<T, P>>(g);
    return std::make_unique<LaneReducer<T, P>>(g);
}

template <class T>
std::unique_ptr<ChunkReducer> reducer_for(const ReduceParams& p, const StreamGeometry& g) {
    using A = natural_acc_t<T>;
    switch (p.kind) {
        case ReduceKind::Sum: return driver<T, SumPolicy<T, A, false>>(g);
        case ReduceKind::NanSum: return driver<T, SumPolicy<T, A, true>>(g);
        case ReduceKind::Prod: return driver<T, ProdPolicy<T, A>>(g);
        case ReduceKind::Mean:
        case ReduceKind::NanMean: {
            const bool skip = p.kind == ReduceKind::NanMean;
            if constexpr (!is_complex_v<T>) {
                // An explicit integer dtype= sums in (wrapping) integers like NumPy.
                if (p.int_mean)
                    return skip ? driver<T, MeanPolicy<T, A, true>>(g) : driver<T, MeanPolicy<T, A, false>>(g);
            }
            using M = real_acc_t<T>;
            return skip ? driver<T, MeanPolicy<T, M, true>>(g) : driver<T, MeanPolicy<T, M, false>>(g);
        }
        case ReduceKind::Var:
        case ReduceKind::Std: return driver<T, VarPolicy<T, false>>(g);
        case ReduceKind::NanVar:
        case ReduceKind::NanStd: return driver<T, VarPolicy<T, true>>(g);
        case ReduceKind::Min:
        case ReduceKind::Max:
        case ReduceKind::NanMin:
        case ReduceKind::NanMax: {
            if constexpr (is_complex_v<T>) {
                throw NotImplemented("{} of complex dtype {} is not supported", reduce_name(p.kind), dtype_of<T>());
            } else {
                switch (p.kind) {
                    case ReduceKind::Min: return driver<T, FoldPolicy<T, MinMax<T, false, false>>>(g);
                    case ReduceKind::Max: return driver<T, FoldPolicy<T, MinMax<T, true, false>>>(g);
                    case ReduceKind::NanMin: return driver<T, FoldPolicy<T, MinMax<T, false, true>>>(g);
                    default: return driver<T, FoldPolicy<T, MinMax<T, true, true>>>(g);
                }
            }
        }
        case ReduceKind::Any: return driver<T, BoolPolicy<T, false>>(g);
        case ReduceKind::All: return driver<T, BoolPolicy<T, true>>(g);
    }
    TESSERA_ASSERT(false, "unknown reduction kind");
    return {};
}

}  // namespace

std::optional<StreamGeometry> stream_geometry(const Shape& shape, std::span<const std::int64_t> axes) {
    const auto ndim = static_cast<std::int64_t>(shape.size());
    const auto k = static_cast<std::int64_t>(axes.size());
    std::vector<bool> reduced(shape.size(), false);
    for (auto axis : axes) reduced.at(static_cast<std::size_t>(axis)) = true;
    StreamGeometry g;
    bool prefix = true, suffix = true;
    for (std::int64_t axis = 0; axis < ndim; ++axis) {
        const bool r = reduced[static_cast<std::size_t>(axis)];
        const std::int64_t n = shape[static_cast<std::size_t>(axis)];
        g.out_shape.push_back(r ? 1 : n);
        (r ? g.length : g.outer) *= n;
        prefix = prefix && (r == (axis < k));
        suffix = suffix && (r == (axis >= ndim - k));
    }
    if (suffix || g.outer == 1 || g.length == 1) return g;
    if (prefix) {
        g.rows = true;
        return g;
    }
    return std::nullopt;
}

std::vector<std::pair<std::int64_t, std::int64_t>> row_tile_order(const StreamGeometry& g) {
    std::vector<std::pair<std::int64_t, std::int64_t>> tiles;
    if (!g.rows || g.outer <= kTileElems) return tiles;
    tiles.reserve(static_cast<std::size_t>(g.length * ((g.outer + kTileElems - 1) / kTileElems)));
    for (std::int64_t c0 = 0; c0 < g.outer; c0 += kTileElems)
        for (std::int64_t r = 0; r < g.length; ++r)
            tiles.emplace_back(r * g.outer + c0, std::min(kTileElems, g.outer - c0));
    return tiles;
}

std::unique_ptr<ChunkReducer> make_chunk_reducer(const ReduceParams& params, DType dtype,
                                                 const StreamGeometry& geometry) {
    return visit_dtype(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        return reducer_for<T>(params, geometry);
    });
}

}  // namespace tessera::detail
