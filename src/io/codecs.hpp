#pragma once
// Internal: bytes → bytes codecs of Zarr (v2 numcodecs compressors and v3 bytes-to-bytes codecs):
// blosc, zstd, zlib, gzip, bz2, lz4 (numcodecs framing) and crc32c.
//
//     auto codec = make_v2_compressor(json::parse(R"({"id": "zstd", "level": 3})"));
//     Bytes packed = codec->encode(raw);
//     Bytes raw2 = codec->decode(packed, raw.size());   // IOError on corrupt data
//
// Codecs are immutable and thread-safe. Their errors are IOErrors without a path: the store adds
// "chunk '<key>' of <path>: " in front.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/io/buffer_pool.hpp"

namespace tessera::io {

using json = nlohmann::json;

/// Allocator for byte buffers: 64-byte aligned (like tessera::Buffer, so decoded chunks can be
/// wrapped without a copy), default-initializing (resize() does not zero the bytes), and
/// recycling chunk-sized blocks (buffer_pool.hpp).
template <class T>
struct ChunkAllocator {
    using value_type = T;
    ChunkAllocator() = default;
    template <class U>
    ChunkAllocator(const ChunkAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) { return static_cast<T*>(allocate_chunk_bytes(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept { free_chunk_bytes(p, n * sizeof(T)); }
    template <class U>
    void construct(U* p) noexcept {
        ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
    friend bool operator==(const ChunkAllocator&, const ChunkAllocator&) { return true; }
};

/// An encoded or decoded chunk.
using Bytes = std::vector<std::byte, ChunkAllocator<std::byte>>;

/// A bytes → bytes codec.
class BytesCodec {
public:
    virtual ~BytesCodec() = default;
    /// Encodes `in`; throws IOError when the library fails.
    virtual Bytes encode(std::span<const std::byte> in) const = 0;
    /// Decodes `in`. With `expected` >= 0 the result must have exactly that many bytes, else
    /// IOError "expected 4096 bytes after decompression, got 100"; IOError for corrupt data.
    virtual Bytes decode(std::span<const std::byte> in, std::int64_t expected) const = 0;
    /// The encoded size of `nbytes` input bytes when it does not depend on the data (crc32c).
    virtual std::optional<std::int64_t> fixed_encoded_size(std::int64_t) const {
        return std::nullopt;
    }
    /// The numcodecs configuration ({"id": "zstd", "level": 1}) for a v2 compressor.
    virtual json v2_json() const = 0;
    /// The v3 codec entry ({"name": "zstd", "configuration": {...}}).
    virtual json v3_json() const = 0;
};

/// A v2 compressor from its numcodecs configuration (null gives nullptr). `typesize` is the
/// dtype's itemsize (blosc's shuffle unit). IOError "unknown compressor 'foo'" and for bad
/// parameters ("blosc: unknown cname 'foo'").
std::shared_ptr<const BytesCodec> make_v2_compressor(const json& config, std::int64_t typesize);
/// A v3 bytes → bytes codec by name; nullptr when `name` is not one (the caller decides whether
/// it is another kind of codec or unknown). IOError for bad configurations.
std::shared_ptr<const BytesCodec> make_v3_bytes_codec(const std::string& name, const json& config,
                                                      std::int64_t typesize);

/// CRC-32C (Castagnoli) of `data`, as used by the v3 crc32c codec.
std::uint32_t crc32c(std::span<const std::byte> data);

/// The "expected N bytes after decompression, got M" error.
[[noreturn]] void throw_size_mismatch(std::int64_t expected, std::int64_t got);

}  // namespace tessera::io
