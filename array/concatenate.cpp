// concatenate and stack. Along the joined axis the output blocks are the inputs' blocks one after
// the other (stack: one block of length 1 per input); along the other axes the chunks are the
// common refinement of the inputs' chunks, so every output block lies inside exactly one input
// block and is one "tessera.assemble" task copying (and converting to the promoted dtype) that
// region: no separate rechunk or astype tasks.
#include <algorithm>
#include <utility>

#include "array/shape_ops.hpp"
#include "tessera/array_shape.hpp"

namespace tessera::detail {

namespace {

class ConcatNode final : public AssembleNode {
public:
    // `stacked`: the inputs lack `axis` (stack); otherwise they are joined along it.
    ConcatNode(std::string op, DType dtype, Chunks chunks, std::vector<NodePtr> inputs, std::int64_t axis,
               bool stacked)
        : AssembleNode(std::move(op), dtype, std::move(chunks), std::move(inputs),
                       Tokenizer().add(axis).add(static_cast<std::int64_t>(stacked)).digest()),
          axis_(axis),
          stacked_(stacked) {
        const std::int64_t ndim = this->chunks().ndim();
        for (std::size_t k = 0; k < this->inputs().size(); ++k) {
            const Chunks& in = this->inputs()[k]->chunks();
            const std::int64_t nblocks = stacked_ ? 1 : static_cast<std::int64_t>(in.sizes(axis_).size());
            for (std::int64_t b = 0; b < nblocks; ++b) along_.emplace_back(k, b);
            std::vector<std::vector<std::vector<AxisPiece>>> per_axis(static_cast<std::size_t>(ndim));
            for (std::int64_t a = 0; a < ndim; ++a)
                if (a != axis_)
                    per_axis[static_cast<std::size_t>(a)] =
                        axis_pieces(this->chunks().sizes(a), in.sizes(input_axis(a)));
            pieces_.push_back(std::move(per_axis));
        }
    }

    void block_pieces(std::span<const std::int64_t> block, std::vector<BlockPiece>& out) const override {
        if (shape_size(chunks().block_shape(block)) == 0) return;
        const auto [input, in_block] = along_[static_cast<std::size_t>(block[static_cast<std::size_t>(axis_)])];
        const Chunks& in = inputs()[input]->chunks();
        BlockPiece piece;
        piece.input = input;
        piece.block.resize(static_cast<std::size_t>(in.ndim()));
        piece.src_start.resize(piece.block.size());
        piece.src_stop.resize(piece.block.size());
        piece.dst_start.assign(block.size(), 0);
        for (std::int64_t a = 0; a < static_cast<std::int64_t>(block.size()); ++a) {
            const auto ua = static_cast<std::size_t>(a);
            if (a == axis_) {
                if (stacked_) continue;
                piece.block[ua] = in_block;
                piece.src_stop[ua] = in.sizes(a)[static_cast<std::size_t>(in_block)];
                continue;
            }
            const auto& overlaps = pieces_[input][ua][static_cast<std::size_t>(block[ua])];
            TESSERA_ASSERT(overlaps.size() == 1, "a refined block lies in one input block");
            const auto ia = static_cast<std::size_t>(input_axis(a));
            piece.block[ia] = overlaps[0].in_block;
            piece.src_start[ia] = overlaps[0].src_start;
            piece.src_stop[ia] = overlaps[0].src_stop;
        }
        out.push_back(std::move(piece));
    }

private:
    std::int64_t input_axis(std::int64_t a) const { return stacked_ && a > axis_ ? a - 1 : a; }

