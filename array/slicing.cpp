// Basic indexing (getitem) with Dask's chunks: along a sliced axis every output block is the
// part of one input block the slice selects, so each output block is one task reading one
// input block ("tessera.getitem"), and blocks the index does not touch are never read.
// With config().optimize: an elementwise input used only here is lowered just for the touched
// blocks (slicing pushdown, also through broadcasting and random/arange sources), and a getitem
// of a getitem is built as one selection of the original array.
#include <algorithm>
#include <limits>
#include <utility>

#include "array/elementwise.hpp"
#include "array/fused.hpp"
#include "array/shape_ops.hpp"
#include "tessera/array_shape.hpp"
#include "tessera/config.hpp"

namespace tessera::detail {

namespace {

// ------------------------------------------------------------------------------ the kernel

struct GetitemParams {
    std::uint8_t dtype = 0;
    Shape out_shape;
    // Per input axis: the block-local selection (start, step, count); integer indices have
    // count 1 and drop the axis.
    std::vector<std::int64_t> start, step, count;
    std::vector<std::uint8_t> drop;
    // Per output axis: the input axis it comes from, or -1 for a new axis.
    std::vector<std::int64_t> layout;

    template <class Archive>
    void serialize(Archive& ar) {
        ar(dtype, out_shape, start, step, count, drop, layout);
    }
};

Value getitem_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<GetitemParams>(ctx.task.params, "getitem");
    if (p.dtype >= kNumDTypes || ctx.inputs.size() > 1)
        throw ProtocolError("getitem: bad parameters (dtype {}, {} inputs)", p.dtype, ctx.inputs.size());
    const DType dtype(static_cast<DTypeId>(p.dtype));
    if (ctx.inputs.empty()) return Value(NDArray::zeros(dtype, p.out_shape));

    const NDArray& block = ctx.inputs[0]->array();
    const std::int64_t ndim = block.ndim();
    if (static_cast<std::int64_t>(p.start.size()) != ndim || p.step.size() != p.start.size() ||
        p.count.size() != p.start.size() || p.drop.size() != p.start.size() || p.layout.size() != p.out_shape.size())
        throw ProtocolError("getitem: parameters of rank {} for a block of shape {}", p.start.size(),
                            shape_str(block.shape()));
    NDArray view = block;
    bool whole = true;  // the view covers every element of the block in order
    for (std::int64_t axis = 0; axis < ndim; ++axis) {
        const auto a = static_cast<std::size_t>(axis);
        const std::int64_t n = block.shape(axis), start = p.start[a], step = p.step[a], count = p.count[a];
        if (count < 1 || step == 0 || start < 0 || start >= n || start + (count - 1) * step < 0 ||
            start + (count - 1) * step >= n)
            throw ProtocolError("getitem: selection {}:{}:{} is outside a block of shape {}", start, count, step,
                                shape_str(block.shape()));
        if (start == 0 && step == 1 && count == n) continue;
        whole = false;
        std::int64_t stop = start + count * step;
        if (stop < 0) stop = std::numeric_limits<std::int64_t>::min();  // down to element 0
        view = view.slice(axis, start, stop, step);
    }
    // Drop the integer-indexed axes and insert the new ones by rearranging the view's strides.
    Shape shape, strides;
    for (std::int64_t source : p.layout) {
        if (source < 0) {
            shape.push_back(1);
            strides.push_back(0);
        } else if (source < ndim && p.drop[static_cast<std::size_t>(source)] == 0) {
            shape.push_back(view.shape(source));
            strides.push_back(view.strides()[static_cast<std::size_t>(source)]);
        } else {
            throw ProtocolError("getitem: output axis from input axis {} of a block of rank {}", source, ndim);
        }
    }
    if (shape != p.out_shape)
        throw ProtocolError("getitem: a selection of shape {} for a block of shape {}", shape_str(shape),
                            shape_str(p.out_shape));
    NDArray out(view.dtype(), std::move(shape), std::move(strides), view.offset(), view.buffer());
    // A selection of part of the block is copied, so the output does not keep the whole input
    // block alive; the whole block is shared.
    return Value(whole ? out : out.copy());
}

OpId getitem_op_id() {
    static const OpId id = register_op("tessera.getitem", &getitem_op);
    return id;
}

[[maybe_unused]] const OpId getitem_registered = getitem_op_id();

// ------------------------------------------------------------------------------ the node

// One item of a full index (one per input axis plus the new axes), normalized against the shape.
struct NormalizedItem {
    IndexItem::Kind kind = IndexItem::Kind::Slice;  // NewAxis, Integer (in [0, n)) or Slice
    std::int64_t integer = 0;
    NormalizedSlice slice;
};

// Along one input axis: the output blocks it yields, each a selection inside one input block.
struct AxisSelection {
    bool integer = false;
    std::int64_t step = 1;
    // One entry per output block (a single entry for an integer index).
    std::vector<std::int64_t> in_block, start, count;
};

class GetitemNode final : public ArrayNode {
public:
    GetitemNode(NodePtr input, Chunks chunks, std::vector<AxisSelection> axes, std::vector<std::int64_t> layout,
                std::vector<NormalizedItem> items, std::uint64_t token)
        : ArrayNode("getitem", input->dtype(), std::move(chunks), {input}, token),
          axes_(std::move(axes)),
          layout_(std::move(layout)),
          items_(std::move(items)) {}

