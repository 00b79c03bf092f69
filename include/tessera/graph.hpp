#pragma once
/// \file graph.hpp
/// The task graph: keys, tasks as plain data, registered operations, and graph utilities
/// (cull, topological order, memory-aware order, validation, DOT export).
///
/// A task names a registered operation, carries that operation's serialized parameters and
/// lists the keys whose values it consumes, so it can be shipped to another process as is.
///
///     ts::Graph g;
///     g.add(ts::Task{ts::Key("x"), ts::op_id("tessera.identity"), {}, {}});

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tessera/value.hpp"

namespace tessera {

/// A task key: an interned name (usually "<group>-<token>") and a block index.
/// Printed like Dask's keys: ('sum-3f2a19c0', 0, 1), or 'name' without an index.
/// Names are interned in a thread-safe process-wide table and kept for the process lifetime;
/// name() does not lock.
class Key {
public:
    Key() = default;
    explicit Key(std::string_view name, std::vector<std::int64_t> index = {});
    Key(std::string_view name, std::initializer_list<std::int64_t> index)
        : Key(name, std::vector<std::int64_t>(index)) {}

    std::string_view name() const;
    std::uint32_t name_id() const { return name_; }
    const std::vector<std::int64_t>& index() const { return index_; }
    /// The task group: the name up to its last '-' when what follows is a hex token of at
    /// least 8 digits ("mean_chunk-3f2a19c0" → "mean_chunk"); otherwise the whole name
    /// ("my-data" → "my-data").
    std::string_view group() const;
    /// Dask-style text: ('sum-3f2a19c0', 0, 1), or 'name' without an index.
    std::string str() const;

    friend bool operator==(const Key& a, const Key& b) {
        return a.name_ == b.name_ && a.index_ == b.index_;
    }
    /// Orders by name text, then index (deterministic across processes).
    friend bool operator<(const Key& a, const Key& b);
    std::size_t hash() const;

private:
    std::uint32_t name_ = 0;  // interned; 0 is the empty name
    std::vector<std::int64_t> index_;
};

std::ostream& operator<<(std::ostream& os, const Key& key);

struct KeyHash {
    std::size_t operator()(const Key& k) const { return k.hash(); }
};

/// Deterministic tokens: a 64-bit hash of everything that defines a value, as hex text.
/// Order-sensitive and typed (add(1) differs from add(1.0) and add("1")); the same values give
/// the same token in every process.
class Tokenizer {
public:
    Tokenizer& add(std::string_view s);
    Tokenizer& add(std::int64_t v);
    Tokenizer& add(double v);
    Tokenizer& add(const Key& k);
    Tokenizer& add(std::span<const std::int64_t> v);
    Tokenizer& add_bytes(const void* data, std::size_t n);
    std::uint64_t digest() const { return state_; }
    /// 16 hex digits.
    std::string hex() const;

private:
    std::uint64_t state_ = 0xcbf29ce484222325ull;
};

/// A fresh random-looking unique token (for impure tasks), 16 hex digits.
std::string unique_token();

// ---------------------------------------------------------------------------------- operations

struct Task;

/// What an operation receives when it runs.
struct TaskContext {
    const Task& task;
    /// Values of task.deps, in order.
    std::span<const Value* const> inputs;
    /// Index of the executing thread within its scheduler (0 for sync).
    int thread = 0;
};

/// An operation: computes a task's value from its inputs and parameters.
using OpFn = Value (*)(const TaskContext& ctx);

using OpId = std::uint32_t;

/// Registers `fn` under `name` (idempotent for the same fn; GraphError if `name` is taken by
/// another function). Returns its id, stable within a process.
OpId register_op(std::string_view name, OpFn fn);
/// The id of a registered operation; GraphError "unknown operation 'x'" when absent.
OpId op_id(std::string_view name);
/// True when `name` is registered in this process.
bool has_op(std::string_view name);
/// The name / function of a registered id (ids start at 1; 0 means "no operation");
/// GraphError "unknown operation id 7" otherwise. Lock-free.
std::string_view op_name(OpId id);
OpFn op_fn(OpId id);

/// Registers a user kernel at static-initialization time:
///     static ts::Value my_kernel(const ts::TaskContext& ctx) { ... }
///     TESSERA_REGISTER_KERNEL("myproj.my_kernel", my_kernel);
#define TESSERA_REGISTER_KERNEL(name, fn) \
    static const ::tessera::OpId TESSERA_CONCAT(tessera_kernel_, __LINE__) = \
        ::tessera::register_op(name, fn)
#define TESSERA_CONCAT_INNER(a, b) a##b
#define TESSERA_CONCAT(a, b) TESSERA_CONCAT_INNER(a, b)

/// A unit of work: plain data.
struct Task {
    Key key{};
    OpId op = 0;
    /// Operation parameters, serialized by the operation's own codec (cereal binary inside the
    /// library); empty when the operation takes none.
    std::string params{};
    /// Keys whose values are the inputs, in argument order (may repeat).
    std::vector<Key> deps{};
    /// In-process payload that cannot be serialized (e.g. a delayed C++ callable). A task with
    /// a `local` payload runs only in the process that built it.
    std::shared_ptr<const void> local{};
    /// Estimated output bytes (0 = unknown); used by ordering and placement.
    std::int64_t nbytes_hint = 0;
};

// ---------------------------------------------------------------------------------- graph

/// A set of tasks keyed by Key. Adding a key twice keeps the first task (deterministic keys
/// mean the same key is the same computation).
class Graph {
public:
    Graph() = default;