    std::int64_t axis_;
    bool stacked_;
    // Per output block along the axis: (input, its block along the axis).
    std::vector<std::pair<std::size_t, std::int64_t>> along_;
    // Per input, per output axis (not the joined one), per output block: the overlaps.
    std::vector<std::vector<std::vector<std::vector<AxisPiece>>>> pieces_;
};

// The common refinement of the block boundaries of every array along `axis`.
BlockSizes refine(const std::vector<Array>& arrays, std::int64_t axis) {
    std::vector<std::int64_t> cuts;
    for (const auto& a : arrays) {
        const auto offsets = block_offsets(a.chunks().sizes(axis));
        cuts.insert(cuts.end(), offsets.begin(), offsets.end());
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    BlockSizes sizes;
    for (std::size_t k = 0; k + 1 < cuts.size(); ++k) sizes.push_back(cuts[k + 1] - cuts[k]);
    if (sizes.empty()) sizes.push_back(0);
    return sizes;
}

std::vector<NodePtr> nodes_of(const std::vector<Array>& arrays) {
    std::vector<NodePtr> out;
    for (const auto& a : arrays) out.push_back(a.node());
    return out;
}

void check_known(const std::vector<Array>& arrays, std::string_view what) {
    for (const auto& a : arrays)
        if (a.chunks().has_unknown())
            throw NotImplemented("{}: arrays with unknown chunk sizes ({}) are not supported", what, a.chunks().str());
}

DType joined_dtype(const std::vector<Array>& arrays) {
    std::vector<DType> dtypes;
    for (const auto& a : arrays) dtypes.push_back(a.dtype());
    return result_type(dtypes);
}

}  // namespace

}  // namespace tessera::detail

namespace tessera {

Array concatenate(const std::vector<Array>& arrays, std::int64_t axis) {
    // NumPy's checks, in NumPy's order.
    if (arrays.empty()) throw ValueError("need at least one array to concatenate");
    const std::int64_t ndim = arrays[0].ndim();
    if (ndim == 0) throw ValueError("zero-dimensional arrays cannot be concatenated");
    axis = normalize_axis(axis, ndim);
    for (std::size_t k = 1; k < arrays.size(); ++k) {
        if (arrays[k].ndim() != ndim)
            throw ShapeError(
                "all the input arrays must have same number of dimensions, but the array at index 0 has {} "
                "dimension(s) and the array at index {} has {} dimension(s)",
                ndim, k, arrays[k].ndim());
        for (std::int64_t d = 0; d < ndim; ++d)
            if (d != axis && arrays[k].shape(d) != arrays[0].shape(d))
                throw ShapeError(
                    "all the input array dimensions except for the concatenation axis must match exactly, but "
                    "along dimension {}, the array at index 0 has size {} and the array at index {} has size {}",
                    d, arrays[0].shape(d), k, arrays[k].shape(d));
    }
    detail::check_known(arrays, "concatenate");
    const DType dtype = detail::joined_dtype(arrays);

    // Empty arrays add nothing (Dask drops them), unless every array is empty.
    std::vector<Array> kept;
    for (const auto& a : arrays)
        if (a.size() != 0) kept.push_back(a);
    if (kept.empty()) kept = arrays;
    if (kept.size() == 1 && kept[0].dtype() == dtype) return kept[0];

    std::vector<BlockSizes> sizes;
    for (std::int64_t d = 0; d < ndim; ++d) {
        if (d == axis) {
            BlockSizes joined;
            for (const auto& a : kept) {
                const auto& s = a.chunks().sizes(d);
                joined.insert(joined.end(), s.begin(), s.end());
            }
            sizes.push_back(std::move(joined));
        } else {
            sizes.push_back(detail::refine(kept, d));
        }
    }
    return Array(std::make_shared<detail::ConcatNode>("concatenate", dtype, Chunks(std::move(sizes)),
                                                      detail::nodes_of(kept), axis, false));
}

Array stack(const std::vector<Array>& arrays, std::int64_t axis) {
    if (arrays.empty()) throw ValueError("need at least one array to stack");
    for (const auto& a : arrays)
        if (a.shape() != arrays[0].shape()) throw ShapeError("all input arrays must have the same shape");
    const std::int64_t ndim = arrays[0].ndim() + 1;
    axis = normalize_axis(axis, ndim);
    detail::check_known(arrays, "stack");
    std::vector<BlockSizes> sizes;
    for (std::int64_t d = 0; d < ndim; ++d) {
        if (d == axis)
            sizes.push_back(BlockSizes(arrays.size(), 1));
        else
            sizes.push_back(detail::refine(arrays, d < axis ? d : d - 1));
    }
    return Array(std::make_shared<detail::ConcatNode>("stack", detail::joined_dtype(arrays), Chunks(std::move(sizes)),
                                                      detail::nodes_of(arrays), axis, true));
}

}  // namespace tessera
