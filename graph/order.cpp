// memory_order: a static, memory-aware priority for every task (in the spirit of dask.order).
//
// 1. An iterative depth-first search from each output in turn emits a task (post-order) once
//    all of its dependencies are emitted. Dependencies are visited cheapest first: fewest
//    (approximate) transitive dependencies, then by key. A reduction tree is therefore finished
//    one combine at a time, keeping O(fan-in · depth) chunk results alive.
// 2. Eager release: whenever a task is ready (all its dependencies emitted) and running it lets
//    some dependency be released (it is that dependency's last unfinished dependent), it runs
//    right away, ahead of the search. Two reductions over the same chunks then advance
//    together instead of holding every chunk until the second one starts. Tasks that are ready
//    but free nothing (a fan-out from one shared input) wait for the search, so a broadcast
//    does not materialize all of its outputs at once.
// 3. Tasks not needed by the outputs come last, in topological order.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "graph/topo.hpp"
#include "tessera/error.hpp"
#include "tessera/graph.hpp"

namespace tessera {
namespace {

using Index = std::int64_t;

std::size_t at(Index i) { return static_cast<std::size_t>(i); }

class MemoryOrder {
public:
    MemoryOrder(const Graph& graph, const GraphIndex& index)
        : graph_(graph), index_(index), n_(at(index.size())) {}

    std::vector<Index> run(std::span<const Key> output_keys) {
        const std::vector<Index> topo = detail::kahn_order(graph_, index_);
        const std::vector<Index> outputs = resolve_outputs(output_keys);
        compute_costs(topo);
        mark_needed(outputs);
        count_distinct_edges();
        sort_dependencies();

        priority_.assign(n_, -1);
        state_.assign(n_, kNew);
        for (Index output : outputs) search(output);
        for (Index t : topo) {
            if (priority_[at(t)] < 0) priority_[at(t)] = next_++;
        }
        return std::move(priority_);
    }

private:
    enum State : std::uint8_t { kNew, kActive, kEmitted };

    struct Frame {
        Index task;
        Index cursor;  // next position in sorted_deps_
    };

    std::vector<Index> resolve_outputs(std::span<const Key> keys) const {
        std::vector<Index> outputs;
        if (keys.empty()) {
            for (std::size_t t = 0; t < n_; ++t) {
                if (index_.dependent_offsets[t + 1] == index_.dependent_offsets[t])
                    outputs.push_back(static_cast<Index>(t));
            }
            return outputs;
        }
        outputs.reserve(keys.size());
        for (const Key& key : keys) {
            const Index position = graph_.find(key);
            if (position < 0) throw GraphError("key {} is not in the graph", key.str());
            outputs.push_back(position);
        }
        return outputs;
    }

    // Transitive dependency counts, over-counting shared subgraphs (like dask's ndependencies),
    // saturating instead of overflowing on deep diamonds.
    void compute_costs(const std::vector<Index>& topo) {
        constexpr Index kCap = std::numeric_limits<Index>::max() / 4;
        cost_.assign(n_, 0);
        for (Index t : topo) {
            Index total = 0;
            for (Index e = index_.dep_offsets[at(t)]; e < index_.dep_offsets[at(t) + 1]; ++e)
                total = std::min(kCap, total + 1 + cost_[at(index_.dep_ids[at(e)])]);
            cost_[at(t)] = total;
        }
    }

    void mark_needed(const std::vector<Index>& outputs) {
        needed_.assign(n_, 0);
        is_output_.assign(n_, 0);
        std::vector<Index> stack;
        for (Index o : outputs) {
            is_output_[at(o)] = 1;
            if (!needed_[at(o)]) {
                needed_[at(o)] = 1;
                stack.push_back(o);
            }
        }
        while (!stack.empty()) {
            const Index t = stack.back();
            stack.pop_back();
            for (Index e = index_.dep_offsets[at(t)]; e < index_.dep_offsets[at(t) + 1]; ++e) {
                const Index d = index_.dep_ids[at(e)];
                if (!needed_[at(d)]) {
                    needed_[at(d)] = 1;
                    stack.push_back(d);
                }
            }
        }
    }

    // remaining_[w]: distinct dependencies of w not yet emitted; pending_[d]: distinct needed
    // dependents of d not yet emitted. A task may list a dependency twice: stamps de-duplicate.
    void count_distinct_edges() {
        remaining_.assign(n_, 0);
        pending_.assign(n_, 0);
        stamp_.assign(n_, -1);
        for (std::size_t w = 0; w < n_; ++w) {
            if (!needed_[w]) continue;
            for (Index e = index_.dep_offsets[w]; e < index_.dep_offsets[w + 1]; ++e) {
                const Index d = index_.dep_ids[at(e)];
                if (stamp_[at(d)] == static_cast<Index>(w)) continue;
                stamp_[at(d)] = static_cast<Index>(w);
                ++remaining_[w];
                ++pending_[at(d)];
            }
        }
        std::fill(stamp_.begin(), stamp_.end(), -1);
    }

