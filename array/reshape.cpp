// reshape / ravel / expand_dims (and squeeze, which is indexing) by Dask's rules
// (dask/array/reshape.py: reshape_rechunk, expand_tuple, contract_tuple).
//
// The axes of the input and output shapes are matched from the right into groups with equal
// products: equal extents, lone axes of length 1, or a run of input axes merged into / split
// from a run of output axes. Within a group an input block must be a contiguous range of the
// group's C-order flattening whose boundaries fall on whole rows of the output group's leading
// axis; then output block k is the reshape of input block k (C order). When the chunks do not
// allow it the input is rechunked first along the group, as Dask does: the trailing input axes of
// the group taken whole and the leading one split into about as many blocks as before
// (expand_tuple), merged so that its blocks cover whole output rows (contract_tuple). Dask
// rejects groups that both merge and split (2, 3) -> (3, 2); here they take the same path.
#include <algorithm>
#include <numeric>
#include <optional>
#include <utility>

#include "array/shape_ops.hpp"
#include "tessera/array_shape.hpp"

namespace tessera::detail {

namespace {

// Output block k is input block k (C order over both grids), reshaped.
class ReshapeNode final : public AssembleNode {
public:
    ReshapeNode(NodePtr input, Chunks chunks)
        : AssembleNode("reshape", input->dtype(), std::move(chunks), {input}, 0),
          in_grid_(inputs()[0]->chunks().numblocks()),
          out_grid_(this->chunks().numblocks()) {
        TESSERA_ASSERT(shape_size(in_grid_) == shape_size(out_grid_), "reshape: block grids differ");
    }

    void block_pieces(std::span<const std::int64_t> block, std::vector<BlockPiece>& out) const override {
        const Chunks& out_chunks = chunks();
        if (shape_size(out_chunks.block_shape(block)) == 0) return;
        std::int64_t flat = 0;
        for (std::size_t axis = 0; axis < block.size(); ++axis) flat = flat * out_grid_[axis] + block[axis];
        BlockPiece piece;
        piece.block.assign(in_grid_.size(), 0);
        for (std::size_t axis = in_grid_.size(); axis-- > 0;) {
            piece.block[axis] = flat % in_grid_[axis];
            flat /= in_grid_[axis];
        }
        piece.src_start.assign(in_grid_.size(), 0);
        piece.src_stop = inputs()[0]->chunks().block_shape(piece.block);
        piece.dst_start.assign(block.size(), 0);
        out.push_back(std::move(piece));
    }

private:
    Shape in_grid_, out_grid_;
};

// Dask's expand_tuple: splits every chunk into about `factor` parts.
BlockSizes expand_tuple(const BlockSizes& chunks, std::int64_t factor) {
    if (factor == 1) return chunks;
    BlockSizes out;
    for (std::int64_t c : chunks) {
        std::int64_t x = c;
        const double part = std::max(static_cast<double>(x) / static_cast<double>(factor), 1.0);
        while (static_cast<double>(x) >= 2 * part) {
            out.push_back(static_cast<std::int64_t>(part));
            x -= static_cast<std::int64_t>(part);
        }
        if (x != 0) out.push_back(x);
    }
    return out;
}

// Dask's contract_tuple: merges chunks so that every one is a multiple of `factor`.
BlockSizes contract_tuple(const BlockSizes& chunks, std::int64_t factor) {
    BlockSizes out;
    std::int64_t residual = 0;
    for (std::int64_t chunk : chunks) {
        chunk += residual;
        residual = chunk % factor;
        if (chunk - residual != 0) out.push_back(chunk - residual);
    }
    TESSERA_ASSERT(residual == 0, "contract_tuple: the chunks do not sum to a multiple of the factor");
    return out;
}

std::int64_t product(const Shape& shape, std::int64_t lo, std::int64_t hi) {  // [lo, hi]
    std::int64_t p = 1;
    for (std::int64_t axis = lo; axis <= hi; ++axis) p *= shape[static_cast<std::size_t>(axis)];
    return p;
}

// The flat lengths of the blocks of input axes [lo, hi] (C order), or nothing when some block
// is not a contiguous range of the flattening: axes before the first axis with a block longer
// than 1 must have blocks of 1, axes after it a single block.
std::optional<std::vector<std::int64_t>> flat_blocks(const std::vector<BlockSizes>& chunks, const Shape& shape,
                                                     std::int64_t lo, std::int64_t hi) {
    std::int64_t first = hi;
    for (std::int64_t axis = lo; axis <= hi; ++axis) {
        const auto& sizes = chunks[static_cast<std::size_t>(axis)];
        if (std::any_of(sizes.begin(), sizes.end(), [](auto s) { return s != 1; })) {
            first = axis;
            break;
        }
    }
    for (std::int64_t axis = first + 1; axis <= hi; ++axis)
        if (chunks[static_cast<std::size_t>(axis)].size() != 1) return std::nullopt;
    const std::int64_t rest = product(shape, first + 1, hi);
    std::int64_t repeat = 1;
    for (std::int64_t axis = lo; axis < first; ++axis) repeat *= shape[static_cast<std::size_t>(axis)];
    std::vector<std::int64_t> out;
    for (std::int64_t r = 0; r < repeat; ++r)
        for (auto c : chunks[static_cast<std::size_t>(first)]) out.push_back(c * rest);
    return out;
}

// Dask's reshape_rechunk, generalized to groups that merge and split: the input chunks the
// reshape needs and the output chunks it yields.
std::pair<std::vector<BlockSizes>, std::vector<BlockSizes>> reshape_rechunk(const Shape& inshape,
                                                                            const Shape& outshape,
                                                                            const Chunks& chunks) {
    std::vector<BlockSizes> in_chunks = chunks.axes();
    std::vector<BlockSizes> out_chunks(outshape.size());
    auto ii = static_cast<std::int64_t>(inshape.size()) - 1;
    auto oi = static_cast<std::int64_t>(outshape.size()) - 1;
    auto in_at = [&](std::int64_t a) { return inshape[static_cast<std::size_t>(a)]; };
    auto out_at = [&](std::int64_t a) { return outshape[static_cast<std::size_t>(a)]; };
    while (ii >= 0 || oi >= 0) {
        if (ii >= 0 && oi >= 0 && in_at(ii) == out_at(oi)) {
            out_chunks[static_cast<std::size_t>(oi--)] = in_chunks[static_cast<std::size_t>(ii--)];
            continue;
        }
        if (ii >= 0 && in_at(ii) == 1) {
            --ii;
            continue;
        }
        if (oi >= 0 && out_at(oi) == 1) {
            out_chunks[static_cast<std::size_t>(oi--)] = {1};
            continue;
        }
        TESSERA_ASSERT(ii >= 0 && oi >= 0, "reshape: the shapes have different sizes");
        std::int64_t ileft = ii, oleft = oi, pin = in_at(ii), pout = out_at(oi);
        while (pin != pout) {
            if (pin < pout)
                pin *= in_at(--ileft);
            else
                pout *= out_at(--oleft);
        }
        const std::int64_t qout = product(outshape, oleft + 1, oi);
        auto flat = flat_blocks(in_chunks, inshape, ileft, ii);
        bool fits = flat.has_value();
        if (fits) {
            std::int64_t offset = 0;
            for (auto len : *flat) {
                fits = fits && offset % qout == 0;
                offset += len;
            }
        }
        if (!fits) {
            std::int64_t reduction = 1;
            for (std::int64_t axis = ileft + 1; axis <= ii; ++axis) {
                reduction *= static_cast<std::int64_t>(in_chunks[static_cast<std::size_t>(axis)].size());
                in_chunks[static_cast<std::size_t>(axis)] = {in_at(axis)};
            }
            const std::int64_t rest = product(inshape, ileft + 1, ii);
            auto& lead = in_chunks[static_cast<std::size_t>(ileft)];
            lead = contract_tuple(expand_tuple(lead, reduction), qout / std::gcd(qout, rest));
            flat = flat_blocks(in_chunks, inshape, ileft, ii);
        }
        auto& lead_out = out_chunks[static_cast<std::size_t>(oleft)];
        lead_out.clear();
        for (auto len : *flat) lead_out.push_back(len / qout);
        for (std::int64_t axis = oleft + 1; axis <= oi; ++axis) out_chunks[static_cast<std::size_t>(axis)] = {out_at(axis)};
        ii = ileft - 1;
        oi = oleft - 1;
    }
    return {std::move(in_chunks), std::move(out_chunks)};
}

}  // namespace

}  // namespace tessera::detail

