// Buffer: 64-byte aligned, reference-counted memory blocks with process-wide accounting.

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <thread>
#include <utility>
#include <vector>

#include "tessera/ndarray.hpp"

namespace tessera {
namespace {

std::atomic<std::int64_t> g_live_count{0};
std::atomic<std::int64_t> g_live_bytes{0};

// Zero-filled requests at least this large are served by mmap: the kernel hands out zero pages
// lazily, so a huge zeros() array costs no time and no memory until written.
constexpr std::int64_t kMmapThreshold = std::int64_t{1} << 20;

std::size_t rounded_size(std::int64_t nbytes) {
    if (nbytes < 0) throw ValueError("cannot allocate a buffer of negative size {}", nbytes);
    constexpr auto align = static_cast<std::int64_t>(Buffer::kAlignment);
    if (nbytes > std::numeric_limits<std::int64_t>::max() - align) throw std::bad_alloc();
    // At least one alignment unit, so that every buffer has a distinct, aligned address.
    const std::int64_t rounded = nbytes == 0 ? align : (nbytes + align - 1) / align * align;
    return static_cast<std::size_t>(rounded);
}

}  // namespace

Buffer::Buffer(std::byte* data, std::int64_t nbytes, bool owned,
               std::shared_ptr<const void> keep_alive)
    : data_(data), nbytes_(nbytes), owned_(owned), keep_alive_(std::move(keep_alive)) {
    g_live_count.fetch_add(1, std::memory_order_relaxed);
    if (owned_) g_live_bytes.fetch_add(nbytes_, std::memory_order_relaxed);
}

Buffer::~Buffer() {
    // Owned memory comes either from aligned operator new (keep_alive_ empty) or from a mapping
    // released by keep_alive_'s deleter.
    if (owned_ && !keep_alive_) ::operator delete(data_, std::align_val_t{kAlignment});
    g_live_count.fetch_sub(1, std::memory_order_relaxed);
    if (owned_) g_live_bytes.fetch_sub(nbytes_, std::memory_order_relaxed);
}

namespace {

// Blocks at least this large are mapped on their own, 2 MiB aligned and marked for transparent
// huge pages: writing a fresh 32 MiB block then takes 16 page faults instead of 8192 (first-touch
// faults were a third of a rechunk's time).
constexpr std::int64_t kHugeThreshold = std::int64_t{4} << 20;
constexpr std::size_t kHugePage = std::size_t{2} << 20;

// Freed mappings kept for the next block of the same mapped size (chunked work allocates the
// same block sizes over and over): a reused mapping is already faulted in, where a fresh one is
// zeroed by the kernel page by page (5-30 % of a reduction's CPU time). At most a few per core
// and 256 MiB are kept, so the cache never holds much next to the live blocks.
class MappingCache {
public:
    void* take(std::size_t size) {
        std::lock_guard lock(mutex_);
        for (std::size_t k = 0; k < entries_.size(); ++k)
            if (entries_[k].second == size) {
                void* p = entries_[k].first;
                entries_[k] = entries_.back();
                entries_.pop_back();
                bytes_ -= size;
                return p;
            }
        return nullptr;
    }
    void give(void* p, std::size_t size) {
        {
            std::lock_guard lock(mutex_);
            const std::size_t max_entries = 2 * std::max(1u, std::thread::hardware_concurrency());
            if (entries_.size() < max_entries && bytes_ + size <= kMaxBytes) {
                entries_.emplace_back(p, size);
                bytes_ += size;
                return;
            }
        }
        ::munmap(p, size);
    }

private:
    static constexpr std::size_t kMaxBytes = std::size_t{256} << 20;
    std::mutex mutex_;
    std::vector<std::pair<void*, std::size_t>> entries_;
    std::size_t bytes_ = 0;
};

MappingCache& mapping_cache() {
    static auto* cache = new MappingCache();  // never destroyed: buffers may outlive statics
    return *cache;
}

}  // namespace

std::shared_ptr<Buffer> Buffer::allocate(std::int64_t nbytes) {
    const std::size_t size = rounded_size(nbytes);
    if (nbytes >= kHugeThreshold) {
        // Mapped sizes in whole huge pages, plus one for the alignment: blocks of nearly the same
        // size share a size class in the cache.
        const std::size_t mapped_size = (size + kHugePage - 1) / kHugePage * kHugePage + kHugePage;
        void* mapped = mapping_cache().take(mapped_size);
        const bool fresh = mapped == nullptr;
        if (fresh) mapped = ::mmap(nullptr, mapped_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mapped == MAP_FAILED) throw std::bad_alloc();
        const auto address = reinterpret_cast<std::uintptr_t>(mapped);
        auto* data = reinterpret_cast<std::byte*>((address + kHugePage - 1) / kHugePage * kHugePage);
        if (fresh) ::madvise(data, mapped_size - kHugePage, MADV_HUGEPAGE);  // advisory
        // The deleter owns the mapping; the destructor leaves it alone because keep_alive_ is set.
        std::shared_ptr<const void> mapping(mapped, [mapped_size](const void* p) {
            mapping_cache().give(const_cast<void*>(p), mapped_size);
        });
        return std::shared_ptr<Buffer>(new Buffer(data, nbytes, true, std::move(mapping)));
    }
    // Uninitialized on purpose: large blocks come straight from mmap inside the allocator and
    // their pages are only touched when written.
    auto* data = static_cast<std::byte*>(::operator new(size, std::align_val_t{kAlignment}));
    try {
        return std::shared_ptr<Buffer>(new Buffer(data, nbytes, true, nullptr));
    } catch (...) {
        ::operator delete(data, std::align_val_t{kAlignment});
        throw;
    }
}

std::shared_ptr<Buffer> Buffer::zeros(std::int64_t nbytes) {
    if (nbytes < kMmapThreshold) {
        auto buffer = allocate(nbytes);
        std::memset(buffer->data(), 0, static_cast<std::size_t>(nbytes));
        return buffer;
    }
    const std::size_t size = rounded_size(nbytes);
    void* mapped = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) throw std::bad_alloc();
    // The deleter owns the mapping; Buffer's destructor leaves it alone because keep_alive_ is set.
    std::shared_ptr<const void> mapping(mapped, [size](const void* p) {
        ::munmap(const_cast<void*>(p), size);
    });
    return std::shared_ptr<Buffer>(
        new Buffer(static_cast<std::byte*>(mapped), nbytes, true, std::move(mapping)));
}

std::shared_ptr<Buffer> Buffer::wrap(void* data, std::int64_t nbytes,
                                     std::shared_ptr<const void> keep_alive) {
    if (nbytes < 0) throw ValueError("cannot wrap a buffer of negative size {}", nbytes);
    return std::shared_ptr<Buffer>(
        new Buffer(static_cast<std::byte*>(data), nbytes, false, std::move(keep_alive)));
}

std::int64_t Buffer::live_count() { return g_live_count.load(std::memory_order_relaxed); }
std::int64_t Buffer::live_bytes() { return g_live_bytes.load(std::memory_order_relaxed); }

}  // namespace tessera
