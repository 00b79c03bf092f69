#pragma once
// Internal: the dashboard's hot path. Each OS thread that emits task events appends fixed-size
// records to its own log (one writer, one reader, no lock, no allocation except one pooled chunk
// per 2048 records); the dashboard drains every log a few times a second.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "tessera/graph.hpp"

namespace tessera::dashboard {

/// One task event as recorded on the hot path: 40 bytes, nothing owned. `key` points into the
/// running graph and is valid until that run's on_run_end returns, which drains first; `group`
/// points into the process-wide interned key names and is valid for the process lifetime.
struct EventRecord {
    const Key* key;
    const char* group;
    std::uint32_t group_len;
    std::int16_t thread;
    std::uint8_t kind;  // TaskEvent::Kind
    std::int64_t time_ns;
    std::int64_t bytes;
};

/// Fixed-size blocks of records, recycled between logs.
class ChunkPool {
public:
    static constexpr std::size_t kRecords = 2048;
    struct Chunk {
        EventRecord records[kRecords];
        std::atomic<std::size_t> size{0};
        std::atomic<Chunk*> next{nullptr};
    };

    ChunkPool() = default;
    ChunkPool(const ChunkPool&) = delete;
    ChunkPool& operator=(const ChunkPool&) = delete;
    ~ChunkPool() {
        for (Chunk* c : free_) delete c;
    }

    Chunk* acquire() {
        {
            std::lock_guard lock(mutex_);
            if (!free_.empty()) {
                Chunk* c = free_.back();
                free_.pop_back();
                c->size.store(0, std::memory_order_relaxed);
                c->next.store(nullptr, std::memory_order_relaxed);
                return c;
            }
        }
        return new Chunk;
    }
    void release(Chunk* c) {
        std::lock_guard lock(mutex_);
        if (free_.size() < kMaxFree) {
            free_.push_back(c);
            return;
        }
        delete c;
    }

private:
    static constexpr std::size_t kMaxFree = 64;
    std::mutex mutex_;
    std::vector<Chunk*> free_;
};

/// Single-producer single-consumer log of records: a linked list of chunks. push() is called only
/// by the owning thread, drain() only by one reader at a time (the caller serializes readers).
class ThreadLog {
public:
    explicit ThreadLog(ChunkPool& pool) : pool_(pool), head_(pool.acquire()), tail_(head_) {}
    ThreadLog(const ThreadLog&) = delete;
    ThreadLog& operator=(const ThreadLog&) = delete;
    ~ThreadLog() {
        for (ChunkPool::Chunk* c = head_; c != nullptr;) {
            ChunkPool::Chunk* next = c->next.load(std::memory_order_acquire);
            delete c;
            c = next;
        }
    }

    void push(const EventRecord& record) {
        ChunkPool::Chunk* c = tail_;
        std::size_t n = c->size.load(std::memory_order_relaxed);
        if (n == ChunkPool::kRecords) {
            ChunkPool::Chunk* fresh = pool_.acquire();
            c->next.store(fresh, std::memory_order_release);
            tail_ = c = fresh;
            n = 0;
        }
        c->records[n] = record;
        c->size.store(n + 1, std::memory_order_release);
    }

    /// Calls fn(record) for every record pushed (and published) since the last drain.
    template <class Fn>
    std::int64_t drain(Fn&& fn) {
        std::int64_t count = 0;
        while (true) {
            ChunkPool::Chunk* c = head_;
            const std::size_t n = c->size.load(std::memory_order_acquire);
            for (; read_ < n; ++read_, ++count) fn(c->records[read_]);
            if (n < ChunkPool::kRecords) break;
            ChunkPool::Chunk* next = c->next.load(std::memory_order_acquire);
            if (next == nullptr) break;  // the writer has not linked the next chunk yet
            head_ = next;
            read_ = 0;
            pool_.release(c);
        }
        return count;
    }

    // Reader-side pairing of Started/Finished (both come from this thread, in order).
    const Key* open_key = nullptr;
    std::int64_t open_start_ns = 0;

private:
    ChunkPool& pool_;
    ChunkPool::Chunk* head_;  // reader
    std::size_t read_ = 0;    // reader
    ChunkPool::Chunk* tail_;  // writer
};

}  // namespace tessera::dashboard