    /// Adds a task; returns false when the key was already present.
    bool add(Task task);
    /// Adds every task of `other`.
    void merge(const Graph& other);
    bool contains(const Key& key) const;
    /// The task of `key`; GraphError "key ... is not in the graph" when absent.
    const Task& at(const Key& key) const;
    /// Position of `key` in tasks(), or -1.
    std::int64_t find(const Key& key) const;
    /// find() for each of `keys` into `positions` (same size), overlapping the memory accesses
    /// of several lookups: much faster than a loop over find() on large graphs.
    void find_all(std::span<const Key> keys, std::span<std::int64_t> positions) const;
    std::int64_t size() const { return static_cast<std::int64_t>(tasks_.size()); }
    bool empty() const { return tasks_.empty(); }
    const std::vector<Task>& tasks() const { return tasks_; }
    void reserve(std::int64_t n);

    /// Only the tasks needed for `outputs`, in their original relative order. GraphError naming
    /// a missing output ("key ('x', 3) is not in the graph") or dependency.
    Graph cull(std::span<const Key> outputs) const;
    /// Checks that every dependency exists and there is no cycle; GraphError naming a key
    /// ("dependency ('x', 3) of ('y', 1) is not in the graph",
    /// "cycle in the task graph through ('a', 0)", the key being on the cycle).
    void validate() const;
    /// A topological order (dependencies first) as positions in tasks(): Kahn's algorithm with
    /// the tasks without dependencies in position order, so deterministic. GraphError as validate().
    std::vector<std::int64_t> topological_order() const;
    /// Writes Graphviz DOT text: one node per task labelled by key, coloured by group.
    void to_dot(std::ostream& os) const;
    /// Writes DOT to `path`; when `path` ends in .svg/.png and Graphviz's `dot` is installed,
    /// renders it (IOError if it cannot write or render).
    void visualize(const std::string& path) const;

private:
    std::int64_t find_hashed(const Key& key, std::uint32_t hash) const;
    void insert_slot(std::uint32_t hash, std::int64_t position);
    void grow_slots(std::size_t capacity);

    std::vector<Task> tasks_;
    // Open-addressing hash table over tasks_ (linear probing, load <= 1/2): each slot holds
    // (low 32 bits of Key::hash() << 32) | (position + 1); 0 is an empty slot.
    std::vector<std::uint64_t> slots_;
};

/// Several collections added to one graph together (ts::compute(a, b, ...)). While a batch for
/// a graph is open on this thread, a collection may postpone adding its tasks to finish(), so
/// that collections built together share work: arrays lower all their expressions at once, and
/// an expression used by two outputs is computed once instead of being fused into both.
///
///     GraphBatch batch(graph);
///     a.add_to_graph(graph, keys);  // keys now, tasks at finish()
///     b.add_to_graph(graph, keys);
///     batch.finish();
class GraphBatch {
public:
    explicit GraphBatch(Graph& graph);
    /// Closes the batch; work not finished is dropped.
    ~GraphBatch();
    GraphBatch(const GraphBatch&) = delete;
    GraphBatch& operator=(const GraphBatch&) = delete;

    /// The batch open for `graph` on this thread, or nullptr.
    static GraphBatch* current(const Graph& graph);
    /// State shared by the collections of one kind (`tag`), empty until one sets it.
    std::shared_ptr<void>& state(std::string_view tag);
    /// Work to run at finish(), in the order registered.
    void at_finish(std::function<void(Graph&)> work);
    /// Runs the postponed work (once) and closes the batch.
    void finish();

private:
    Graph& graph_;
    GraphBatch* outer_;
    std::vector<std::pair<std::string, std::shared_ptr<void>>> states_;
    std::vector<std::function<void(Graph&)>> work_;
    bool open_ = true;
};

/// Dependency structure of a graph in index form (built once per computation).
struct GraphIndex {
    /// deps of task t: dep_ids[dep_offsets[t] .. dep_offsets[t+1]) (positions in tasks()).
    std::vector<std::int64_t> dep_offsets, dep_ids;
    /// dependents of task t, same layout: the exact transpose of dep_ids, so a task that lists
    /// a dependency twice appears twice among that dependency's dependents (ascending order).
    std::vector<std::int64_t> dependent_offsets, dependent_ids;
    std::int64_t size() const { return static_cast<std::int64_t>(dep_offsets.size()) - 1; }
};
/// Builds the index; GraphError naming the first missing dependency.
GraphIndex index_graph(const Graph& graph);

/// The static memory-aware order (like dask.order): priority[t] for every task, smaller runs
/// first. Finishes a branch and releases its inputs before starting new roots, so reductions
/// over many chunks run in bounded memory. Iterative (no recursion); O(tasks + edges · log).
/// Outputs are completed in the given order (no outputs: every task without dependents, in
/// position order); tasks not needed by the outputs come last, in topological order.
/// GraphError for a missing output or a cycle.
std::vector<std::int64_t> memory_order(const Graph& graph, const GraphIndex& index,
                                       std::span<const Key> outputs);

}  // namespace tessera
