// np.pad, one axis after the other: the (padded so far) array keeps its blocks and every pad
// region is one more block along the axis: a constant source, or a take of the indices that the
// mode maps the region to (edge: clamped, wrap: modular, reflect/symmetric: mirrored with period
// 2n - 2 / 2n, which is what NumPy's repeated reflection gives for widths beyond the axis).
#include "array/shape_ops.hpp"
#include "tessera/indexing.hpp"

namespace tessera {

namespace {

std::int64_t source_index(std::int64_t i, std::int64_t n, PadMode mode) {
    const auto mod = [](std::int64_t a, std::int64_t b) { return ((a % b) + b) % b; };
    switch (mode) {
        case PadMode::Edge:
            return std::clamp<std::int64_t>(i, 0, n - 1);
        case PadMode::Wrap:
            return mod(i, n);
        case PadMode::Reflect: {
            if (n == 1) return 0;  // NumPy extends a singleton axis like 'edge'
            const std::int64_t m = mod(i, 2 * n - 2);
            return m < n ? m : 2 * n - 2 - m;
        }
        case PadMode::Symmetric: {
            const std::int64_t m = mod(i, 2 * n);
            return m < n ? m : 2 * n - 1 - m;
        }
        case PadMode::Constant:
            break;
    }
    TESSERA_ASSERT(false, "constant padding has no source index");
    return 0;
}

// The pad region of `width` elements starting at axis position `first` (-width or n).
Array region(const Array& x, std::int64_t axis, std::int64_t first, std::int64_t width, const PadOptions& options) {
    const std::int64_t n = x.shape(axis);
    if (options.mode == PadMode::Constant) {
        std::vector<BlockSizes> sizes(x.chunks().axes());
        sizes[static_cast<std::size_t>(axis)] = {width};
        Shape shape = x.shape();
        shape[static_cast<std::size_t>(axis)] = width;
        return full(shape, options.value, {.chunks = ChunkSpec(Chunks(std::move(sizes))), .dtype = x.dtype()});
    }
    std::vector<std::int64_t> indices;
    for (std::int64_t i = first; i < first + width; ++i) indices.push_back(source_index(i, n, options.mode));
    Array r = detail::take_normalized(x, indices, axis);
    // One block along the axis, as NumPy's pad writes the region at once.
    if (r.chunks().sizes(axis).size() > 1) {
        std::vector<AxisChunks> spec;
        for (std::int64_t a = 0; a < x.ndim(); ++a)
            spec.push_back(a == axis ? AxisChunks::whole() : AxisChunks(x.chunks().sizes(a)));
        r = rechunk(r, ChunkSpec(std::move(spec)));
    }
    return r;
}

}  // namespace

Array pad(const Array& x, const std::vector<std::pair<std::int64_t, std::int64_t>>& widths, const PadOptions& options) {
    const std::int64_t ndim = x.ndim();
    if (widths.size() != 1 && static_cast<std::int64_t>(widths.size()) != ndim)
        throw ValueError("pad: {} (before, after) pairs for an array of dimension {}", widths.size(), ndim);
    for (const auto& [before, after] : widths)
        if (before < 0 || after < 0) throw ValueError("index can't contain negative values");
    if (x.chunks().has_unknown())
        throw NotImplemented("pad: arrays with unknown chunk sizes ({}) are not supported", x.chunks().str());
    Array out = x;
    for (std::int64_t axis = 0; axis < ndim; ++axis) {
        const auto [before, after] = widths.size() == 1 ? widths[0] : widths[static_cast<std::size_t>(axis)];
        if (before == 0 && after == 0) continue;
        const std::int64_t n = out.shape(axis);
        if (n == 0 && options.mode != PadMode::Constant)
            throw ValueError("can't extend empty axis {} using modes other than 'constant' or 'empty'", axis);
        std::vector<Array> parts;
        if (before > 0) parts.push_back(region(out, axis, -before, before, options));
        parts.push_back(out);
        if (after > 0) parts.push_back(region(out, axis, n, after, options));
        out = concatenate(parts, axis);
    }
    return out;
}

}  // namespace tessera
