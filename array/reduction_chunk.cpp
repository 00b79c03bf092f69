// The chunk stage of tree reductions: the partials of one block (layout in
// array/reduction_kernels.hpp), computed by streaming the block's elements through a
// ChunkReducer (array/reduction_stream.hpp) — from memory, or tile by tile out of the fused
// elementwise program that produces the block.
#include <algorithm>
#include <vector>

#include "array/fused_program.hpp"
#include "array/reduction_kernels.hpp"
#include "array/reduction_math.hpp"
#include "array/reduction_stream.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {

namespace {

using namespace rmath;

NDArray zero_nans(const NDArray& block) {
    return visit_dtype(block.dtype(), [&](auto tag) -> NDArray {
        using T = typename decltype(tag)::type;
        if constexpr (std::is_floating_point_v<T> || is_complex_v<T>) {
            NDArray out = block.copy();
            T* p = out.data<T>();
            for (std::int64_t i = 0, n = out.size(); i < n; ++i)
                if (is_nan(p[i])) p[i] = T(0);
            return out;
        } else {
            return block;
        }
    });
}

}  // namespace

ValueList reduce_block(const ReduceParams& p, const NDArray& block) {
    const std::int64_t ndim = block.ndim();
    for (auto axis : p.axes)
        if (axis < 0 || axis >= ndim)
            throw ProtocolError("reduced axis {} does not exist in a block of shape {}", axis, shape_str(block.shape()));
    NDArray b = p.zero_nans ? zero_nans(block) : block;
    if (b.dtype() != p.compute_dtype) b = b.astype(p.compute_dtype);

    // The same C-order stream a fused program would produce, so fused and unfused runs agree.
    auto geometry = stream_geometry(b.shape(), p.axes);
    if (geometry && !b.is_contiguous()) b = b.copy();
    if (!geometry) {
        // Lanes: the kept axes first, the reduced ones last, contiguous.
        Shape out_shape = b.shape();
        std::vector<std::int64_t> perm, trailing;
        for (std::int64_t axis = 0; axis < ndim; ++axis)
            if (!std::binary_search(p.axes.begin(), p.axes.end(), axis)) perm.push_back(axis);
        for (auto axis : p.axes) {
            out_shape[static_cast<std::size_t>(axis)] = 1;
            trailing.push_back(static_cast<std::int64_t>(perm.size() + trailing.size()));
        }
        perm.insert(perm.end(), p.axes.begin(), p.axes.end());
        b = b.transpose(perm).copy();
        geometry = stream_geometry(b.shape(), trailing);
        geometry->out_shape = out_shape;
    }
    auto reducer = make_chunk_reducer(p, b.dtype(), *geometry);
    const auto* bytes = static_cast<const std::byte*>(b.raw_data());
    const std::int64_t total = b.size(), itemsize = b.itemsize();
    const auto tiles = row_tile_order(*geometry);
    if (!tiles.empty()) {
        for (const auto& [t0, n] : tiles) reducer->feed(bytes + t0 * itemsize, n);
    } else {
        for (std::int64_t t0 = 0; t0 < total; t0 += kTileElems)
            reducer->feed(bytes + t0 * itemsize, std::min(kTileElems, total - t0));
    }
    return reducer->finish();
}

ValueList reduce_fused_block(const ReduceParams& p, std::span<const Value* const> inputs) {
    const Program program = decode_program(p.program);
    const std::int64_t ndim = static_cast<std::int64_t>(program.shape.size());
    for (auto axis : p.axes)
        if (axis < 0 || axis >= ndim)
            throw ProtocolError("reduced axis {} does not exist in a block of shape {}", axis, shape_str(program.shape));
    auto geometry = stream_geometry(program.shape, p.axes);
    if (!geometry || p.zero_nans || program.dtype() != p.compute_dtype)
        return reduce_block(p, run_program(program, inputs));
    auto reducer = make_chunk_reducer(p, p.compute_dtype, *geometry);
    stream_program(program, inputs, [&](std::int64_t, std::int64_t n, const std::byte* tile) { reducer->feed(tile, n); },
                   row_tile_order(*geometry));
    return reducer->finish();
}

ValueList identity_partials(const ReduceParams& p) {
    Shape empty_shape = p.partial_shape;
    for (auto axis : p.axes) empty_shape.at(static_cast<std::size_t>(axis)) = 0;
    return reduce_block(p, NDArray::zeros(p.compute_dtype, empty_shape));
}

}  // namespace tessera::detail
