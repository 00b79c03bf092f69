#pragma once
// Internal: the per-kind policies of the streamed chunk stage (array/reduction_stream.cpp):
// how a segment of one output's inputs reduces (lanes), how rows accumulate (structures of
// arrays, so the row loops vectorize), how partial states merge, and how the block's partials
// are written. Included by array/reduction_stream.cpp only.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "array/reduction_math.hpp"
#include "array/reduction_stream.hpp"
#include "tessera/ndarray.hpp"

namespace tessera::detail::reduce_policy {

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

/// The block's partials as they are produced: arrays shaped like the output block, written
/// output by output (structure of arrays, no intermediate array of states).
template <class A>
struct ArrayOut {
    explicit ArrayOut(const Shape& shape) : array(make_out<A>(shape)), data(array.data<A>()) {}
    void put(std::int64_t o, A v) { data[o] = v; }
    ValueList list() { return {array}; }
    NDArray array;
    A* data;
};

template <class P>
typename P::R start_of() {
    if constexpr (requires { P::start(); }) return P::start();
    else return typename P::R{};
}

/// Row accumulators of up to kRowBlock outputs for policies without their own (array of R).
template <class T, class P>
class ScalarRows {
public:
    void reset(std::int64_t w) { std::fill(acc_.get(), acc_.get() + w, start_of<P>()); }
    void add(const T* x, std::int64_t o0, std::int64_t m) {
        typename P::R* acc = acc_.get() + o0;
        for (std::int64_t k = 0; k < m; ++k) P::add(acc[k], x[k]);
    }
    typename P::S close(std::int64_t o) const { return P::close(acc_[static_cast<std::size_t>(o)]); }

private:
    std::unique_ptr<typename P::R[]> acc_ = std::make_unique<typename P::R[]>(kRowBlock);  // (R may be bool)
};

template <class A>
std::unique_ptr<A[]> row_array() {
    return std::make_unique<A[]>(kRowBlock);
}

// ------------------------------------------------------------------------------ policies
// Each policy defines
//   S                        a mergeable partial of some of an output's inputs
//   merge(S, S) -> S         in element order
//   segment(x, n) -> S       of n contiguous inputs of one output
//   none() -> S              of no input
//   Rows                     accumulators of a group of rows for up to kRowBlock outputs:
//                            reset(w), add(x, o0, m) (elements x[0, m) to outputs o0...),
//                            close(o) -> S; either its own (structure of arrays, so the row
//                            loop vectorizes) or ScalarRows over R, add(R&, v), close(R)
//   Out                      the block's partials: Out(shape), put(o, S), list()

/// sum, nansum: NumPy's accumulator; integers wrap.
template <class T, class A, bool Skip>
struct SumPolicy {
    using S = A;
    using R = A;
    using Out = ArrayOut<A>;
    static A value(T v) {
        if constexpr (Skip && has_nan_v<T>) return is_nan(v) ? A(0) : to_acc<A>(v);
        else return to_acc<A>(v);
    }
    static S none() { return A(0); }
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
};

/// prod: in order, NumPy's accumulator.
template <class T, class A>
struct ProdPolicy {
    using S = A;
    using R = A;
    using Out = ArrayOut<A>;
    static S none() { return A(1); }
    static S merge(S a, S b) { return acc_mul(a, b); }
    static S segment(const T* x, std::int64_t n) {
        A acc = A(1);
        for (std::int64_t i = 0; i < n; ++i) acc = acc_mul(acc, to_acc<A>(x[i]));
        return acc;
    }
    static R start() { return A(1); }
    static void add(R& r, T v) { r = acc_mul(r, to_acc<A>(v)); }
    static S close(const R& r) { return r; }
};

/// mean, nanmean: (count, sum).
template <class T, class A, bool Skip>
struct MeanPolicy {
    struct S {
        std::int64_t count = 0;
        A sum = A(0);
    };
    static S none() { return {}; }
    static S merge(const S& a, const S& b) { return {a.count + b.count, acc_add(a.sum, b.sum)}; }
    static S segment(const T* x, std::int64_t n) {
        S s{n, SumPolicy<T, A, Skip>::segment(x, n)};
        if constexpr (Skip && has_nan_v<T>)
            for (std::int64_t i = 0; i < n; ++i) s.count -= is_nan(x[i]) ? 1 : 0;
        return s;
    }
    /// One element into (count, sum); branch-free (NaN-heavy data would mispredict a branch on
    /// every other element).
    static void add(std::int64_t& count, A& sum, T v) {
        if constexpr (Skip && has_nan_v<T>) {
            const bool ok = !is_nan(v);
            count += ok ? 1 : 0;
            sum = acc_add(sum, keep_if(ok, to_acc<A>(v)));
        } else {
            ++count;
            sum = acc_add(sum, to_acc<A>(v));
        }
    }
    class Rows {
    public:
        void reset(std::int64_t w) {
            std::fill(count_.get(), count_.get() + w, 0);
            std::fill(sum_.get(), sum_.get() + w, A(0));
        }
        void add(const T* x, std::int64_t o0, std::int64_t m) {
            std::int64_t* __restrict count = count_.get() + o0;
            A* __restrict sum = sum_.get() + o0;
            for (std::int64_t k = 0; k < m; ++k) MeanPolicy::add(count[k], sum[k], x[k]);
        }
        S close(std::int64_t o) const {
            const auto i = static_cast<std::size_t>(o);
            return {count_[i], sum_[i]};
        }
        template <class Out>
        void close_into(Out& out, std::int64_t c0, std::int64_t w) const {
            std::copy(count_.get(), count_.get() + w, out.count.data + c0);
            std::copy(sum_.get(), sum_.get() + w, out.sum.data + c0);
        }

