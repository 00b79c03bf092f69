#pragma once
// Internal: an append-only table whose elements never move, so readers need no lock.
// Segment k holds kBase << k elements; a segment is allocated once and published with a release
// store. Appends must be serialized by the caller (the intern table and the op registry hold a
// mutex); a reader must have learned the element's id through some synchronization with the
// writer (a lock, an atomic count, or the Key/Task having been handed over between threads).

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace tessera::detail {

template <class T>
class AppendTable {
public:
    static constexpr std::size_t kBaseBits = 8;
    static constexpr std::size_t kBase = std::size_t{1} << kBaseBits;
    // kBase * (2^kSegments - 1) elements: far beyond 2^32 ids.
    static constexpr std::size_t kSegments = 32;

    AppendTable() = default;
    AppendTable(const AppendTable&) = delete;
    AppendTable& operator=(const AppendTable&) = delete;
    ~AppendTable() {
        for (auto& segment : segments_) delete[] segment.load(std::memory_order_relaxed);
    }

    /// Element `id`, which must have been written before (see the file comment).
    const T& operator[](std::size_t id) const {
        auto [segment, offset] = locate(id);
        return segments_[segment].load(std::memory_order_acquire)[offset];
    }

    /// Writes element `id` (callers append ids 0, 1, 2, ... under their own lock).
    T& slot_for_write(std::size_t id) {
        auto [segment, offset] = locate(id);
        T* data = segments_[segment].load(std::memory_order_relaxed);
        if (data == nullptr) {
            data = new T[kBase << segment]();
            segments_[segment].store(data, std::memory_order_release);
        }
        return data[offset];
    }

private:
    static std::pair<std::size_t, std::size_t> locate(std::size_t id) {
        const std::size_t q = (id >> kBaseBits) + 1;
        const std::size_t segment = static_cast<std::size_t>(std::bit_width(q)) - 1;
        const std::size_t first = ((std::size_t{1} << segment) - 1) << kBaseBits;
        return {segment, id - first};
    }

    std::array<std::atomic<T*>, kSegments> segments_{};
};

/// The 64-bit finalizer of MurmurHash3: a bijective avalanche mix.
inline std::uint64_t fmix64(std::uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

}  // namespace tessera::detail
