// tessera::Array: the handle's accessors, compute/persist/graph, the collection protocol and
// from_array (a node whose blocks are constants held in-process).
#include <cstring>
#include <utility>

#include "array/node.hpp"
#include "array/verify.hpp"
#include "tessera/array.hpp"
#include "tessera/config.hpp"
#include "tessera/error.hpp"

namespace tessera {

namespace detail {
namespace {

/// Blocks held in memory (from_array, persist): every block task is a constant.
class ConstantNode final : public ArrayNode {
public:
    ConstantNode(std::string op, DType dtype, Chunks chunks, std::vector<Value> blocks,
                 std::uint64_t token)
        : ArrayNode(std::move(op), dtype, std::move(chunks), {}, token), blocks_(std::move(blocks)) {
        TESSERA_ASSERT(static_cast<std::int64_t>(blocks_.size()) == this->chunks().nblocks(),
                       "one Value per block");
    }

protected:
    void lower_tasks(LowerContext& ctx) const override {
        std::size_t flat = 0;
        for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> block) {
            ctx.graph.add(constant_task(block_key(block), blocks_[flat++]));
        });
    }

private:
    std::vector<Value> blocks_;
};

// A content hash of the data (four interleaved multiply-xor lanes: a few GB/s), so that
// from_array of equal data gives equal keys like Dask's tokenize.
std::uint64_t hash_bytes(const std::byte* data, std::int64_t n) {
    constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ull;
    std::uint64_t lanes[4] = {0x243F6A8885A308D3ull, 0x13198A2E03707344ull, 0xA4093822299F31D0ull,
                              0x082EFA98EC4E6C89ull};
    std::int64_t pos = 0;
    for (; pos + 32 <= n; pos += 32) {
        for (int lane = 0; lane < 4; ++lane) {
            std::uint64_t word;
            std::memcpy(&word, data + pos + 8 * lane, 8);
            lanes[lane] = (lanes[lane] ^ word) * kMul;
            lanes[lane] ^= lanes[lane] >> 29;
        }
    }
    std::uint64_t h = static_cast<std::uint64_t>(n);
    for (; pos < n; ++pos) h = (h ^ static_cast<std::uint64_t>(data[pos])) * kMul;
    for (auto lane : lanes) h = (h ^ lane) * kMul, h ^= h >> 31;
    return h;
}

std::uint64_t data_token(const NDArray& data) {
    NDArray c = data.contiguous();
    Tokenizer tok;
    tok.add(static_cast<std::int64_t>(c.dtype().id()));
    tok.add(std::span<const std::int64_t>(c.shape()));
    tok.add(static_cast<std::int64_t>(
        hash_bytes(static_cast<const std::byte*>(c.raw_data()), c.nbytes())));
    return tok.digest();
}

}  // namespace
}  // namespace detail

// ------------------------------------------------------------------------------ handle

Array::Array() : node_(from_array(NDArray()).node_) {}

Array::Array(std::shared_ptr<const detail::ArrayNode> node) : node_(std::move(node)) {
    TESSERA_ASSERT(node_ != nullptr, "Array over a null node");
}

DType Array::dtype() const { return node_->dtype(); }
const Shape& Array::shape() const { return node_->shape(); }
std::int64_t Array::shape(std::int64_t axis) const {
    return node_->shape()[static_cast<std::size_t>(normalize_axis(axis, ndim()))];
}
std::int64_t Array::ndim() const { return node_->ndim(); }
std::int64_t Array::size() const { return shape_size(node_->shape()); }
std::int64_t Array::nbytes() const { return size() * dtype().itemsize(); }
const Chunks& Array::chunks() const { return node_->chunks(); }
Shape Array::numblocks() const { return node_->chunks().numblocks(); }
const std::string& Array::name() const { return node_->name(); }
Key Array::block_key(std::span<const std::int64_t> block) const { return node_->block_key(block); }

// ------------------------------------------------------------------------------ computing

void Array::add_to_graph(Graph& graph, std::vector<Key>& keys) const {
    if (GraphBatch* batch = GraphBatch::current(graph)) {
        // Lowered with the other arrays of the batch: shared expressions are computed once.
        auto& state = batch->state("tessera.array");
        if (!state) {
            auto pending = std::make_shared<std::vector<detail::NodePtr>>();
            batch->at_finish([pending, fuse = config::get().optimize](Graph& g) {
                detail::lower_arrays(*pending, g, fuse);
            });
            state = pending;
        }
        std::static_pointer_cast<std::vector<detail::NodePtr>>(state)->push_back(node_);
        detail::for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> block) {
            keys.push_back(block_key(block));
        });
        return;
    }
    std::vector<Key> mine = detail::lower_arrays(std::span(&node_, 1), graph, config::get().optimize);
    keys.insert(keys.end(), std::make_move_iterator(mine.begin()), std::make_move_iterator(mine.end()));
}

std::size_t Array::n_keys() const { return static_cast<std::size_t>(chunks().nblocks()); }

NDArray Array::compute(const ComputeOptions& options) const {
    std::vector<Value> values;
    {
        Graph graph;
        std::vector<Key> keys;
        add_to_graph(graph, keys);
        if (!keys.empty()) values = compute_graph(graph, keys, options);
    }  // the graph (and the constants it holds) is released before finalize looks at sharing
    return finalize(values);  // verified there when TESSERA_VERIFY=1
}