    private:
        std::unique_ptr<std::int64_t[]> count_ = row_array<std::int64_t>();
        std::unique_ptr<A[]> sum_ = row_array<A>();
    };
    struct Out {
        explicit Out(const Shape& shape) : count(shape), sum(shape) {}
        void put(std::int64_t o, const S& s) { count.put(o, s.count), sum.put(o, s.sum); }
        ValueList list() { return {count.array, sum.array}; }
        ArrayOut<std::int64_t> count;
        ArrayOut<A> sum;
    };
};

/// var, std and their nan variants: (count, sum, M2) merged with Chan's formula. The sum is
/// exactly MeanPolicy's (same operations, same order), so a mean's partials are a prefix of a
/// variance's and reductions sharing their chunk stage compute both in one (MomentsPolicy).
template <class T, bool Skip>
struct VarPolicy {
    using M = real_acc_t<T>;
    using Mean = MeanPolicy<T, M, Skip>;
    struct S {
        std::int64_t count = 0;
        M sum = M(0);
        double m2 = 0;
    };
    static S none() { return {}; }
    static S merge(const S& a, const S& b) {
        // (count and sum exactly as MeanPolicy merges them, empty sides included)
        S r{a.count + b.count, acc_add(a.sum, b.sum), b.count == 0 ? a.m2 : b.m2};
        if (a.count > 0 && b.count > 0) {
            const double na = static_cast<double>(a.count), nb = static_cast<double>(b.count);
            const M delta = b.sum / nb - a.sum / na;
            r.m2 = a.m2 + (b.m2 + abs2(delta) * (na * nb / static_cast<double>(r.count)));
        }
        return r;
    }
    static S segment(const T* x, std::int64_t n) {
        const auto m = Mean::segment(x, n);
        // The deviations from the segment's mean: a second pass while the segment is in cache.
        S s{m.count, m.sum, 0.0};
        const M mu = m.count > 0 ? m.sum / static_cast<double>(m.count) : M(0);
        if constexpr (Skip && has_nan_v<T>)
            s.m2 = pairwise_sum<double>(x, n, [mu](T v) { return is_nan(v) ? 0.0 : abs2(to_acc<M>(v) - mu); });
        else
            s.m2 = pairwise_sum<double>(x, n, [mu](T v) { return abs2(to_acc<M>(v) - mu); });
        return s;
    }
    /// One element into the plain sum and sums shifted by the group's first value (no
    /// cancellation of two large sums); selects, not jumps, so NaN-heavy data does not
    /// mispredict and the row loop vectorizes.
    static void add(std::int64_t& count, M& sum, M& shift, M& s1, double& s2, T v) {
        std::int64_t unused = count;
        Mean::add(unused, sum, v);
        const M value = to_acc<M>(v);
        bool ok = true;
        if constexpr (Skip && has_nan_v<T>) ok = !is_nan(v);
        shift = (ok && count == 0) ? value : shift;
        count += ok ? 1 : 0;
        const M d = keep_if(ok, value - shift);
        s1 += d;
        s2 += abs2(d);
    }
    /// The state of w outputs' accumulators into arrays, as a loop without branches (it
    /// vectorizes).
    static void close_all(const std::int64_t* count, const M* sum, const M* s1, const double* s2, std::int64_t w,
                          std::int64_t* __restrict count_out, M* __restrict sum_out, double* __restrict m2_out) {
        for (std::int64_t o = 0; o < w; ++o) {
            const double n = static_cast<double>(count[o]);
            double m2 = s2[o] - abs2(s1[o]) / n;
            m2 = m2 < 0 ? 0.0 : m2;  // rounding; NaN stays NaN
            count_out[o] = count[o];
            sum_out[o] = sum[o];
            m2_out[o] = count[o] == 0 ? 0.0 : m2;
        }
    }
    class Rows {
    public:
        void reset(std::int64_t w) {
            std::fill(count_.get(), count_.get() + w, 0);
            std::fill(sum_.get(), sum_.get() + w, M(0));
            std::fill(shift_.get(), shift_.get() + w, M(0));
            std::fill(s1_.get(), s1_.get() + w, M(0));
            std::fill(s2_.get(), s2_.get() + w, 0.0);
        }
        void add(const T* x, std::int64_t o0, std::int64_t m) {
            std::int64_t* __restrict count = count_.get() + o0;
            M* __restrict sum = sum_.get() + o0;
            M* __restrict shift = shift_.get() + o0;
            M* __restrict s1 = s1_.get() + o0;
            double* __restrict s2 = s2_.get() + o0;
            for (std::int64_t k = 0; k < m; ++k) VarPolicy::add(count[k], sum[k], shift[k], s1[k], s2[k], x[k]);
        }
        S close(std::int64_t o) const {
            S s;
            close_all(count_.get() + o, sum_.get() + o, s1_.get() + o, s2_.get() + o, 1, &s.count, &s.sum, &s.m2);
            return s;
        }
        template <class Out>
        void close_into(Out& out, std::int64_t c0, std::int64_t w) const {
            close_all(count_.get(), sum_.get(), s1_.get(), s2_.get(), w, out.count.data + c0, out.sum.data + c0,
                      out.m2.data + c0);
        }

