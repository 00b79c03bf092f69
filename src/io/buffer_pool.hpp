#pragma once
// Internal: the memory behind io::Bytes. Large blocks (chunk-sized: compressed chunks, file
// contents, decoded chunks) are kept when freed, up to a small cap, and handed out again: a
// fresh 40 MB buffer costs ~10 000 page faults (zeroed pages) plus an munmap when freed, about
// half the CPU time of blosc-zstd decompressing into it; a reused one costs none. At most
// max(2, cores) blocks and 128 MiB are kept (about one chunk in flight per thread: more
// raised W8's peak RSS above Dask's for no further gain). Small blocks go straight to operator new.
//
//     void* p = allocate_chunk_bytes(40 << 20);   // 64-byte aligned
//     free_chunk_bytes(p, 40 << 20);              // kept for the next chunk of about that size
//
// Thread-safe.

#include <cstddef>
#include <cstdint>

namespace tessera::io {

/// `bytes` of 64-byte aligned, uninitialized memory (a cached block when one fits).
void* allocate_chunk_bytes(std::size_t bytes);
/// Releases memory from allocate_chunk_bytes(bytes) (the same `bytes`).
void free_chunk_bytes(void* p, std::size_t bytes) noexcept;

struct BufferPoolStats {
    std::int64_t hits = 0, misses = 0;         // large allocations served from / not from the cache
    std::int64_t cached_blocks = 0, cached_bytes = 0;
};
BufferPoolStats buffer_pool_stats();
/// Frees every cached block (tests, or before a memory-hungry phase).
void buffer_pool_clear();

}  // namespace tessera::io
