#pragma once
// A worker's results, with a managed-memory limit like Dask's worker memory management: the
// bytes of the values held in memory are tracked; above 70% of the limit the least recently used
// arrays are written to raw files in the local directory (read back transparently when needed);
// above 80% the worker stops starting tasks; above 95% it exits so that its nanny restarts it.
// Lists and None stay in memory. Single-threaded (the worker's loop).

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "tessera/value.hpp"

namespace tessera::dist {

struct MemoryLimits {
    std::int64_t limit = 0;  // bytes; 0 = no limit (nothing spills)
    std::string directory;   // parent of the spill directory; empty = the system temp directory
    double spill = 0.7, pause = 0.8, terminate = 0.95;
};

class DataStore {
public:
    /// Creates "<directory>/tessera-spill-<pid>" when a limit is set; IOError when it cannot.
    explicit DataStore(MemoryLimits limits);
    /// Removes the spill directory.
    ~DataStore();
    DataStore(const DataStore&) = delete;
    DataStore& operator=(const DataStore&) = delete;

    /// Stores (replacing) the value of `tid`, then spills what exceeds the spill threshold.
    void put(std::uint64_t tid, Value value);
    /// The value, read back from disk when spilled (IOError when the file is unreadable);
    /// nullopt when absent. Marks it most recently used.
    std::optional<Value> get(std::uint64_t tid);
    bool contains(std::uint64_t tid) const { return entries_.contains(tid); }
    void erase(std::uint64_t tid);

    std::int64_t memory_bytes() const { return memory_bytes_; }
    std::int64_t spilled_bytes() const { return spilled_bytes_; }
    std::int64_t n_spilled_total() const { return n_spilled_total_; }
    /// Above the pause threshold: start no new task.
    bool paused() const { return over(limits_.pause); }
    /// Above the terminate threshold.
    bool must_terminate() const { return over(limits_.terminate); }
    const std::string& spill_directory() const { return spill_dir_; }

private:
    struct Entry {
        Value value;  // None while spilled
        std::int64_t nbytes = 0;
        bool spilled = false;
        std::list<std::uint64_t>::iterator lru;  // valid while in memory
    };
    bool over(double fraction) const {
        return limits_.limit > 0 && static_cast<double>(memory_bytes_) > fraction * static_cast<double>(limits_.limit);
    }
    std::string path(std::uint64_t tid) const;
    void spill_until_below(std::uint64_t keep);
    void write(std::uint64_t tid, const NDArray& array) const;
    NDArray read(std::uint64_t tid) const;

    MemoryLimits limits_;
    std::string spill_dir_;
    std::unordered_map<std::uint64_t, Entry> entries_;
    std::list<std::uint64_t> lru_;  // in-memory arrays, most recently used first
    std::int64_t memory_bytes_ = 0, spilled_bytes_ = 0, n_spilled_total_ = 0;
};

}  // namespace tessera::dist
