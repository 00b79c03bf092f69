#pragma once
// Internal: the whole chain that turns one chunk (an NDArray of the chunk shape) into the bytes
// stored under its key and back. Zarr v3 spells it out as "codecs" (array → array codecs such as
// transpose, one array → bytes codec: bytes or sharding_indexed, then bytes → bytes codecs);
// a v2 array is the same chain: transpose when order is F, bytes with the typestr's byte order,
// then the compressor.
//
//     CodecPipeline p = CodecPipeline::v3(codecs_json, ts::float32, {64, 64}, fill);
//     Bytes stored = p.encode(chunk);
//     NDArray back = p.decode(std::move(stored));   // shape (64, 64), maybe a strided view
//
// Pipelines are immutable and thread-safe. Errors are IOErrors without a path.

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "src/io/codecs.hpp"
#include "tessera/ndarray.hpp"

namespace tessera::io {

class ShardingCodec;

class CodecPipeline {
public:
    /// A v2 chain: order 'C' or 'F', big- or little-endian bytes, an optional compressor.
    static CodecPipeline v2(DType dtype, const Shape& chunk_shape, char order, bool big_endian,
                            std::shared_ptr<const BytesCodec> compressor);
    /// A v3 chain from the "codecs" list for chunks of `chunk_shape`; `fill` holds the fill value's
    /// native bytes (empty for none). IOError for unknown codecs and bad configurations.
    static CodecPipeline v3(const json& codecs, DType dtype, const Shape& chunk_shape,
                            std::vector<std::byte> fill);

    /// Encodes a chunk of exactly the chunk shape and the pipeline's dtype (any layout).
    Bytes encode(const NDArray& chunk) const;
    /// Decodes stored bytes into an array of the chunk shape (possibly a strided view).
    NDArray decode(Bytes data) const;

    /// The "codecs" list of v3 metadata.
    json v3_json() const;
    /// The stored size of a chunk when it does not depend on the data (no compression).
    std::optional<std::int64_t> fixed_encoded_size() const;
    /// True when the bytes codec writes big-endian data.
    bool big_endian() const { return big_endian_; }
    const Shape& chunk_shape() const { return chunk_shape_; }
    DType dtype() const { return dtype_; }
    /// True when the array → bytes codec is sharding_indexed.
    bool sharded() const { return sharding_ != nullptr; }

private:
    DType dtype_;
    Shape chunk_shape_;
    Shape encoded_shape_;  // after the transposes
    std::vector<std::vector<std::int64_t>> transposes_;
    bool big_endian_ = false;
    bool bytes_has_config_ = true;
    std::shared_ptr<const ShardingCodec> sharding_;
    std::vector<std::shared_ptr<const BytesCodec>> bytes_codecs_;
};

/// An array of `shape` with every element set to the native bytes `fill` (zeros when empty).
NDArray filled_array(DType dtype, const Shape& shape, std::span<const std::byte> fill);
/// True when every element of `a` has exactly the bytes `fill` (false when `fill` is empty).
bool all_equal_bytes(const NDArray& a, std::span<const std::byte> fill);
/// Reverses the bytes of each `unit`-byte element of `data` in place.
void byteswap_inplace(std::byte* data, std::int64_t nbytes, std::int64_t unit);
/// The byte-order unit of a dtype (the itemsize, or half of it for complex).
std::int64_t swap_unit(DType dtype);

}  // namespace tessera::io
