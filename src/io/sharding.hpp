#pragma once
// Internal: the Zarr v3 sharding_indexed codec. A shard (one stored object) holds a grid of
// inner chunks, each encoded by an inner codec chain, plus an index of (offset, nbytes) uint64
// pairs per inner chunk (2^64-1 twice for a missing one) encoded by the index codecs, at the
// start or the end of the shard.
//
// Inner chunks whose every element equals the fill value are not written (as zarr-python does);
// missing ones read back as the fill value.

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "src/io/codec_pipeline.hpp"

namespace tessera::io {

class ShardingCodec {
public:
    /// `shard_shape` is the shape of the arrays this codec encodes. IOError for bad
    /// configurations ("sharding_indexed: shard shape (4, 4) is not divisible by the inner chunk
    /// shape (3, 2)").
    ShardingCodec(const json& config, DType dtype, const Shape& shard_shape,
                  std::vector<std::byte> fill);

    Bytes encode(const NDArray& shard) const;
    NDArray decode(std::span<const std::byte> data) const;
    json v3_json() const;

private:
    DType dtype_;
    Shape shard_shape_;
    Shape chunk_shape_;
    Shape grid_;  // inner chunks per axis
    std::vector<std::byte> fill_;
    std::shared_ptr<const CodecPipeline> inner_;
    std::shared_ptr<const CodecPipeline> index_;
    std::int64_t index_nbytes_ = 0;
    bool index_at_end_ = true;
};

}  // namespace tessera::io
