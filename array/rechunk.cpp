// rechunk, and the AssembleNode machinery it shares with reshape and concatenate: every output
// block is one task ("tessera.assemble") that copies the overlapping pieces of the input blocks
// into place. Large all-to-all rechunks go through the intermediate chunkings of plan_rechunk
// (array/rechunk_plan.cpp), one RechunkNode per stage.
#include <algorithm>
#include <cstring>
#include <utility>

#include "array/elementwise.hpp"
#include "array/fused.hpp"
#include "array/fused_kernels.hpp"
#include "array/shape_ops.hpp"
#include "tessera/array_shape.hpp"
#include "tessera/config.hpp"

namespace tessera::detail {

namespace {

// ------------------------------------------------------------------------------ the kernel

struct AssembleParams {
    std::uint8_t dtype = 0;
    Shape out_shape;
    // One entry per piece. A piece is the region [src_start, src_stop) of input slots[k][0],
    // or, when programs[k] is not empty, the block computed by that fused program from the inputs
    // slots[k] (src_start / src_stop then span the whole result).
    std::vector<Shape> src_start, src_stop, dst_start;
    std::vector<std::string> programs;
    std::vector<std::vector<std::int32_t>> slots;

    template <class Archive>
    void serialize(Archive& ar) {
        ar(dtype, out_shape, src_start, src_stop, dst_start, programs, slots);
    }
};

NDArray region(const NDArray& block, const Shape& start, const Shape& stop) {
    if (static_cast<std::int64_t>(start.size()) != block.ndim() || stop.size() != start.size())
        throw ProtocolError("assemble: region of rank {} for a block of shape {}", start.size(),
                            shape_str(block.shape()));
    NDArray view = block;
    for (std::int64_t axis = 0; axis < block.ndim(); ++axis) {
        const auto a = static_cast<std::size_t>(axis);
        if (start[a] < 0 || stop[a] < start[a] || stop[a] > block.shape(axis))
            throw ProtocolError("assemble: region {}..{} is outside a block of shape {}", shape_str(start),
                                shape_str(stop), shape_str(block.shape()));
        if (start[a] != 0 || stop[a] != block.shape(axis)) view = view.slice(axis, start[a], stop[a]);
    }
    return view;
}

// Evaluates `program` straight into the region of `out` at `dst_start` (no piece buffer: its
// result tiles are copied into place as they come).
void write_program(NDArray& out, const Shape& dst_start, const Program& program,
                   std::span<const Value* const> inputs) {
    const Shape& shape = program.shape;
    if (program.dtype() != out.dtype() || shape.size() != dst_start.size() ||
        static_cast<std::int64_t>(shape.size()) != out.ndim())
        throw ProtocolError("assemble: a {} piece of shape {} for a {} block of shape {}", program.dtype(),
                            shape_str(shape), out.dtype(), shape_str(out.shape()));
    std::int64_t base = 0;
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
        if (dst_start[axis] < 0 || dst_start[axis] + shape[axis] > out.shape()[axis])
            throw ProtocolError("assemble: a piece of shape {} at {} outside a block of shape {}", shape_str(shape),
                                shape_str(dst_start), shape_str(out.shape()));
        base += dst_start[axis] * out.strides()[axis];
    }
    const Affine map = collapse(shape, out.strides(), base);
    const auto size = static_cast<std::size_t>(out.itemsize());
    auto* dst = static_cast<std::byte*>(out.raw_data());
    stream_program(program, inputs, [&](std::int64_t t0, std::int64_t n, const std::byte* tile) {
        for_segments(map, t0, n, [&](std::int64_t pos, std::int64_t lin, std::int64_t step, std::int64_t len) {
            if (step == 1) {
                std::memcpy(dst + static_cast<std::size_t>(lin) * size, tile + static_cast<std::size_t>(pos) * size,
                            static_cast<std::size_t>(len) * size);
            } else {
                for (std::int64_t e = 0; e < len; ++e)
                    std::memcpy(dst + static_cast<std::size_t>(lin + e * step) * size,
                                tile + static_cast<std::size_t>(pos + e) * size, size);
            }
        });
    });
}

// Output blocks with computed pieces: each piece is a region of an input or a fused program's
// result, written into place.
Value assemble_computed(const AssembleParams& p, const TaskContext& ctx) {
    const std::size_t n = p.programs.size();
    if (p.src_start.size() != n || p.src_stop.size() != n || p.dst_start.size() != n || p.slots.size() != n)
        throw ProtocolError("assemble: inconsistent parameters for {} pieces", n);
    NDArray out = NDArray::empty(DType(static_cast<DTypeId>(p.dtype)), p.out_shape);
    std::vector<const Value*> inputs;
    for (std::size_t k = 0; k < n; ++k) {
        inputs.clear();
        for (std::int32_t slot : p.slots[k]) {
            if (slot < 0 || static_cast<std::size_t>(slot) >= ctx.inputs.size())
                throw ProtocolError("assemble: piece {} reads input {} of {}", k, slot, ctx.inputs.size());
            inputs.push_back(ctx.inputs[static_cast<std::size_t>(slot)]);
        }
        if (p.programs[k].empty()) {
            if (inputs.size() != 1) throw ProtocolError("assemble: piece {} copies {} inputs", k, inputs.size());
            out.assign_region(p.dst_start[k], region(inputs[0]->array(), p.src_start[k], p.src_stop[k]));
        } else {
            write_program(out, p.dst_start[k], decode_program(p.programs[k]), inputs);
        }
    }
    return Value(std::move(out));
}

Value assemble_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<AssembleParams>(ctx.task.params, "assemble");
    if (p.dtype >= kNumDTypes) throw ProtocolError("assemble: dtype tag {}", p.dtype);
    if (!p.programs.empty()) return assemble_computed(p, ctx);
    const std::size_t n = ctx.inputs.size();
    if (p.src_start.size() != n || p.src_stop.size() != n || p.dst_start.size() != n)
        throw ProtocolError("assemble: parameters for {} pieces but {} inputs", p.src_start.size(), n);
    const DType dtype(static_cast<DTypeId>(p.dtype));
    if (n == 0) return Value(NDArray::zeros(dtype, p.out_shape));
    if (n == 1) {
        // One piece: the output block is (a reshape of) that region; no copy when it is a whole
        // block of the right dtype.
        const NDArray& block = ctx.inputs[0]->array();
        NDArray view = region(block, p.src_start[0], p.src_stop[0]);
        if (view.size() != shape_size(p.out_shape))
            throw ProtocolError("assemble: a piece of shape {} cannot fill a block of shape {}",
                                shape_str(view.shape()), shape_str(p.out_shape));
        if (view.dtype() != dtype)
            view = view.astype(dtype);
        else if (view.shape() != block.shape())
            view = view.copy();
        if (view.shape() != p.out_shape) view = view.reshape(p.out_shape);
        return Value(std::move(view));
    }
    NDArray out = NDArray::empty(dtype, p.out_shape);
    for (std::size_t k = 0; k < n; ++k)
        out.assign_region(p.dst_start[k], region(ctx.inputs[k]->array(), p.src_start[k], p.src_stop[k]));
    return Value(std::move(out));
}

