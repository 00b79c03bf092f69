// Dask's rechunk planner (dask/array/rechunk.py: plan_rechunk, find_merge_rechunk,
// find_split_rechunk, divide_to_width, merge_to_number). A direct rechunk makes every output
// block depend on every input block it overlaps; when the number of such overlaps (the "graph
// size") is far above the number of blocks, the plan first merges input blocks towards the
// target along the axes where that reduces the block count, as far as the block size limit
// allows, and only then splits towards the target.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <queue>
#include <tuple>

#include "array/shape_ops.hpp"

namespace tessera::detail {

namespace {

using Axes2 = std::vector<BlockSizes>;

double largest_block_size(const Axes2& chunks) {
    double n = 1;
    for (const auto& sizes : chunks) n *= static_cast<double>(*std::max_element(sizes.begin(), sizes.end()));
    return n;
}

double number_of_blocks(const Axes2& chunks) {
    double n = 1;
    for (const auto& sizes : chunks) n *= static_cast<double>(sizes.size());
    return n;
}

// The number of intermediate pieces of a direct rechunk (an upper bound of the overlaps).
double estimate_graph_size(const Axes2& old_chunks, const Axes2& new_chunks) {
    double n = 1;
    for (std::size_t axis = 0; axis < old_chunks.size(); ++axis) {
        const auto& oc = old_chunks[axis];
        const auto& nc = new_chunks[axis];
        n *= oc == nc ? static_cast<double>(oc.size()) : static_cast<double>(oc.size() + nc.size() - 1);
    }
    return n;
}

// Minimally divides the chunks so that none is wider than max_width.
BlockSizes divide_to_width(const BlockSizes& desired, std::int64_t max_width) {
    BlockSizes out;
    max_width = std::max<std::int64_t>(max_width, 1);
    for (std::int64_t c : desired) {
        const std::int64_t divides = (c + max_width - 1) / max_width;
        for (std::int64_t k = 0; k < divides; ++k) {
            const std::int64_t n = c / (divides - k);
            out.push_back(n);
            c -= n;
        }
    }
    return out;
}

// Minimally merges adjacent chunks so there are at most max_number, keeping the widest small.
BlockSizes merge_to_number(const BlockSizes& desired, std::int64_t max_number) {
    const auto count = static_cast<std::int64_t>(desired.size());
    if (count <= max_number) return desired;
    max_number = std::max<std::int64_t>(max_number, 1);
    if (std::all_of(desired.begin(), desired.end(), [&](auto c) { return c == desired[0]; })) {
        // Homogeneous: a regular result.
        const std::int64_t w = desired[0];
        const std::int64_t total = count * w;
        const std::int64_t desired_width = total / max_number;
        const std::int64_t width = w * (desired_width / w);
        const std::int64_t adjust = (total - max_number * width) / w;
        BlockSizes out(static_cast<std::size_t>(adjust), width + w);
        out.insert(out.end(), static_cast<std::size_t>(max_number - adjust), width);
        return out;
    }
    std::int64_t merges = count - max_number;
    using Entry = std::tuple<std::int64_t, std::size_t, std::size_t>;  // width, i, j
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
    for (std::size_t k = 0; k + 1 < desired.size(); ++k) heap.emplace(desired[k] + desired[k + 1], k, k + 1);
    BlockSizes chunks = desired;
    std::vector<bool> deleted(chunks.size(), false);
    while (merges > 0) {
        auto [width, i, j] = heap.top();
        heap.pop();
        if (deleted[j]) {
            while (deleted[j]) ++j;
            heap.emplace(chunks[i] + chunks[j], i, j);
            continue;
        }
        if (chunks[i] + chunks[j] != width) {
            heap.emplace(chunks[i] + chunks[j], i, j);
            continue;
        }
        deleted[i] = true;
        chunks[j] = width;
        --merges;
    }
    BlockSizes out;
    for (std::size_t k = 0; k < chunks.size(); ++k)
        if (!deleted[k]) out.push_back(chunks[k]);
    return out;
}

// An intermediate chunking merging adjacent blocks towards new_chunks without blocks above
// block_size_limit (elements); second: whether the limit stopped a merge.
std::pair<Axes2, bool> find_merge_rechunk(const Axes2& old_chunks, const Axes2& new_chunks,
                                          double block_size_limit) {
    const std::size_t ndim = old_chunks.size();
    std::vector<double> old_largest(ndim), new_largest(ndim), graph_effect(ndim), block_effect(ndim);
    for (std::size_t axis = 0; axis < ndim; ++axis) {
        old_largest[axis] = static_cast<double>(*std::max_element(old_chunks[axis].begin(), old_chunks[axis].end()));
        new_largest[axis] = static_cast<double>(*std::max_element(new_chunks[axis].begin(), new_chunks[axis].end()));
        graph_effect[axis] = static_cast<double>(new_chunks[axis].size()) / static_cast<double>(old_chunks[axis].size());
        block_effect[axis] = new_largest[axis] / (old_largest[axis] != 0 ? old_largest[axis] : 1);
    }
    // Merging along an axis divides the graph size and multiplies the block size: a knapsack
    // with multiplicative values, solved greedily by value per weight like Dask.
    std::vector<std::size_t> candidates;
    for (std::size_t axis = 0; axis < ndim; ++axis)
        if (graph_effect[axis] <= 1.0) candidates.push_back(axis);
    auto key = [&](std::size_t axis) {
        double bse = block_effect[axis];
        if (bse == 1) bse = 1 + 1e-9;
        return bse > 0 ? std::log(graph_effect[axis]) / std::log(bse) : 0.0;
    };
    std::stable_sort(candidates.begin(), candidates.end(),
                     [&](std::size_t a, std::size_t b) { return key(a) < key(b); });

    double largest = largest_block_size(old_chunks);
    Axes2 chunks = old_chunks;
    bool limit_hit = false;
    for (std::size_t axis : candidates) {
        const double old_width = old_largest[axis] != 0 ? old_largest[axis] : 1;
        const double grown = std::floor(largest * new_largest[axis] / old_width);
        if (grown <= block_size_limit) {
            chunks[axis] = new_chunks[axis];
            largest = grown;
        } else {
            // A partial merge: the new chunks divided into pieces that fit.
            const auto limit = static_cast<std::int64_t>(block_size_limit * old_largest[axis] / largest);
            BlockSizes c = divide_to_width(new_chunks[axis], limit);
            if (c.size() <= old_chunks[axis].size()) {
                chunks[axis] = c;
                largest = std::floor(largest * static_cast<double>(*std::max_element(c.begin(), c.end())) / old_width);
            }
            limit_hit = true;
        }
    }
    return {std::move(chunks), limit_hit};
}

// An intermediate chunking splitting blocks towards new_chunks without the graph size going
// above graph_size_limit.
Axes2 find_split_rechunk(const Axes2& old_chunks, const Axes2& new_chunks, double graph_size_limit) {
    Axes2 chunks = old_chunks;
    for (std::size_t axis = 0; axis < old_chunks.size(); ++axis) {
        const double graph_size = estimate_graph_size(chunks, new_chunks);
        if (graph_size > graph_size_limit) break;
        if (old_chunks[axis].size() > new_chunks[axis].size()) continue;  // nothing to split
        const auto max_number = static_cast<std::int64_t>(
            static_cast<double>(old_chunks[axis].size()) * graph_size_limit / graph_size);
        BlockSizes c = merge_to_number(new_chunks[axis], max_number);
        if (c.size() >= old_chunks[axis].size() &&
            *std::max_element(c.begin(), c.end()) <=
                *std::max_element(old_chunks[axis].begin(), old_chunks[axis].end()))
            chunks[axis] = std::move(c);
    }
    return chunks;
}

}  // namespace

std::vector<Chunks> plan_rechunk(const Chunks& old, const Chunks& target, std::int64_t itemsize,
                                 double threshold, std::int64_t block_size_limit) {
    const Axes2& old_chunks = old.axes();
    const Axes2& new_chunks = target.axes();
    if (new_chunks.size() <= 1 || old.has_unknown()) return {target};

    double limit = static_cast<double>(block_size_limit) / static_cast<double>(std::max<std::int64_t>(itemsize, 1));
    limit = std::max({limit, largest_block_size(old_chunks), largest_block_size(new_chunks)});
    const double graph_size_threshold = threshold * (number_of_blocks(old_chunks) + number_of_blocks(new_chunks));

    Axes2 current = old_chunks;
    bool first_pass = true;
    std::vector<Chunks> steps;
    // Each pass either stops or changes the chunking; the cap guards against oscillation.
    for (int pass = 0; pass < 64; ++pass) {
        const double graph_size = estimate_graph_size(current, new_chunks);
        if (graph_size < graph_size_threshold) break;
        Axes2 chunks = first_pass ? current : find_split_rechunk(current, new_chunks, graph_size * threshold);
        auto [merged, limit_hit] = find_merge_rechunk(chunks, new_chunks, limit);
        if ((merged == current && !first_pass) || merged == new_chunks) break;
        if (merged != current) steps.emplace_back(merged);
        current = std::move(merged);
        if (!limit_hit) break;
        first_pass = false;
    }
    steps.push_back(target);
    return steps;
}

}  // namespace tessera::detail
