// The Array member shortcuts of the shape and indexing functions.
#include "tessera/array_shape.hpp"
#include "tessera/indexing.hpp"

namespace tessera {

Array Array::T() const { return tessera::transpose(*this); }
Array Array::transpose(const std::vector<std::int64_t>& axes) const { return tessera::transpose(*this, axes); }
Array Array::reshape(const Shape& shape) const { return tessera::reshape(*this, shape); }
Array Array::rechunk(const ChunkSpec& chunks) const { return tessera::rechunk(*this, chunks); }
Array Array::rechunk(const ChunkSpec& chunks, const RechunkOptions& options) const {
    return tessera::rechunk(*this, chunks, options);
}
Array Array::ravel() const { return tessera::ravel(*this); }
Array Array::flatten() const { return tessera::ravel(*this); }
Array Array::squeeze(const Axes& axis) const { return tessera::squeeze(*this, axis); }
Array Array::operator[](const IndexList& index) const { return getitem(*this, index); }
Array Array::operator[](const Array& mask) const { return getitem_mask(*this, mask); }
Array Array::compute_chunk_sizes() const { return tessera::compute_chunk_sizes(*this); }

}  // namespace tessera