    /// The normalized index this node applies to its input (for composing getitem of getitem).
    const std::vector<NormalizedItem>& items() const { return items_; }

protected:
    void lower_tasks(LowerContext& ctx) const override {
        const ArrayNode& in = *inputs()[0];
        // Slicing pushdown: an elementwise input read by nobody else is lowered only for the
        // blocks this selection touches (its fused kernel reads only the matching blocks of its
        // own inputs, and sources such as random or arange evaluate only those blocks).
        const auto* elem = dynamic_cast<const ElementwiseNode*>(&in);
        const bool pushdown = elem != nullptr && ctx.fusable(in);
        if (!pushdown) in.lower(ctx);
        const OpId op = getitem_op_id();
        const auto ndim_in = static_cast<std::size_t>(in.ndim());
        GetitemParams p;
        p.dtype = static_cast<std::uint8_t>(dtype().id());
        p.layout = layout_;
        p.start.resize(ndim_in);
        p.step.resize(ndim_in);
        p.count.resize(ndim_in);
        p.drop.resize(ndim_in);
        // Which output axis each sliced input axis became.
        std::vector<std::int64_t> out_axis(ndim_in, -1);
        for (std::size_t k = 0; k < layout_.size(); ++k)
            if (layout_[k] >= 0) out_axis[static_cast<std::size_t>(layout_[k])] = static_cast<std::int64_t>(k);
        Shape in_block(ndim_in);
        for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> block) {
            p.out_shape = chunks().block_shape(block);
            Task task;
            task.key = block_key(block);
            task.op = op;
            task.nbytes_hint = shape_size(p.out_shape) * dtype().itemsize();
            if (shape_size(p.out_shape) != 0) {
                for (std::size_t a = 0; a < ndim_in; ++a) {
                    const AxisSelection& s = axes_[a];
                    const auto entry = s.integer ? 0 : static_cast<std::size_t>(block[static_cast<std::size_t>(out_axis[a])]);
                    in_block[a] = s.in_block[entry];
                    p.start[a] = s.start[entry];
                    p.count[a] = s.count[entry];
                    p.step[a] = s.step;
                    p.drop[a] = s.integer ? 1 : 0;
                }
                task.deps.push_back(in.block_key(in_block));
                if (pushdown) lower_input_block(*elem, in_block, ctx);
            }
            task.params = encode_shape_params(p);
            ctx.graph.add(std::move(task));
        });
    }

private:
    // One block of the elementwise input, as ElementwiseNode::lower_tasks would emit it.
    static void lower_input_block(const ElementwiseNode& in, std::span<const std::int64_t> block, LowerContext& ctx) {
        Key key = in.block_key(block);
        if (ctx.graph.contains(key)) return;
        FusedKernel kernel = build_fused_kernel(in, block, ctx);
        Task task;
        task.key = std::move(key);
        task.op = fused_op_id();
        task.params = std::move(kernel.program);
        task.deps = std::move(kernel.deps);
        task.nbytes_hint = shape_size(in.chunks().block_shape(block)) * in.dtype().itemsize();
        ctx.graph.add(std::move(task));
    }

    std::vector<AxisSelection> axes_;
    std::vector<std::int64_t> layout_;
    std::vector<NormalizedItem> items_;
};

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {  // b > 0; no overflow for any a
    return a >= 0 ? a / b + (a % b != 0 ? 1 : 0) : -((-a) / b);
}
std::int64_t floor_div(std::int64_t a, std::int64_t b) {  // b > 0
    return a >= 0 ? a / b : -((-a) / b) - ((-a) % b != 0 ? 1 : 0);
}

