// Graph: tasks in insertion order plus an open-addressing hash table of their keys; cull,
// index (CSR), Kahn's topological order and validation. Nothing here recurses, so graphs of any
// depth work on small thread stacks.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <utility>
#include <vector>

#include <sys/mman.h>

#include "graph/topo.hpp"
#include "tessera/error.hpp"
#include "tessera/graph.hpp"

namespace tessera {
namespace {

constexpr std::uint64_t kPositionMask = 0xffffffffull;
// Positions are stored as position + 1 in 32 bits.
constexpr std::int64_t kMaxTasks = static_cast<std::int64_t>(kPositionMask) - 1;

std::uint32_t hash32(const Key& key) { return static_cast<std::uint32_t>(key.hash()); }

// Large tables are probed at random: back them with transparent huge pages where the kernel
// allows it (one TLB entry per 2 MiB instead of per 4 KiB). Must run before the memory is touched.
void advise_huge_pages(void* data, std::size_t bytes) {
    constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
    if (bytes < 2 * kHuge) return;
    const auto begin = (reinterpret_cast<std::uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
    const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(kHuge - 1);
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

std::size_t slots_for(std::int64_t tasks) {
    return std::max<std::size_t>(16, std::bit_ceil(static_cast<std::size_t>(tasks) * 2));
}

}  // namespace

// ------------------------------------------------------------------------------- hash table

std::int64_t Graph::find_hashed(const Key& key, std::uint32_t hash) const {
    if (slots_.empty()) return -1;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t slot = hash & mask;; slot = (slot + 1) & mask) {
        const std::uint64_t entry = slots_[slot];
        if (entry == 0) return -1;
        if ((entry >> 32) == hash) {
            const auto position = static_cast<std::int64_t>(entry & kPositionMask) - 1;
            if (tasks_[static_cast<std::size_t>(position)].key == key) return position;
        }
    }
}

void Graph::insert_slot(std::uint32_t hash, std::int64_t position) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t slot = hash & mask;
    while (slots_[slot] != 0) slot = (slot + 1) & mask;
    slots_[slot] = (static_cast<std::uint64_t>(hash) << 32) | static_cast<std::uint64_t>(position + 1);
}

void Graph::grow_slots(std::size_t capacity) {
    std::vector<std::uint64_t> old;
    old.reserve(capacity);
    advise_huge_pages(old.data(), capacity * sizeof(std::uint64_t));
    old.resize(capacity, 0);
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (std::uint64_t entry : old) {
        if (entry == 0) continue;
        std::size_t slot = (entry >> 32) & mask;
        while (slots_[slot] != 0) slot = (slot + 1) & mask;
        slots_[slot] = entry;
    }
}

void Graph::reserve(std::int64_t n) {
    if (n <= 0) return;
    if (static_cast<std::size_t>(n) > tasks_.capacity()) {
        tasks_.reserve(static_cast<std::size_t>(n));
        advise_huge_pages(tasks_.data() + tasks_.size(), (tasks_.capacity() - tasks_.size()) * sizeof(Task));
    }
    const std::size_t want = slots_for(n);
    if (want > slots_.size()) grow_slots(want);
}

// ------------------------------------------------------------------------------- tasks

bool Graph::add(Task task) {
    const std::uint32_t hash = hash32(task.key);
    if (find_hashed(task.key, hash) >= 0) return false;
    const std::int64_t position = size();
    if (position >= kMaxTasks) throw GraphError("a graph holds at most {} tasks", kMaxTasks);
    if (static_cast<std::size_t>(position + 1) * 2 > slots_.size())
        grow_slots(std::max<std::size_t>(16, slots_.size() * 2));
    tasks_.push_back(std::move(task));
    insert_slot(hash, position);
    return true;
}

void Graph::merge(const Graph& other) {
    if (&other == this) return;
    const std::size_t needed = tasks_.size() + other.tasks_.size();
    // Keep geometric growth when merging many small graphs one after another.
    if (needed > tasks_.capacity()) tasks_.reserve(std::max(needed, tasks_.capacity() * 2));
    for (const Task& task : other.tasks_) {
        if (!contains(task.key)) add(task);
    }
}

bool Graph::contains(const Key& key) const { return find(key) >= 0; }

std::int64_t Graph::find(const Key& key) const { return find_hashed(key, hash32(key)); }

void Graph::find_all(std::span<const Key> keys, std::span<std::int64_t> positions) const {
    TESSERA_ASSERT(keys.size() == positions.size(), "find_all needs one position per key");
    if (slots_.empty()) {
        std::fill(positions.begin(), positions.end(), -1);
        return;
    }
    // Three passes over a batch, each issuing the batch's independent cache misses together:
    // the hash slots, then the candidate tasks, then their index arrays; the final find_hashed
    // then runs from cache.
    constexpr std::size_t kBatch = 16;
    const std::size_t mask = slots_.size() - 1;
    std::uint32_t hashes[kBatch];
    for (std::size_t begin = 0; begin < keys.size(); begin += kBatch) {
        const std::size_t count = std::min(kBatch, keys.size() - begin);
        for (std::size_t k = 0; k < count; ++k) {
            hashes[k] = hash32(keys[begin + k]);
            __builtin_prefetch(&slots_[hashes[k] & mask]);
        }
        for (std::size_t k = 0; k < count; ++k) {
            const std::uint64_t entry = slots_[hashes[k] & mask];
            if (entry != 0 && (entry >> 32) == hashes[k])
                __builtin_prefetch(&tasks_[static_cast<std::size_t>((entry & kPositionMask) - 1)].key);
        }
        for (std::size_t k = 0; k < count; ++k) {
            const std::uint64_t entry = slots_[hashes[k] & mask];
            if (entry != 0 && (entry >> 32) == hashes[k])
                __builtin_prefetch(tasks_[static_cast<std::size_t>((entry & kPositionMask) - 1)].key.index().data());
        }
        for (std::size_t k = 0; k < count; ++k) positions[begin + k] = find_hashed(keys[begin + k], hashes[k]);
    }
}

const Task& Graph::at(const Key& key) const {
    const std::int64_t position = find(key);
    if (position < 0) throw GraphError("key {} is not in the graph", key.str());
    return tasks_[static_cast<std::size_t>(position)];
}

// ------------------------------------------------------------------------------- cull

Graph Graph::cull(std::span<const Key> outputs) const {
    std::vector<std::uint8_t> needed(tasks_.size(), 0);
    std::vector<std::int64_t> stack;
    stack.reserve(outputs.size());
    for (const Key& key : outputs) {
        const std::int64_t position = find(key);
        if (position < 0) throw GraphError("key {} is not in the graph", key.str());
        if (!needed[static_cast<std::size_t>(position)]) {
            needed[static_cast<std::size_t>(position)] = 1;
            stack.push_back(position);
        }
    }
    std::int64_t count = static_cast<std::int64_t>(stack.size());
    std::vector<std::int64_t> positions;
    while (!stack.empty()) {
        const Task& task = tasks_[static_cast<std::size_t>(stack.back())];
        stack.pop_back();
        positions.resize(task.deps.size());
        find_all(task.deps, positions);
        for (std::size_t d = 0; d < positions.size(); ++d) {
            const std::int64_t position = positions[d];
            if (position < 0)
                throw GraphError("dependency {} of {} is not in the graph", task.deps[d].str(), task.key.str());
            if (!needed[static_cast<std::size_t>(position)]) {
                needed[static_cast<std::size_t>(position)] = 1;
                stack.push_back(position);
                ++count;
            }
        }
    }

    // Nothing to drop (the usual case for freshly lowered graphs): copying keeps the table.
    if (count == size()) return *this;

    // Keep the original relative order: deterministic, and any useful order the caller built
    // the graph in survives.
    Graph out;
    out.reserve(count);
    // Slots are filled a batch at a time, prefetched first, so their cache misses overlap.
    constexpr std::size_t kBatch = 16;
    std::uint32_t hashes[kBatch];
    std::size_t pending = 0;
    auto flush = [&] {
        const std::size_t first = out.tasks_.size() - pending;
        for (std::size_t k = 0; k < pending; ++k)
            out.insert_slot(hashes[k], static_cast<std::int64_t>(first + k));
        pending = 0;
    };
    const std::size_t mask = out.slots_.size() - 1;
    for (std::size_t position = 0; position < tasks_.size(); ++position) {
        if (!needed[position]) continue;
        const Task& task = tasks_[position];
        hashes[pending] = hash32(task.key);
        __builtin_prefetch(&out.slots_[hashes[pending] & mask], 1);
        out.tasks_.push_back(task);
        if (++pending == kBatch) flush();
    }
    flush();
    return out;
}

// ------------------------------------------------------------------------------- index and order

GraphIndex index_graph(const Graph& graph) {
    const std::vector<Task>& tasks = graph.tasks();
    const std::size_t n = tasks.size();
    GraphIndex index;
    index.dep_offsets.resize(n + 1);
    std::size_t edges = 0;
    for (std::size_t t = 0; t < n; ++t) {
        index.dep_offsets[t] = static_cast<std::int64_t>(edges);
        edges += tasks[t].deps.size();
    }
    index.dep_offsets[n] = static_cast<std::int64_t>(edges);

    index.dep_ids.resize(edges);
    std::vector<std::int64_t> counts(n + 1, 0);
    std::size_t edge = 0;
    for (const Task& task : tasks) {
        const std::span<std::int64_t> positions(index.dep_ids.data() + edge, task.deps.size());
        graph.find_all(task.deps, positions);
        for (std::size_t d = 0; d < positions.size(); ++d) {
            if (positions[d] < 0)
                throw GraphError("dependency {} of {} is not in the graph", task.deps[d].str(), task.key.str());
            ++counts[static_cast<std::size_t>(positions[d]) + 1];
        }
        edge += task.deps.size();
    }

    // The transpose by counting sort: each dependent list comes out in ascending order.
    index.dependent_offsets.resize(n + 1);
    std::int64_t running = 0;
    for (std::size_t t = 0; t <= n; ++t) {
        running += counts[t];
        index.dependent_offsets[t] = running;
    }
    index.dependent_ids.resize(edges);
    std::vector<std::int64_t> cursor(index.dependent_offsets.begin(), index.dependent_offsets.end() - 1);
    for (std::size_t t = 0; t < n; ++t) {
        for (auto e = index.dep_offsets[t]; e < index.dep_offsets[t + 1]; ++e) {
            const auto dep = static_cast<std::size_t>(index.dep_ids[static_cast<std::size_t>(e)]);
            index.dependent_ids[static_cast<std::size_t>(cursor[dep]++)] = static_cast<std::int64_t>(t);
        }
    }
    return index;
}

namespace detail {

std::vector<std::int64_t> kahn_order(const Graph& graph, const GraphIndex& index) {
    const std::size_t n = static_cast<std::size_t>(index.size());
    std::vector<std::int64_t> remaining(n);
    std::vector<std::int64_t> order;
    order.reserve(n);
    for (std::size_t t = 0; t < n; ++t) {
        remaining[t] = index.dep_offsets[t + 1] - index.dep_offsets[t];
        if (remaining[t] == 0) order.push_back(static_cast<std::int64_t>(t));
    }
    // `order` doubles as the FIFO queue.
    for (std::size_t head = 0; head < order.size(); ++head) {
        const auto t = static_cast<std::size_t>(order[head]);
        for (auto e = index.dependent_offsets[t]; e < index.dependent_offsets[t + 1]; ++e) {
            const auto dependent = index.dependent_ids[static_cast<std::size_t>(e)];
            if (--remaining[static_cast<std::size_t>(dependent)] == 0) order.push_back(dependent);
        }
    }
    if (order.size() == n) return order;

    // Every task left has an unfinished dependency: following the first such dependency from
    // any of them must revisit a task, which lies on a cycle. Name the cycle's first position.
    auto next = [&](std::size_t t) {
        for (auto e = index.dep_offsets[t]; e < index.dep_offsets[t + 1]; ++e) {
            const auto dep = static_cast<std::size_t>(index.dep_ids[static_cast<std::size_t>(e)]);
            if (remaining[dep] > 0) return dep;
        }
        TESSERA_ASSERT(false, "a task left by Kahn's algorithm has no unfinished dependency");
        return t;
    };
    std::size_t start = 0;
    while (remaining[start] == 0) ++start;
    std::vector<std::uint8_t> seen(n, 0);
    std::size_t t = start;
    while (!seen[t]) {
        seen[t] = 1;
        t = next(t);
    }
    std::size_t first = t;
    for (std::size_t u = next(t); u != t; u = next(u)) first = std::min(first, u);
    throw GraphError("cycle in the task graph through {}", graph.tasks()[first].key.str());
}

}  // namespace detail

std::vector<std::int64_t> Graph::topological_order() const {
    return detail::kahn_order(*this, index_graph(*this));
}

void Graph::validate() const { detail::kahn_order(*this, index_graph(*this)); }

}  // namespace tessera
