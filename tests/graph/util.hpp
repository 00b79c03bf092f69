#pragma once
// Helpers shared by the graph tests: task builders, reference checks and an execution
// simulator that measures how many intermediate results a priority order keeps alive.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "tessera/graph.hpp"

namespace tessera::test {

inline Task make_task(Key key, std::vector<Key> deps = {}) {
    Task task;
    task.key = std::move(key);
    static const OpId identity = op_id("tessera.identity");
    task.op = identity;
    task.deps = std::move(deps);
    return task;
}

/// Adds a fan-in reduction over `leaves`, level by level; returns the final key.
inline Key add_tree(Graph& graph, const std::string& name, std::vector<Key> level, std::int64_t fan_in) {
    std::int64_t depth = 0;
    while (level.size() > 1 || depth == 0) {
        std::vector<Key> next;
        for (std::size_t begin = 0; begin < level.size(); begin += static_cast<std::size_t>(fan_in)) {
            const std::size_t end = std::min(level.size(), begin + static_cast<std::size_t>(fan_in));
            Key key(name, {depth, static_cast<std::int64_t>(next.size())});
            graph.add(make_task(key, std::vector<Key>(level.begin() + static_cast<std::ptrdiff_t>(begin),
                                                      level.begin() + static_cast<std::ptrdiff_t>(end))));
            next.push_back(key);
        }
        level = std::move(next);
        ++depth;
    }
    return level.front();
}

/// Leaf tasks Key(name, {i}) without dependencies.
inline std::vector<Key> add_leaves(Graph& graph, const std::string& name, std::int64_t n) {
    std::vector<Key> keys;
    keys.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        Key key(name, {i});
        keys.push_back(key);
        graph.add(make_task(std::move(key)));
    }
    return keys;
}

/// Reference check, independent of the library's index: `order` lists every position once and
/// every dependency (looked up by key) comes before its task.
inline bool is_topological(const Graph& graph, const std::vector<std::int64_t>& order) {
    const auto n = static_cast<std::size_t>(graph.size());
    if (order.size() != n) return false;
    std::vector<std::int64_t> rank(n, -1);
    for (std::size_t r = 0; r < n; ++r) {
        const auto t = order[r];
        if (t < 0 || static_cast<std::size_t>(t) >= n || rank[static_cast<std::size_t>(t)] >= 0) return false;
        rank[static_cast<std::size_t>(t)] = static_cast<std::int64_t>(r);
    }
    for (std::size_t t = 0; t < n; ++t) {
        for (const Key& dep : graph.tasks()[t].deps) {
            const auto d = graph.find(dep);
            if (d < 0 || rank[static_cast<std::size_t>(d)] >= rank[t]) return false;
        }
    }
    return true;
}

/// Turns priorities (priority[t] = rank) into the order of positions; empty when not a permutation.
inline std::vector<std::int64_t> order_of(const std::vector<std::int64_t>& priority) {
    std::vector<std::int64_t> order(priority.size(), -1);
    for (std::size_t t = 0; t < priority.size(); ++t) {
        const auto p = priority[t];
        if (p < 0 || static_cast<std::size_t>(p) >= priority.size() || order[static_cast<std::size_t>(p)] >= 0)
            return {};
        order[static_cast<std::size_t>(p)] = static_cast<std::int64_t>(t);
    }
    return order;
}

/// Runs the tasks one at a time in `order`; a result stays alive until its last dependent has
/// run (outputs are kept and not counted). Returns the largest number of live intermediates.
inline std::int64_t max_live(const Graph& graph, const std::vector<std::int64_t>& order,
                             const std::vector<Key>& outputs) {
    const auto n = static_cast<std::size_t>(graph.size());
    std::vector<std::int64_t> dependents(n, 0);
    std::vector<std::vector<std::int64_t>> distinct_deps(n);
    for (std::size_t t = 0; t < n; ++t) {
        auto& deps = distinct_deps[t];
        for (const Key& dep : graph.tasks()[t].deps) deps.push_back(graph.find(dep));
        std::sort(deps.begin(), deps.end());
        deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
        for (auto d : deps) ++dependents[static_cast<std::size_t>(d)];
    }
    std::vector<char> is_output(n, 0);
    for (const Key& key : outputs) is_output[static_cast<std::size_t>(graph.find(key))] = 1;
    std::int64_t live = 0, peak = 0;
    for (auto t : order) {
        const auto task = static_cast<std::size_t>(t);
        if (!is_output[task] && dependents[task] > 0) ++live;
        peak = std::max(peak, live);
        for (auto d : distinct_deps[task]) {
            if (--dependents[static_cast<std::size_t>(d)] == 0 && !is_output[static_cast<std::size_t>(d)]) --live;
        }
    }
    return peak;
}

}  // namespace tessera::test