NDArray Array::finalize(std::span<const Value> values) const {
    NDArray result = [&]() -> NDArray {
        const Chunks& ch = chunks();
        const std::int64_t nblocks = ch.nblocks();
        if (static_cast<std::int64_t>(values.size()) != nblocks)
            throw Error("array {} has {} blocks but {} values were given", name(), nblocks, values.size());
        const Shape grid = ch.numblocks();

        // Check every block; with unknown chunk sizes the block shapes define the geometry.
        std::vector<BlockSizes> sizes(ch.axes());
        std::int64_t flat = 0;
        detail::for_each_block(grid, [&](std::span<const std::int64_t> block) {
            const Value& v = values[static_cast<std::size_t>(flat++)];
            if (!v.is_array())
                throw Error("block {} of {} is a {}, not an array", shape_str(block), name(), v.describe());
            const NDArray& a = v.array();
            if (a.dtype() != dtype() || a.ndim() != ndim())
                throw Error("block {} of {} is a {} array {} but {} of rank {} was expected",
                            shape_str(block), name(), a.dtype(), shape_str(a.shape()), dtype(), ndim());
            for (std::int64_t axis = 0; axis < ndim(); ++axis) {
                auto& s = sizes[static_cast<std::size_t>(axis)][static_cast<std::size_t>(block[axis])];
                if (s < 0) s = a.shape(axis);
                if (s != a.shape(axis))
                    throw Error("block {} of {} has shape {} but the chunks say {} along axis {}",
                                shape_str(block), name(), shape_str(a.shape()), s, axis);
            }
        });
        Chunks actual(std::move(sizes));
        Shape shape = actual.shape();

        if (nblocks == 1) {
            const NDArray& a = values[0].array();
            // Hand out the block itself only when nobody else (a constant in a graph, another
            // output with the same key) can see its buffer: results are the caller's to modify.
            if (a.is_contiguous() && a.buffer() != nullptr && a.buffer().use_count() == 1) return a;
            return a.copy();
        }
        NDArray out = NDArray::empty(dtype(), shape);
        if (shape_size(shape) == 0) return out;
        flat = 0;
        std::vector<std::int64_t> offset(static_cast<std::size_t>(ndim()));
        detail::for_each_block(grid, [&](std::span<const std::int64_t> block) {
            for (std::int64_t axis = 0; axis < ndim(); ++axis)
                offset[static_cast<std::size_t>(axis)] = actual.block_start(axis, block[axis]);
            out.assign_region(offset, values[static_cast<std::size_t>(flat++)].array());
        });
        return out;
    }();
    // TESSERA_VERIFY=1: every array result, of compute() and of ts::compute(a, b, ...) (whose
    // arrays were lowered and optimized together), is checked against its own unfused graph;
    // verify_array assembles its expected value through finalize too, which is not verified.
    static thread_local bool verifying = false;
    if (!verifying && detail::verify_enabled()) {
        verifying = true;
        try {
            detail::verify_array(*this, result);
        } catch (...) {
            verifying = false;
            throw;
        }
        verifying = false;
    }
    return result;
}

Array Array::persist(const ComputeOptions& options) const {
    std::vector<Value> values;
    {
        Graph graph;
        std::vector<Key> keys;
        add_to_graph(graph, keys);
        if (!keys.empty()) values = compute_graph(graph, keys, options);
    }
    for (std::size_t b = 0; b < values.size(); ++b)
        if (!values[b].is_array())
            throw Error("block {} of {} is a {}, not an array", b, name(), values[b].describe());
    Tokenizer tok;
    tok.add(std::string_view("persist")).add(std::string_view(name()));
    return Array(std::make_shared<detail::ConstantNode>(node_->op(), dtype(), chunks(),
                                                        std::move(values), tok.digest()));
}

Graph Array::graph(bool optimized) const {
    Graph graph;
    detail::lower_arrays(std::span(&node_, 1), graph, optimized && config::get().optimize);
    return graph;
}

void Array::visualize(const std::string& path, bool optimized) const { graph(optimized).visualize(path); }

// ------------------------------------------------------------------------------ from_array

Array from_array(const NDArray& data, const ChunkSpec& chunks) {
    Chunks ch = normalize_chunks(chunks, data.shape(), data.dtype());
    std::vector<Value> blocks;
    blocks.reserve(static_cast<std::size_t>(ch.nblocks()));
    detail::for_each_block(ch.numblocks(), [&](std::span<const std::int64_t> block) {
        NDArray view = data;
        for (std::int64_t axis = 0; axis < data.ndim(); ++axis) {
            std::int64_t start = ch.block_start(axis, block[static_cast<std::size_t>(axis)]);
            std::int64_t len = ch.sizes(axis)[static_cast<std::size_t>(block[static_cast<std::size_t>(axis)])];
            view = view.slice(axis, start, start + len);
        }
        blocks.emplace_back(view.copy());
    });
    return Array(std::make_shared<detail::ConstantNode>("array", data.dtype(), std::move(ch),
                                                        std::move(blocks), detail::data_token(data)));
}

}  // namespace tessera