OpId assemble_op_id() {
    static const OpId id = register_op("tessera.assemble", &assemble_op);
    return id;
}

// Registered when the library loads, so a worker process knows it before any task arrives.
[[maybe_unused]] const OpId assemble_registered = assemble_op_id();

// ------------------------------------------------------------------------------ rechunk node

class RechunkNode final : public AssembleNode {
public:
    RechunkNode(NodePtr input, Chunks chunks)
        : AssembleNode("rechunk", input->dtype(), std::move(chunks), {input}, 0) {
        const std::int64_t ndim = this->chunks().ndim();
        for (std::int64_t axis = 0; axis < ndim; ++axis)
            pieces_.push_back(axis_pieces(this->chunks().sizes(axis), inputs()[0]->chunks().sizes(axis)));
    }

    bool computes_pieces() const override { return true; }

    void block_pieces(std::span<const std::int64_t> block, std::vector<BlockPiece>& out) const override {
        const std::size_t ndim = block.size();
        std::vector<const std::vector<AxisPiece>*> lists(ndim);
        Shape grid(ndim);
        for (std::size_t axis = 0; axis < ndim; ++axis) {
            lists[axis] = &pieces_[axis][static_cast<std::size_t>(block[axis])];
            grid[axis] = static_cast<std::int64_t>(lists[axis]->size());
        }
        // The cross product of the per-axis overlaps, in C order of the input blocks.
        for_each_block(grid, [&](std::span<const std::int64_t> which) {
            BlockPiece piece;
            for (std::size_t axis = 0; axis < ndim; ++axis) {
                const AxisPiece& a = (*lists[axis])[static_cast<std::size_t>(which[axis])];
                piece.block.push_back(a.in_block);
                piece.src_start.push_back(a.src_start);
                piece.src_stop.push_back(a.src_stop);
                piece.dst_start.push_back(a.dst_start);
            }
            out.push_back(std::move(piece));
        });
    }

private:
    // Per axis, per output block: the overlapping input blocks.
    std::vector<std::vector<std::vector<AxisPiece>>> pieces_;
};

}  // namespace

