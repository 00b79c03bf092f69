// tril / triu: where(rows + k >= cols, x, 0) with row and column aranges chunked like x's last
// two axes, so the mask is computed inside the fused kernel of each block. eye and diag are
// built the same way (diag of a matrix is a vindex of its diagonal).
#include "array/shape_ops.hpp"
#include "tessera/indexing.hpp"

namespace tessera {

namespace {

// The (n, m) boolean mask of the lower (or upper) triangle, chunked as `rows` x `cols`.
Array triangle(const BlockSizes& rows, const BlockSizes& cols, std::int64_t k, bool lower) {
    std::int64_t n = 0, m = 0;
    for (auto s : rows) n += s;
    for (auto s : cols) m += s;
    const Array r = getitem(arange(n, {.chunks = ChunkSpec(Chunks({rows})), .dtype = int64}), {Slice(), newaxis});
    const Array c = arange(m, {.chunks = ChunkSpec(Chunks({cols})), .dtype = int64});
    return lower ? (r + k >= c) : (r + k <= c);
}

Array tri_impl(const Array& x, std::int64_t k, bool lower) {
    if (x.ndim() < 2) throw ValueError("input must be at least 2-dimensional");
    if (x.chunks().has_unknown())
        throw NotImplemented("{}: arrays with unknown chunk sizes ({}) are not supported", lower ? "tril" : "triu",
                             x.chunks().str());
    const Array cond = triangle(x.chunks().sizes(x.ndim() - 2), x.chunks().sizes(x.ndim() - 1), k, lower);
    return where(cond, x, Scalar(std::int64_t{0}, x.dtype()));
}

}  // namespace

Array tril(const Array& x, std::int64_t k) { return tri_impl(x, k, true); }
Array triu(const Array& x, std::int64_t k) { return tri_impl(x, k, false); }

Array eye(std::int64_t n, std::optional<std::int64_t> m, std::int64_t k, const CreateOptions& options) {
    const std::int64_t cols = m.value_or(n);
    if (n < 0 || cols < 0) throw ValueError("negative dimensions are not allowed");
    const DType dtype = options.dtype.value_or(float64);
    const Chunks chunks = normalize_chunks(options.chunks, {n, cols}, dtype);
    const Array r = getitem(arange(n, {.chunks = ChunkSpec(Chunks({chunks.sizes(0)})), .dtype = int64}),
                            {Slice(), newaxis});
    const Array c = arange(cols, {.chunks = ChunkSpec(Chunks({chunks.sizes(1)})), .dtype = int64});
    return (r + k == c).astype(dtype);
}

Array diag(const Array& x, std::int64_t k) {
    if (x.chunks().has_unknown())
        throw NotImplemented("diag: arrays with unknown chunk sizes ({}) are not supported", x.chunks().str());
    if (x.ndim() == 2) {
        // Row r, column r + k for the rows where both are inside.
        const std::int64_t first = std::max<std::int64_t>(0, -k);
        const std::int64_t last = std::min(x.shape(0), x.shape(1) - k);
        std::vector<std::int64_t> rows, cols;
        for (std::int64_t r = first; r < last; ++r) {
            rows.push_back(r);
            cols.push_back(r + k);
        }
        return vindex(x, std::vector<std::vector<std::int64_t>>{rows, cols});
    }
    if (x.ndim() != 1) throw ValueError("Input must be 1- or 2-d.");
    // v on diagonal k of an (n + |k|) square: element (i, j) is v[i] (k >= 0) or v[j] (k < 0)
    // where j - i == k; v is padded to the full length and broadcast along the other axis.
    const std::int64_t n = x.shape(0), size = n + (k < 0 ? -k : k);
    const Array v = pad(x, {{0, size - n}});
    const BlockSizes& sizes = v.chunks().sizes(0);
    const Array r = getitem(arange(size, {.chunks = ChunkSpec(Chunks({sizes})), .dtype = int64}), {Slice(), newaxis});
    const Array c = arange(size, {.chunks = ChunkSpec(Chunks({sizes})), .dtype = int64});
    const Array values = k >= 0 ? getitem(v, {Slice(), newaxis}) : getitem(v, {newaxis, Slice()});
    return where(r + k == c, values, Scalar(std::int64_t{0}, x.dtype()));
}

}  // namespace tessera