// Splits a normalized slice over the blocks of one axis (Dask's _slice_1d).
AxisSelection select_blocks(const NormalizedSlice& s, const BlockSizes& sizes) {
    AxisSelection out;
    out.step = s.step;
    const auto bounds = block_offsets(sizes);
    const auto nblocks = static_cast<std::int64_t>(sizes.size());
    auto add = [&](std::int64_t block) {
        const std::int64_t lo = bounds[static_cast<std::size_t>(block)], hi = bounds[static_cast<std::size_t>(block) + 1];
        std::int64_t k0, k1;  // the slice positions k (index start + k * step) inside [lo, hi)
        if (s.step > 0) {
            k0 = ceil_div(lo - s.start, s.step);
            k1 = ceil_div(hi - s.start, s.step);
        } else {
            k0 = ceil_div(s.start - hi + 1, -s.step);
            k1 = floor_div(s.start - lo, -s.step) + 1;
        }
        k0 = std::max<std::int64_t>(k0, 0);
        k1 = std::min(k1, s.count);
        if (k1 <= k0) return;
        out.in_block.push_back(block);
        out.start.push_back(s.start + k0 * s.step - lo);
        out.count.push_back(k1 - k0);
    };
    if (s.count > 0) {
        if (s.step > 0)
            for (std::int64_t b = 0; b < nblocks; ++b) add(b);
        else
            for (std::int64_t b = nblocks - 1; b >= 0; --b) add(b);
    }
    if (out.in_block.empty()) {  // an empty selection: one empty output block
        out.in_block.push_back(0);
        out.start.push_back(0);
        out.count.push_back(0);
    }
    return out;
}

}  // namespace

NormalizedSlice normalize_slice(const Slice& slice, std::int64_t n) {
    NormalizedSlice out;
    out.step = slice.step.value_or(1);
    if (out.step == 0) throw ValueError("slice step cannot be zero");
    const std::int64_t lower = out.step < 0 ? -1 : 0, upper = out.step < 0 ? n - 1 : n;
    auto clamp = [&](std::optional<std::int64_t> v, std::int64_t absent) {
        if (!v) return absent;
        std::int64_t x = *v;
        if (x < 0) x = x < -n ? lower : x + n;  // x < -n also avoids overflow for INT64_MIN
        if (x < lower) return lower;
        return std::min(x, upper);
    };
    out.start = clamp(slice.start, out.step < 0 ? upper : lower);
    const std::int64_t stop = clamp(slice.stop, out.step < 0 ? lower : upper);
    // |step| as unsigned: -INT64_MIN does not fit an int64.
    const std::uint64_t magnitude =
        out.step > 0 ? static_cast<std::uint64_t>(out.step) : 0 - static_cast<std::uint64_t>(out.step);
    const std::int64_t span = out.step > 0 ? stop - out.start : out.start - stop;
    out.count = span > 0 ? static_cast<std::int64_t>(static_cast<std::uint64_t>(span - 1) / magnitude) + 1 : 0;
    // One element or none: the step only matters for its sign (and must not overflow later).
    if (out.count <= 1) out.step = out.step > 0 ? 1 : -1;
    return out;
}

}  // namespace tessera::detail

namespace tessera {

namespace detail {
namespace {
Array make_getitem(const Array& x, const std::vector<NormalizedItem>& items);
}  // namespace
}  // namespace detail

Array getitem(const Array& x, const IndexList& index) {
    const auto& items = index.items();
    const std::int64_t ndim = x.ndim();
    std::int64_t used = 0, ellipses = 0;
    for (const auto& item : items) {
        if (item.kind() == IndexItem::Kind::Integer || item.kind() == IndexItem::Kind::Slice) ++used;
        if (item.kind() == IndexItem::Kind::Ellipsis) ++ellipses;
    }
    if (ellipses > 1) throw IndexError("an index can only have a single ellipsis ('...')");
    if (used > ndim)
        throw IndexError("too many indices for array: array is {}-dimensional, but {} were indexed", ndim, used);
    if (x.chunks().has_unknown())
        throw NotImplemented("getitem: arrays with unknown chunk sizes ({}) are not supported", x.chunks().str());

    // Expand the ellipsis (or append one) so every input axis has an item.
    std::vector<IndexItem> full;
    bool expanded = false;
    for (const auto& item : items) {
        if (item.kind() == IndexItem::Kind::Ellipsis) {
            for (std::int64_t k = 0; k < ndim - used; ++k) full.emplace_back(Slice());
            expanded = true;
        } else {
            full.push_back(item);
        }
    }
    if (!expanded)
        for (std::int64_t k = 0; k < ndim - used; ++k) full.emplace_back(Slice());

    // Normalize every item against the input's shape.
    std::vector<detail::NormalizedItem> normalized;
    std::int64_t axis = 0;
    for (const auto& item : full) {
        detail::NormalizedItem out;
        out.kind = item.kind();
        if (item.kind() != IndexItem::Kind::NewAxis) {
            const std::int64_t n = x.shape()[static_cast<std::size_t>(axis)];
            if (item.kind() == IndexItem::Kind::Integer) {
                std::int64_t i = item.integer();
                if (i < -n || i >= n) throw IndexError("index {} is out of bounds for axis {} with size {}", i, axis, n);
                out.integer = i < 0 ? i + n : i;
            } else {
                out.slice = detail::normalize_slice(item.slice(), n);
            }
            ++axis;
        }
        normalized.push_back(out);
    }
    return detail::make_getitem(x, normalized);
}

}  // namespace tessera

