// The streamed chunk stage of tree reductions (see array/reduction_stream.hpp): the per-kind
// policies of array/reduction_policies.hpp driven over lanes or rows.
#include "array/reduction_stream.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "array/fused_program.hpp"
#include "array/reduction_math.hpp"
#include "array/reduction_policies.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {

namespace {

using namespace rmath;
using namespace reduce_policy;

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
    bool empty() const { return stack_.empty(); }

private:
    std::vector<std::pair<S, int>> stack_;
};

template <class T, class P>
class LaneReducer final : public ChunkReducer {
public:
    explicit LaneReducer(const StreamGeometry& g) : g_(g), out_(g.out_shape) {}

    void feed(const std::byte* tile, std::int64_t n) override {
        const T* x = reinterpret_cast<const T*>(tile);
        auto merge = [](typename P::S a, typename P::S b) { return P::merge(a, b); };
        while (n > 0) {
            const std::int64_t m = std::min(n, g_.length - pos_);
            cascade_.push(P::segment(x, m), merge);
            x += m, n -= m, pos_ += m;
            if (pos_ == g_.length) {
                out_.put(lane_++, cascade_.fold(merge, P::none()));
                pos_ = 0;
            }
        }
    }
    ValueList finish() override {
        if (g_.length == 0)  // empty lanes: the identity
            for (std::int64_t o = 0; o < g_.outer; ++o) out_.put(o, P::none());
        return out_.list();
    }

private:
    StreamGeometry g_;
    typename P::Out out_;
    Cascade<typename P::S> cascade_;
    std::int64_t pos_ = 0, lane_ = 0;
};

/// Rows: output o takes every outer-th element. Wide blocks (outer > kRowBlock) arrive
/// column block by column block (see row_tile_order), so the accumulators of one column block
/// stay in cache while all its rows pass; narrow blocks arrive in plain C order.
template <class T, class P>
class RowReducer final : public ChunkReducer {
    using S = typename P::S;
    using Group = std::vector<S>;

public:
    explicit RowReducer(const StreamGeometry& g) : g_(g), out_(g.out_shape) { rows_.reset(block_width()); }

    void feed(const std::byte* tile, std::int64_t n) override {
        const T* x = reinterpret_cast<const T*>(tile);
        while (n > 0) {
            const std::int64_t w = block_width();
            const std::int64_t m = std::min(n, w - col_);
            rows_.add(x, col_, m);
            x += m, n -= m, col_ += m;
            if (col_ == w) {
                col_ = 0;
                if (++row_ % kRowGroup == 0 || row_ == g_.length) end_group(w);
            }
        }
    }
    ValueList finish() override {
        if (g_.length == 0)
            for (std::int64_t o = 0; o < g_.outer; ++o) out_.put(o, P::none());
        return out_.list();
    }

private:
    std::int64_t block_width() const {
        return g_.outer > kRowBlock ? std::min(kRowBlock, g_.outer - c0_) : g_.outer;
    }
    static Group merge_groups(Group a, Group b) {
        for (std::size_t o = 0; o < a.size(); ++o) a[o] = P::merge(a[o], b[o]);
        return a;
    }
    /// Closes the group of rows just completed; after the column block's last row, its states
    /// go to the output (directly when the block was one group: short blocks, the common case).
    void end_group(std::int64_t w) {
        const bool last = row_ == g_.length;
        if (last && cascade_.empty()) {
            if constexpr (requires { rows_.close_into(out_, c0_, w); }) rows_.close_into(out_, c0_, w);
            else for (std::int64_t o = 0; o < w; ++o) out_.put(c0_ + o, rows_.close(o));
        } else {
            Group group(static_cast<std::size_t>(w));
            for (std::int64_t o = 0; o < w; ++o) group[static_cast<std::size_t>(o)] = rows_.close(o);
            cascade_.push(std::move(group), merge_groups);
            if (last) {
                const Group block = cascade_.fold(merge_groups, Group{});
                for (std::int64_t o = 0; o < w; ++o) out_.put(c0_ + o, block[static_cast<std::size_t>(o)]);
            }
        }
        if (last) row_ = 0, c0_ += w;
        rows_.reset(block_width());
    }

    StreamGeometry g_;
    typename RowsOf<T, P>::type rows_;
    typename P::Out out_;
    Cascade<Group> cascade_;
    std::int64_t c0_ = 0, col_ = 0, row_ = 0;
};

/// Several reducers fed the same tiles (members of a shared chunk stage); their partials in order.
class CompositeReducer final : public ChunkReducer {
public:
    explicit CompositeReducer(std::vector<std::unique_ptr<ChunkReducer>> parts) : parts_(std::move(parts)) {}
    void feed(const std::byte* tile, std::int64_t n) override {
        for (auto& part : parts_) part->feed(tile, n);
    }
    ValueList finish() override {
        ValueList out;
        for (auto& part : parts_) {
            ValueList mine = part->finish();
            out.insert(out.end(), std::make_move_iterator(mine.begin()), std::make_move_iterator(mine.end()));
        }
        return out;
    }

private:
    std::vector<std::unique_ptr<ChunkReducer>> parts_;
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

/// The reducer of shared parameters: one pass feeding every member; a mean directly followed
/// by the variance of the same NaN rule (shared codes are sorted) is one MomentsPolicy.
template <class T>
std::unique_ptr<ChunkReducer> shared_reducer_for(const ReduceParams& p, const StreamGeometry& g) {
    std::vector<std::unique_ptr<ChunkReducer>> parts;
    for (std::size_t k = 0; k < p.shared.size(); ++k) {
        const ReduceParams member = member_params(p, k);
        if (k + 1 < p.shared.size() && !member.int_mean) {
            const auto next = member_params(p, k + 1).kind;
            if ((member.kind == ReduceKind::Mean && next == ReduceKind::Var) ||
                (member.kind == ReduceKind::NanMean && next == ReduceKind::NanVar)) {
                parts.push_back(member.kind == ReduceKind::NanMean ? driver<T, MomentsPolicy<T, true>>(g)
                                                                   : driver<T, MomentsPolicy<T, false>>(g));
                ++k;
                continue;
            }
        }
        parts.push_back(reducer_for<T>(member, g));
    }
    if (parts.size() == 1) return std::move(parts.front());
    return std::make_unique<CompositeReducer>(std::move(parts));
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
    if (!g.rows || g.outer <= kRowBlock) return tiles;
    tiles.reserve(static_cast<std::size_t>(g.length * ((g.outer + kRowBlock - 1) / kRowBlock)));
    for (std::int64_t c0 = 0; c0 < g.outer; c0 += kRowBlock)
        for (std::int64_t r = 0; r < g.length; ++r)
            tiles.emplace_back(r * g.outer + c0, std::min(kRowBlock, g.outer - c0));
    return tiles;
}

std::unique_ptr<ChunkReducer> make_chunk_reducer(const ReduceParams& params, DType dtype,
                                                 const StreamGeometry& geometry) {
    return visit_dtype(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        if (!params.shared.empty()) return shared_reducer_for<T>(params, geometry);
        return reducer_for<T>(params, geometry);
    });
}

}  // namespace tessera::detail