    void sort_dependencies() {
        sorted_deps_ = index_.dep_ids;
        const std::vector<Task>& tasks = graph_.tasks();
        auto cheaper = [&](Index a, Index b) {
            if (cost_[at(a)] != cost_[at(b)]) return cost_[at(a)] < cost_[at(b)];
            if (a == b) return false;
            const Key& ka = tasks[at(a)].key;
            const Key& kb = tasks[at(b)].key;
            if (ka < kb) return true;
            if (kb < ka) return false;
            return a < b;
        };
        for (std::size_t t = 0; t < n_; ++t) {
            const Index begin = index_.dep_offsets[t];
            const Index end = index_.dep_offsets[t + 1];
            if (!needed_[t] || end - begin < 2) continue;
            std::sort(sorted_deps_.begin() + begin, sorted_deps_.begin() + end, cheaper);
        }
    }

    // True when running the ready task w lets one of its dependencies be released.
    bool frees_something(Index w) const {
        for (Index e = index_.dep_offsets[at(w)]; e < index_.dep_offsets[at(w) + 1]; ++e) {
            const Index d = index_.dep_ids[at(e)];
            if (pending_[at(d)] == 1 && !is_output_[at(d)]) return true;
        }
        return false;
    }

    void emit(Index v) {
        priority_[at(v)] = next_++;
        state_[at(v)] = kEmitted;
        // v no longer waits on its dependencies: one of them may now have a single unfinished
        // dependent left, which frees it when it runs.
        for (Index e = index_.dep_offsets[at(v)]; e < index_.dep_offsets[at(v) + 1]; ++e) {
            const Index d = index_.dep_ids[at(e)];
            if (stamp_[at(d)] == v) continue;
            stamp_[at(d)] = v;
            if (--pending_[at(d)] != 1 || is_output_[at(d)]) continue;
            for (Index f = index_.dependent_offsets[at(d)]; f < index_.dependent_offsets[at(d) + 1]; ++f) {
                const Index w = index_.dependent_ids[at(f)];
                if (needed_[at(w)] && state_[at(w)] != kEmitted) {
                    if (remaining_[at(w)] == 0) eager_.push_back(w);
                    break;
                }
            }
        }
        // Dependents of v that became ready.
        for (Index f = index_.dependent_offsets[at(v)]; f < index_.dependent_offsets[at(v) + 1]; ++f) {
            const Index w = index_.dependent_ids[at(f)];
            if (!needed_[at(w)] || stamp_[at(w)] == v) continue;
            stamp_[at(w)] = v;
            if (--remaining_[at(w)] == 0 && frees_something(w)) eager_.push_back(w);
        }
    }

    void drain_eager() {
        while (!eager_.empty()) {
            const Index w = eager_.back();
            eager_.pop_back();
            if (state_[at(w)] != kEmitted) emit(w);
        }
    }

    void search(Index output) {
        if (state_[at(output)] == kEmitted) return;
        state_[at(output)] = kActive;
        frames_.push_back({output, index_.dep_offsets[at(output)]});
        while (!frames_.empty()) {
            drain_eager();
            Frame& top = frames_.back();
            const Index v = top.task;
            if (state_[at(v)] == kEmitted) {
                frames_.pop_back();
                continue;
            }
            const Index end = index_.dep_offsets[at(v) + 1];
            while (top.cursor < end && state_[at(sorted_deps_[at(top.cursor)])] == kEmitted) ++top.cursor;
            if (top.cursor == end) {
                frames_.pop_back();
                emit(v);
                continue;
            }
            const Index d = sorted_deps_[at(top.cursor)];
            TESSERA_ASSERT(state_[at(d)] == kNew, "cycle reached in memory_order after Kahn");
            state_[at(d)] = kActive;
            frames_.push_back({d, index_.dep_offsets[at(d)]});
        }
        drain_eager();
    }

    const Graph& graph_;
    const GraphIndex& index_;
    std::size_t n_;
    std::vector<Index> cost_, remaining_, pending_, stamp_, sorted_deps_, priority_, eager_;
    std::vector<std::uint8_t> needed_, is_output_, state_;
    std::vector<Frame> frames_;
    Index next_ = 0;
};

}  // namespace

std::vector<std::int64_t> memory_order(const Graph& graph, const GraphIndex& index,
                                       std::span<const Key> outputs) {
    if (graph.empty() && index.dep_offsets.size() <= 1) return {};
    if (index.size() != graph.size())
        throw GraphError("the index describes {} tasks but the graph has {}", index.size(), graph.size());
    return MemoryOrder(graph, index).run(outputs);
}

}  // namespace tessera