namespace tessera::detail {

namespace {

// x[inner][outer] as one index on x, when `inner` adds no axis (then every output axis of the
// inner selection is a sliced input axis, in order). Empty optional otherwise.
std::optional<std::vector<NormalizedItem>> compose(const std::vector<NormalizedItem>& inner,
                                                   const std::vector<NormalizedItem>& outer) {
    for (const auto& item : inner)
        if (item.kind == IndexItem::Kind::NewAxis) return std::nullopt;
    std::vector<NormalizedItem> out;
    std::size_t next = 0;  // next outer item
    auto flush_new_axes = [&] {
        while (next < outer.size() && outer[next].kind == IndexItem::Kind::NewAxis) out.push_back(outer[next++]);
    };
    for (const auto& item : inner) {
        if (item.kind == IndexItem::Kind::Integer) {
            out.push_back(item);
            continue;
        }
        flush_new_axes();
        TESSERA_ASSERT(next < outer.size(), "an outer index without an item per axis");
        const NormalizedItem& o = outer[next++];
        const NormalizedSlice& s = item.slice;
        NormalizedItem c;
        c.kind = o.kind;
        if (o.kind == IndexItem::Kind::Integer) {
            c.integer = s.start + o.integer * s.step;
        } else {
            // Element k of the outer slice is element o.start + k * o.step of the inner one.
            c.slice.count = o.slice.count;
            c.slice.start = o.slice.count > 0 ? s.start + o.slice.start * s.step : 0;
            c.slice.step = o.slice.count > 1 ? s.step * o.slice.step : (s.step * o.slice.step > 0 ? 1 : -1);
        }
        out.push_back(c);
    }
    flush_new_axes();
    TESSERA_ASSERT(next == outer.size(), "an outer index with more items than axes");
    return out;
}

Array make_getitem(const Array& x, const std::vector<NormalizedItem>& items) {
    if (const auto* inner = dynamic_cast<const GetitemNode*>(x.node().get()); inner != nullptr && config::get().optimize) {
        if (auto composed = compose(inner->items(), items))
            return make_getitem(Array(inner->inputs()[0]), *composed);
    }
    std::vector<AxisSelection> axes;
    std::vector<std::int64_t> layout;
    std::vector<BlockSizes> out_chunks;
    Tokenizer tok;
    bool identity = true;
    std::int64_t axis = 0;
    for (const auto& item : items) {
        if (item.kind == IndexItem::Kind::NewAxis) {
            layout.push_back(-1);
            out_chunks.push_back({1});
            tok.add(std::string_view("newaxis"));
            identity = false;
            continue;
        }
        const std::int64_t n = x.shape()[static_cast<std::size_t>(axis)];
        const BlockSizes& sizes = x.chunks().sizes(axis);
        if (item.kind == IndexItem::Kind::Integer) {
            const std::int64_t i = item.integer;
            const auto bounds = block_offsets(sizes);
            const auto block = std::upper_bound(bounds.begin(), bounds.end(), i) - bounds.begin() - 1;
            AxisSelection s;
            s.integer = true;
            s.in_block = {block};
            s.start = {i - bounds[static_cast<std::size_t>(block)]};
            s.count = {1};
            axes.push_back(std::move(s));
            tok.add(std::string_view("int")).add(i);
            identity = false;
        } else {
            const NormalizedSlice& s = item.slice;
            if (!(s.start == 0 && s.step == 1 && s.count == n)) identity = false;
            tok.add(std::string_view("slice")).add(s.start).add(s.step).add(s.count);
            AxisSelection sel = select_blocks(s, sizes);
            layout.push_back(axis);
            out_chunks.push_back(sel.count);
            axes.push_back(std::move(sel));
        }
        ++axis;
    }
    if (identity) return x;
    return Array(std::make_shared<GetitemNode>(x.node(), Chunks(std::move(out_chunks)), std::move(axes),
                                               std::move(layout), items, tok.digest()));
}

}  // namespace

}  // namespace tessera::detail