    private:
        std::unique_ptr<std::int64_t[]> count_ = row_array<std::int64_t>();
        std::unique_ptr<M[]> sum_ = row_array<M>(), shift_ = row_array<M>(), s1_ = row_array<M>();
        std::unique_ptr<double[]> s2_ = row_array<double>();
    };
    struct Out {
        explicit Out(const Shape& shape) : count(shape), sum(shape), m2(shape) {}
        void put(std::int64_t o, const S& s) { count.put(o, s.count), sum.put(o, s.sum), m2.put(o, s.m2); }
        ValueList list() { return {count.array, sum.array, m2.array}; }
        ArrayOut<std::int64_t> count;
        ArrayOut<M> sum;
        ArrayOut<double> m2;
    };
};

/// A mean and a variance of the same elements (reductions sharing their chunk stage): the
/// variance's pass, whose (count, sum) are the mean's partials. Partials [count, sum] then
/// [count, sum, M2], the first two arrays serving both.
template <class T, bool Skip>
struct MomentsPolicy : VarPolicy<T, Skip> {
    using Base = VarPolicy<T, Skip>;
    struct Out : Base::Out {
        using Base::Out::Out;
        // Partials are never modified in place, so the arrays may serve both members.
        ValueList list() {
            return {this->count.array, this->sum.array, this->count.array, this->sum.array, this->m2.array};
        }
    };
};

/// min, max, nanmin, nanmax (NaN = "no value" for the nan variants), any, all.
template <class T, class Pick>
struct FoldPolicy {
    using S = T;
    using R = T;
    using Out = ArrayOut<T>;
    static S none() { return Pick::identity(); }
    static S merge(S a, S b) { return Pick::apply(a, b); }
    static S segment(const T* x, std::int64_t n) {
        T acc = Pick::identity();
        for (std::int64_t i = 0; i < n; ++i) acc = Pick::apply(acc, x[i]);
        return acc;
    }
    static R start() { return Pick::identity(); }
    static void add(R& r, T v) { r = Pick::apply(r, v); }
    static S close(const R& r) { return r; }
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
    using Out = ArrayOut<bool>;
    static S none() { return IsAll; }
    static S merge(S a, S b) { return AnyAll<T, IsAll>::apply(a, b); }
    static S segment(const T* x, std::int64_t n) {
        bool acc = IsAll;
        for (std::int64_t i = 0; i < n; ++i) acc = AnyAll<T, IsAll>::apply(acc, x[i] != T(0));
        return acc;
    }
    static R start() { return IsAll; }
    static void add(R& r, T v) { r = AnyAll<T, IsAll>::apply(r, v != T(0)); }
    static S close(const R& r) { return r; }
};

template <class T, class P>
struct RowsOf {
    using type = ScalarRows<T, P>;
};
template <class T, class P>
    requires requires { typename P::Rows; }
struct RowsOf<T, P> {
    using type = typename P::Rows;
};

}  // namespace tessera::detail::reduce_policy
