// The Zarr v3 sharding_indexed codec.

#include "src/io/sharding.hpp"

#include <cstring>
#include <limits>

#include "src/io/file_io.hpp"
#include "tessera/error.hpp"

namespace tessera::io {
namespace {

constexpr std::uint64_t kMissing = std::numeric_limits<std::uint64_t>::max();

Shape json_shape(const json& v, const char* what) {
    Shape out;
    bool ok = v.is_array();
    if (ok) {
        for (const json& e : v) {
            if (!e.is_number_integer() || e.get<std::int64_t>() <= 0) {
                ok = false;
                break;
            }
            out.push_back(e.get<std::int64_t>());
        }
    }
    if (!ok)
        throw IOError("sharding_indexed: '{}' must be a list of positive integers, got {}", what,
                      v.dump());
    return out;
}


}  // namespace

ShardingCodec::ShardingCodec(const json& config, DType dtype, const Shape& shard_shape,
                             std::vector<std::byte> fill)
    : dtype_(dtype), shard_shape_(shard_shape), fill_(std::move(fill)) {
    if (!config.contains("chunk_shape")) throw IOError("sharding_indexed: missing 'chunk_shape'");
    if (!config.contains("codecs")) throw IOError("sharding_indexed: missing 'codecs'");
    chunk_shape_ = json_shape(config["chunk_shape"], "chunk_shape");
    if (chunk_shape_.size() != shard_shape_.size())
        throw IOError("sharding_indexed: inner chunk shape {} does not match the {} dimensions of "
                      "shard shape {}",
                      shape_str(chunk_shape_), shard_shape_.size(), shape_str(shard_shape_));
    for (std::size_t axis = 0; axis < chunk_shape_.size(); ++axis) {
        if (shard_shape_[axis] % chunk_shape_[axis] != 0)
            throw IOError("sharding_indexed: shard shape {} is not divisible by the inner chunk "
                          "shape {}",
                          shape_str(shard_shape_), shape_str(chunk_shape_));
        grid_.push_back(shard_shape_[axis] / chunk_shape_[axis]);
    }
    if (config.contains("index_location")) {
        const json& loc = config["index_location"];
        if (loc != "start" && loc != "end")
            throw IOError("sharding_indexed: 'index_location' must be \"start\" or \"end\", got {}",
                          loc.dump());
        index_at_end_ = loc == "end";
    }
    inner_ = std::make_shared<const CodecPipeline>(
        CodecPipeline::v3(config["codecs"], dtype_, chunk_shape_, fill_));
    json index_codecs = config.contains("index_codecs")
                            ? config["index_codecs"]
                            : json::parse(R"([{"name": "bytes", "configuration": {"endian":
                                              "little"}}, {"name": "crc32c"}])");
    Shape index_shape = grid_;
    index_shape.push_back(2);
    index_ = std::make_shared<const CodecPipeline>(
        CodecPipeline::v3(index_codecs, uint64, index_shape, {}));
    const auto size = index_->fixed_encoded_size();
    if (!size) throw IOError("sharding_indexed: 'index_codecs' must not compress the index");
    index_nbytes_ = *size;
}

Bytes ShardingCodec::encode(const NDArray& shard) const {
    const std::int64_t count = shape_size(grid_);
    std::vector<std::uint64_t> index(static_cast<std::size_t>(2 * count), kMissing);
    std::vector<Bytes> pieces;
    std::uint64_t offset = index_at_end_ ? 0 : static_cast<std::uint64_t>(index_nbytes_);
    for (std::int64_t k = 0; k < count; ++k) {
        const Index pos = unravel(k, grid_);
        NDArray region = shard;
        for (std::size_t axis = 0; axis < grid_.size(); ++axis) {
            const std::int64_t start = pos[axis] * chunk_shape_[axis];
            region = region.slice(static_cast<std::int64_t>(axis), start, start + chunk_shape_[axis]);
        }
        if (all_equal_bytes(region, fill_)) continue;
        pieces.push_back(inner_->encode(region));
        index[static_cast<std::size_t>(2 * k)] = offset;
        index[static_cast<std::size_t>(2 * k + 1)] = pieces.back().size();
        offset += pieces.back().size();
    }
    Shape index_shape = grid_;
    index_shape.push_back(2);
    const Bytes encoded_index = index_->encode(NDArray::from_vector(index, index_shape));
    Bytes out;
    out.reserve(static_cast<std::size_t>(offset) + encoded_index.size());
    if (!index_at_end_) out.insert(out.end(), encoded_index.begin(), encoded_index.end());
    for (const Bytes& piece : pieces) out.insert(out.end(), piece.begin(), piece.end());
    if (index_at_end_) out.insert(out.end(), encoded_index.begin(), encoded_index.end());
    return out;
}

NDArray ShardingCodec::decode(std::span<const std::byte> data) const {
    const auto size = static_cast<std::int64_t>(data.size());
    if (size < index_nbytes_)
        throw IOError("sharding_indexed: shard of {} bytes is smaller than its index ({} bytes)",
                      size, index_nbytes_);
    const std::span<const std::byte> index_bytes =
        index_at_end_ ? data.last(static_cast<std::size_t>(index_nbytes_))
                      : data.first(static_cast<std::size_t>(index_nbytes_));
    NDArray index;
    try {
        index = index_->decode(Bytes(index_bytes.begin(), index_bytes.end())).contiguous();
    } catch (const IOError& e) {
        throw IOError("sharding_indexed: index: {}", e.what());
    }
    const std::uint64_t* entries = index.data<std::uint64_t>();
    NDArray out = filled_array(dtype_, shard_shape_, fill_);
    const std::int64_t count = shape_size(grid_);
    for (std::int64_t k = 0; k < count; ++k) {
        const std::uint64_t offset = entries[2 * k];
        const std::uint64_t nbytes = entries[2 * k + 1];
        if (offset == kMissing && nbytes == kMissing) continue;
        const Index pos = unravel(k, grid_);
        if (offset > data.size() || nbytes > data.size() - offset)
            throw IOError("sharding_indexed: inner chunk {} at bytes [{}, {}) lies outside the "
                          "shard of {} bytes",
                          shape_str(pos), offset, offset + nbytes, size);
        Index origin(pos.size());
        for (std::size_t axis = 0; axis < pos.size(); ++axis)
            origin[axis] = pos[axis] * chunk_shape_[axis];
        try {
            const auto piece = data.subspan(offset, nbytes);
            out.assign_region(origin, inner_->decode(Bytes(piece.begin(), piece.end())));
        } catch (const IOError& e) {
            throw IOError("sharding_indexed: inner chunk {}: {}", shape_str(pos), e.what());
        }
    }
    return out;
}

json ShardingCodec::v3_json() const {
    return {{"name", "sharding_indexed"},
            {"configuration",
             {{"chunk_shape", chunk_shape_},
              {"codecs", inner_->v3_json()},
              {"index_codecs", index_->v3_json()},
              {"index_location", index_at_end_ ? "end" : "start"}}}};
}

}  // namespace tessera::io