namespace tessera {

Array reshape(const Array& x, const Shape& shape) {
    if (x.chunks().has_unknown())
        throw NotImplemented("reshape: arrays with unknown chunk sizes ({}) are not supported", x.chunks().str());
    const std::int64_t size = x.size();
    const Shape resolved = resolve_reshape(shape, size);
    if (resolved == x.shape()) return x;

    if (size == 0) {  // nothing to read: one empty block per axis
        std::vector<BlockSizes> sizes;
        for (auto extent : resolved) sizes.push_back({extent});
        return Array(std::make_shared<detail::ReshapeNode>(rechunk(x, -1).node(), Chunks(std::move(sizes))));
    }
    auto [in_chunks, out_chunks] = detail::reshape_rechunk(x.shape(), resolved, x.chunks());
    const Array source = rechunk(x, ChunkSpec(Chunks(std::move(in_chunks))));
    return Array(std::make_shared<detail::ReshapeNode>(source.node(), Chunks(std::move(out_chunks))));
}

Array ravel(const Array& x) { return reshape(x, {-1}); }

Array expand_dims(const Array& x, const Axes& axis) {
    if (axis.all()) throw ValueError("expand_dims: the axes to insert must be given");
    const auto out_ndim = x.ndim() + static_cast<std::int64_t>(axis.list().size());
    const auto inserted = normalize_axes(axis.list(), out_ndim);
    Shape shape;
    std::size_t next = 0;
    for (std::int64_t a = 0; a < out_ndim; ++a) {
        if (std::find(inserted.begin(), inserted.end(), a) != inserted.end())
            shape.push_back(1);
        else
            shape.push_back(x.shape()[next++]);
    }
    return reshape(x, shape);
}

Array squeeze(const Array& x, const Axes& axis) {
    // Dask's squeeze: x[0] along the squeezed axes (chunks unchanged elsewhere).
    std::vector<bool> drop(static_cast<std::size_t>(x.ndim()), false);
    if (axis.all()) {
        for (std::int64_t a = 0; a < x.ndim(); ++a) drop[static_cast<std::size_t>(a)] = x.shape()[static_cast<std::size_t>(a)] == 1;
    } else {
        for (auto a : normalize_axes(axis.list(), x.ndim())) {
            if (x.shape()[static_cast<std::size_t>(a)] != 1)
                throw ValueError("cannot select an axis to squeeze out which has size not equal to one");
            drop[static_cast<std::size_t>(a)] = true;
        }
    }
    std::vector<IndexItem> index;
    for (bool d : drop) index.push_back(d ? IndexItem(0) : IndexItem(Slice()));
    return getitem(x, IndexList(std::move(index)));
}

}  // namespace tessera