// ------------------------------------------------------------------------------ shared helpers

std::vector<std::int64_t> block_offsets(const BlockSizes& sizes) {
    std::vector<std::int64_t> out(sizes.size() + 1, 0);
    for (std::size_t k = 0; k < sizes.size(); ++k) out[k + 1] = out[k] + sizes[k];
    return out;
}

std::vector<std::vector<AxisPiece>> axis_pieces(const BlockSizes& out, const BlockSizes& in) {
    const auto out_bounds = block_offsets(out), in_bounds = block_offsets(in);
    TESSERA_ASSERT(out_bounds.back() == in_bounds.back(), "axis_pieces over different lengths");
    std::vector<std::vector<AxisPiece>> result(out.size());
    std::size_t first = 0;  // the first input block that may overlap (both are sorted)
    for (std::size_t b = 0; b < out.size(); ++b) {
        const std::int64_t lo = out_bounds[b], hi = out_bounds[b + 1];
        if (lo == hi) continue;
        while (first < in.size() && in_bounds[first + 1] <= lo) ++first;
        for (std::size_t k = first; k < in.size() && in_bounds[k] < hi; ++k) {
            const std::int64_t s = std::max(lo, in_bounds[k]), e = std::min(hi, in_bounds[k + 1]);
            if (s >= e) continue;
            result[b].push_back({static_cast<std::int64_t>(k), s - in_bounds[k], e - in_bounds[k], s - lo});
        }
    }
    return result;
}

