// A small cache of large, 64-byte aligned byte blocks for io::Bytes (see buffer_pool.hpp).

#include "src/io/buffer_pool.hpp"

#include <algorithm>
#include <deque>
#include <mutex>
#include <new>
#include <thread>

namespace tessera::io {
namespace {

constexpr std::size_t kAlign = 64;
constexpr std::size_t kPooled = std::size_t{1} << 20;  // blocks from 1 MiB up are cached
// Two blocks per core cover a chunk being read (file contents) and one being decoded, or one
// being compressed, on every core.
std::size_t max_blocks() {
    static const std::size_t n = std::max<std::size_t>(2, std::thread::hardware_concurrency());
    return n;
}
constexpr std::size_t kMaxBytes = std::size_t{128} << 20;

// A large block starts with a kAlign-byte header holding its capacity, so a block handed out for
// a smaller request is freed with its real size.
struct Block {
    std::byte* base;
    std::size_t capacity;
};

struct Pool {
    std::mutex mutex;
    std::deque<Block> blocks;  // oldest first
    std::size_t bytes = 0;
    std::int64_t hits = 0, misses = 0;
};

Pool& pool() {
    static Pool* p = new Pool;  // never destroyed: buffers may be freed during static destruction
    return *p;
}

void release(std::byte* base) { ::operator delete(base, std::align_val_t{kAlign}); }

}  // namespace

void* allocate_chunk_bytes(std::size_t bytes) {
    if (bytes < kPooled) return ::operator new(bytes, std::align_val_t{kAlign});
    Pool& p = pool();
    {
        std::lock_guard lock(p.mutex);
        // The smallest cached block that fits without wasting more than a quarter.
        auto best = p.blocks.end();
        for (auto it = p.blocks.begin(); it != p.blocks.end(); ++it)
            if (it->capacity >= bytes && it->capacity - bytes <= bytes / 4 &&
                (best == p.blocks.end() || it->capacity < best->capacity))
                best = it;
        if (best != p.blocks.end()) {
            std::byte* base = best->base;
            p.bytes -= best->capacity;
            p.blocks.erase(best);
            ++p.hits;
            return base + kAlign;
        }
        ++p.misses;
    }
    auto* base = static_cast<std::byte*>(::operator new(bytes + kAlign, std::align_val_t{kAlign}));
    *reinterpret_cast<std::size_t*>(base) = bytes;
    return base + kAlign;
}

void free_chunk_bytes(void* ptr, std::size_t bytes) noexcept {
    if (ptr == nullptr) return;
    if (bytes < kPooled) {
        ::operator delete(ptr, std::align_val_t{kAlign});
        return;
    }
    std::byte* base = static_cast<std::byte*>(ptr) - kAlign;
    const std::size_t capacity = *reinterpret_cast<const std::size_t*>(base);
    std::deque<Block> evicted;
    Pool& p = pool();
    {
        std::lock_guard lock(p.mutex);
        if (capacity <= kMaxBytes) {
            p.blocks.push_back({base, capacity});
            p.bytes += capacity;
            base = nullptr;
            while (p.blocks.size() > max_blocks() || p.bytes > kMaxBytes) {
                evicted.push_back(p.blocks.front());
                p.bytes -= p.blocks.front().capacity;
                p.blocks.pop_front();
            }
        }
    }
    if (base) release(base);
    for (const Block& b : evicted) release(b.base);  // outside the lock: munmap is slow
}

BufferPoolStats buffer_pool_stats() {
    Pool& p = pool();
    std::lock_guard lock(p.mutex);
    return {p.hits, p.misses, static_cast<std::int64_t>(p.blocks.size()), static_cast<std::int64_t>(p.bytes)};
}

void buffer_pool_clear() {
    std::deque<Block> blocks;
    {
        Pool& p = pool();
        std::lock_guard lock(p.mutex);
        blocks.swap(p.blocks);
        p.bytes = 0;
    }
    for (const Block& b : blocks) release(b.base);
}

}  // namespace tessera::io
