// A worker's results with spilling to disk (see data_store.hpp).
//
// Spill file: "TSP1", dtype id (1 byte), ndim (u32), shape (i64 each), then the C-contiguous
// element bytes.

#include "scheduler/dist/data_store.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include <fmt/format.h>

#include "tessera/error.hpp"

namespace tessera::dist {

namespace {

constexpr char kSpillMagic[4] = {'T', 'S', 'P', '1'};

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

}  // namespace

DataStore::DataStore(MemoryLimits limits) : limits_(std::move(limits)) {
    if (limits_.limit <= 0) return;
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path parent = limits_.directory.empty() ? fs::temp_directory_path(ec) : fs::path(limits_.directory);
    const fs::path dir = parent / fmt::format("tessera-spill-{}", ::getpid());
    fs::create_directories(dir, ec);
    if (ec) throw IOError("cannot create the spill directory '{}': {}", dir.string(), ec.message());
    spill_dir_ = dir.string();
}

DataStore::~DataStore() {
    if (spill_dir_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(spill_dir_, ec);
}

std::string DataStore::path(std::uint64_t tid) const { return fmt::format("{}/{:016x}.bin", spill_dir_, tid); }

void DataStore::put(std::uint64_t tid, Value value) {
    erase(tid);
    Entry& e = entries_[tid];
    e.nbytes = value.nbytes();
    memory_bytes_ += e.nbytes;
    if (value.is_array()) {
        lru_.push_front(tid);
        e.lru = lru_.begin();
    }
    e.value = std::move(value);
    spill_until_below(~std::uint64_t{0});  // a new value may go to disk at once
}

std::optional<Value> DataStore::get(std::uint64_t tid) {
    auto it = entries_.find(tid);
    if (it == entries_.end()) return std::nullopt;
    Entry& e = it->second;
    if (e.spilled) {
        // Read back into memory (Dask "unspills" too): the value is needed now.
        e.value = Value(read(tid));
        std::error_code ec;
        std::filesystem::remove(path(tid), ec);
        e.spilled = false;
        spilled_bytes_ -= e.nbytes;
        memory_bytes_ += e.nbytes;
        lru_.push_front(tid);
        e.lru = lru_.begin();
        Value out = e.value;
        spill_until_below(tid);
        return out;
    }
    if (e.value.is_array()) lru_.splice(lru_.begin(), lru_, e.lru);
    return e.value;
}

void DataStore::erase(std::uint64_t tid) {
    auto it = entries_.find(tid);
    if (it == entries_.end()) return;
    Entry& e = it->second;
    if (e.spilled) {
        spilled_bytes_ -= e.nbytes;
        std::error_code ec;
        std::filesystem::remove(path(tid), ec);
    } else {
        memory_bytes_ -= e.nbytes;
        if (e.value.is_array()) lru_.erase(e.lru);
    }
    entries_.erase(it);
}

// Spills least recently used arrays (never `keep`, the value just stored or read) until the
// managed memory is at most the spill threshold.
void DataStore::spill_until_below(std::uint64_t keep) {
    if (limits_.limit <= 0) return;
    const double target = limits_.spill * static_cast<double>(limits_.limit);
    while (static_cast<double>(memory_bytes_) > target && !lru_.empty()) {
        std::uint64_t victim = lru_.back();
        if (victim == keep) {
            if (lru_.size() == 1) return;
            victim = *std::prev(lru_.end(), 2);
        }
        Entry& e = entries_.at(victim);
        write(victim, e.value.array());
        lru_.erase(e.lru);
        e.value = Value();
        e.spilled = true;
        memory_bytes_ -= e.nbytes;
        spilled_bytes_ += e.nbytes;
        ++n_spilled_total_;
    }
}

void DataStore::write(std::uint64_t tid, const NDArray& array) const {
    const NDArray a = array.contiguous();
    const std::string file = path(tid);
    File f(std::fopen(file.c_str(), "wb"));
    if (!f) throw IOError("cannot write the spill file '{}': {}", file, std::strerror(errno));
    const auto id = static_cast<std::uint8_t>(a.dtype().id());
    const auto ndim = static_cast<std::uint32_t>(a.ndim());
    bool ok = std::fwrite(kSpillMagic, 1, 4, f.get()) == 4 && std::fwrite(&id, 1, 1, f.get()) == 1 &&
              std::fwrite(&ndim, sizeof ndim, 1, f.get()) == 1;
    for (std::int64_t extent : a.shape()) ok = ok && std::fwrite(&extent, sizeof extent, 1, f.get()) == 1;
    const auto n = static_cast<std::size_t>(a.nbytes());
    ok = ok && (n == 0 || std::fwrite(a.raw_data(), 1, n, f.get()) == n);
    if (!ok) throw IOError("cannot write the spill file '{}': {}", file, std::strerror(errno));
}

NDArray DataStore::read(std::uint64_t tid) const {
    const std::string file = path(tid);
    File f(std::fopen(file.c_str(), "rb"));
    if (!f) throw IOError("cannot read the spill file '{}': {}", file, std::strerror(errno));
    char magic[4] = {};
    std::uint8_t id = 0;
    std::uint32_t ndim = 0;
    bool ok = std::fread(magic, 1, 4, f.get()) == 4 && std::memcmp(magic, kSpillMagic, 4) == 0 &&
              std::fread(&id, 1, 1, f.get()) == 1 && std::fread(&ndim, sizeof ndim, 1, f.get()) == 1 && ndim <= 64;
    Shape shape(ok ? ndim : 0);
    for (auto& extent : shape) ok = ok && std::fread(&extent, sizeof extent, 1, f.get()) == 1 && extent >= 0;
    if (!ok) throw IOError("spill file '{}' is corrupt", file);
    NDArray out = NDArray::empty(DType(static_cast<DTypeId>(id)), shape);
    const auto n = static_cast<std::size_t>(out.nbytes());
    if (n != 0 && std::fread(out.raw_data(), 1, n, f.get()) != n) throw IOError("spill file '{}' is truncated", file);
    return out;
}

}  // namespace tessera::dist