void AssembleNode::lower_tasks(LowerContext& ctx) const {
    // Fusable elementwise inputs are computed piece by piece inside the assemble tasks.
    std::vector<bool> computed(inputs().size(), false);
    for (std::size_t k = 0; k < inputs().size(); ++k) {
        computed[k] = computes_pieces() && inputs()[k]->is_elementwise() && ctx.fusable(*inputs()[k]);
        if (!computed[k]) inputs()[k]->lower(ctx);
    }
    const OpId op = assemble_op_id();
    std::vector<BlockPiece> pieces;
    for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> block) {
        pieces.clear();
        block_pieces(block, pieces);
        AssembleParams p;
        p.dtype = static_cast<std::uint8_t>(dtype().id());
        p.out_shape = chunks().block_shape(block);
        Task task;
        task.key = block_key(block);
        task.op = op;
        bool any_computed = false;
        for (const auto& piece : pieces) any_computed = any_computed || computed[piece.input];
        if (any_computed) {
            std::unordered_map<Key, std::int32_t, KeyHash> slot_of;
            auto slot = [&](Key key) {
                auto [it, inserted] = slot_of.try_emplace(key, static_cast<std::int32_t>(task.deps.size()));
                if (inserted) task.deps.push_back(std::move(key));
                return it->second;
            };
            for (auto& piece : pieces) {
                const ArrayNode& in = *inputs()[piece.input];
                std::vector<std::int32_t> slots;
                if (computed[piece.input]) {
                    Shape start(piece.block.size()), shape(piece.block.size());
                    for (std::size_t axis = 0; axis < piece.block.size(); ++axis) {
                        std::int64_t offset = 0;
                        const BlockSizes& sizes = in.chunks().sizes(static_cast<std::int64_t>(axis));
                        for (std::int64_t b = 0; b < piece.block[axis]; ++b) offset += sizes[static_cast<std::size_t>(b)];
                        start[axis] = offset + piece.src_start[axis];
                        shape[axis] = piece.src_stop[axis] - piece.src_start[axis];
                    }
                    FusedKernel kernel = build_fused_region_kernel(in, start, shape, ctx);
                    for (auto& key : kernel.deps) slots.push_back(slot(std::move(key)));
                    p.programs.push_back(std::move(kernel.program));
                    p.src_start.push_back(Shape(shape.size(), 0));
                    p.src_stop.push_back(shape);
                } else {
                    slots.push_back(slot(in.block_key(piece.block)));
                    p.programs.emplace_back();
                    p.src_start.push_back(std::move(piece.src_start));
                    p.src_stop.push_back(std::move(piece.src_stop));
                }
                p.dst_start.push_back(std::move(piece.dst_start));
                p.slots.push_back(std::move(slots));
            }
            task.nbytes_hint = shape_size(p.out_shape) * dtype().itemsize();
            task.params = encode_shape_params(p);
            ctx.graph.add(std::move(task));
            return;
        }
        for (auto& piece : pieces) {
            task.deps.push_back(inputs()[piece.input]->block_key(piece.block));
            p.src_start.push_back(std::move(piece.src_start));
            p.src_stop.push_back(std::move(piece.src_stop));
            p.dst_start.push_back(std::move(piece.dst_start));
        }
        task.nbytes_hint = shape_size(p.out_shape) * dtype().itemsize();
        task.params = encode_shape_params(p);
        ctx.graph.add(std::move(task));
    });
}

namespace {

/// True when `node` is an elementwise expression of sources and constants only: its values at
/// any region can be computed on the spot, so a rechunk of it needs no intermediate stages (each
/// output block computes its own pieces; see AssembleNode::lower_tasks).
bool generated(const ArrayNode& node) {
    std::vector<const ArrayNode*> stack{&node};
    while (!stack.empty()) {
        const ArrayNode* n = stack.back();
        stack.pop_back();
        if (!n->is_elementwise()) return false;
        for (const auto& input : n->inputs()) stack.push_back(input.get());
    }
    return true;
}

}  // namespace

}  // namespace tessera::detail

namespace tessera {

Array rechunk(const Array& x, const ChunkSpec& chunks, const RechunkOptions& options) {
    if (x.chunks().has_unknown())
        throw NotImplemented("rechunk: arrays with unknown chunk sizes ({}) are not supported", x.chunks().str());
    const Chunks target = normalize_chunks(chunks, x.shape(), x.dtype(), x.chunks(), options.block_size_limit);
    if (target == x.chunks()) return x;
    if (x.size() == 0)  // every block is empty: nothing to read
        return Array(std::make_shared<detail::RechunkNode>(x.node(), target));
    const std::int64_t limit = options.block_size_limit.value_or(config::get().chunk_size_bytes);
    detail::NodePtr node = x.node();
    if (config::get().optimize && detail::generated(*node))
        return Array(std::make_shared<detail::RechunkNode>(std::move(node), target));
    for (auto& step : detail::plan_rechunk(x.chunks(), target, x.dtype().itemsize(), options.threshold, limit))
        node = std::make_shared<detail::RechunkNode>(std::move(node), std::move(step));
    return Array(std::move(node));
}

}  // namespace tessera
