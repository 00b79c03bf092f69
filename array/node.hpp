#pragma once
// Internal: the expression nodes behind tessera::Array and how they lower to tasks.
//
// An Array is a handle to an immutable ArrayNode. A node knows its dtype, chunks and a
// deterministic name ("<op>-<token>", the token hashing the op, its parameters and its inputs'
// names), so building the same expression twice yields the same keys. compute() lowers the nodes
// reachable from the outputs into a Graph: block `b` of node `n` is the task Key(n.name, b).
//
// Fusion happens during lowering: an elementwise node (arithmetic, math, where, astype, and the
// sources random/full/arange) whose consumer is also elementwise, or a reduction's first stage,
// is not materialized; the consumer's task evaluates a fused program reading the blocks of the
// nearest non-elementwise inputs instead (see array/fused.hpp).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tessera/array.hpp"
#include "tessera/chunks.hpp"
#include "tessera/graph.hpp"

namespace tessera::detail {

class ArrayNode;
using NodePtr = std::shared_ptr<const ArrayNode>;

struct LowerContext {
    explicit LowerContext(Graph& g) : graph(g) {}
    Graph& graph;
    /// Names of nodes whose tasks are already in the graph.
    std::unordered_set<std::string> lowered;
    /// Number of consumers of each node (by name: equal expressions are one node) within the
    /// expressions being lowered (see count_consumers).
    std::unordered_map<std::string, int> consumers;
    /// Fuse elementwise chains (config().optimize).
    bool fuse = true;

    /// True when `node` may be evaluated inside its (single) consumer's kernel.
    bool fusable(const ArrayNode& node) const;
};

class ArrayNode {
public:
    ArrayNode(std::string op, DType dtype, Chunks chunks, std::vector<NodePtr> inputs,
              std::uint64_t params_token);
    virtual ~ArrayNode();
    ArrayNode(const ArrayNode&) = delete;
    ArrayNode& operator=(const ArrayNode&) = delete;

    const std::string& op() const { return op_; }
    DType dtype() const { return dtype_; }
    const Chunks& chunks() const { return chunks_; }
    const Shape& shape() const { return shape_; }
    std::int64_t ndim() const { return static_cast<std::int64_t>(shape_.size()); }
    const std::string& name() const { return name_; }
    const std::vector<NodePtr>& inputs() const { return inputs_; }
    Key block_key(std::span<const std::int64_t> block) const;

    /// Adds the tasks of every block of this node (and, first, of the inputs it reads) to
    /// ctx.graph, unless already lowered. Implementations call lower_inputs() as needed.
    void lower(LowerContext& ctx) const;

    /// True for nodes that may be fused into an elementwise program (blockwise, aligned blocks).
    virtual bool is_elementwise() const { return false; }
    /// Dimension names of this node's array (sources such as from_zarr know them); empty = none.
    virtual std::vector<std::string> dims() const { return {}; }

protected:
    /// Adds this node's tasks (inputs are lowered by the implementation as needed).
    virtual void lower_tasks(LowerContext& ctx) const = 0;

private:
    std::string op_;
    DType dtype_;
    Chunks chunks_;
    Shape shape_;
    std::vector<NodePtr> inputs_;
    std::string name_;
};

/// Counts, for every node reachable from `outputs`, how many nodes consume it (outputs count
/// one extra consumer so they are always materialized). Iterative.
void count_consumers(std::span<const NodePtr> outputs, LowerContext& ctx);

/// Lowers `outputs` into `graph` and returns the keys of all their blocks (C order per output).
std::vector<Key> lower_arrays(std::span<const NodePtr> outputs, Graph& graph, bool fuse);

/// Calls f(block_index) for every block index of a grid with `numblocks`, in C order.
template <class F>
void for_each_block(const Shape& numblocks, F&& f) {
    std::int64_t total = 1;
    for (auto n : numblocks) total *= n;
    if (total == 0) return;
    std::vector<std::int64_t> idx(numblocks.size(), 0);
    for (std::int64_t flat = 0; flat < total; ++flat) {
        f(std::span<const std::int64_t>(idx));
        for (std::int64_t axis = static_cast<std::int64_t>(idx.size()) - 1; axis >= 0; --axis) {
            if (++idx[static_cast<size_t>(axis)] < numblocks[static_cast<size_t>(axis)]) break;
            idx[static_cast<size_t>(axis)] = 0;
        }
    }
}

/// A task that yields a fixed Value held in-process (from_array, persist).
Task constant_task(Key key, Value value);

}  // namespace tessera::detail
