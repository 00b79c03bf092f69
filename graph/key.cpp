// Key: an interned name plus a block index. Names live in a process-wide intern table: looking a
// name up takes a shared lock on one of 64 shards (plus a per-thread cache of the last name),
// reading a name back by id takes no lock at all.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <ostream>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "graph/append_table.hpp"
#include "tessera/error.hpp"
#include "tessera/graph.hpp"

namespace tessera {
namespace {

bool is_hex_token(std::string_view s) {
    return s.size() >= 8 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
           });
}

/// The group of a key name: the name up to its last '-' when a hex token follows.
std::string_view group_of_name(std::string_view n) {
    const std::size_t dash = n.rfind('-');
    if (dash == std::string_view::npos || !is_hex_token(n.substr(dash + 1))) return n;
    return n.substr(0, dash);
}

class InternTable {
public:
    InternTable() { append(""); }

    std::uint32_t intern(std::string_view name) {
        if (name.empty()) return 0;
        // Keys are usually built in loops over blocks with one name: skip the shard lock then.
        thread_local std::string_view last_name;
        thread_local std::uint32_t last_id = 0;
        if (last_id != 0 && name == last_name) return last_id;

        const std::size_t h = std::hash<std::string_view>{}(name);
        Shard& shard = shards_[h % kShards];
        std::uint32_t id = 0;
        {
            std::shared_lock lock(shard.mutex);
            auto it = shard.ids.find(name);
            if (it != shard.ids.end()) id = it->second;
        }
        if (id == 0) {
            std::unique_lock lock(shard.mutex);
            auto it = shard.ids.find(name);
            if (it != shard.ids.end()) {
                id = it->second;
            } else {
                id = append(name);
                shard.ids.emplace(names_[id].name, id);
            }
        }
        last_name = names_[id].name;
        last_id = id;
        return id;
    }

    std::string_view name(std::uint32_t id) const { return names_[id].name; }
    /// The group's one stable string: every name of a group shares its address, so observers
    /// can cache per group by pointer.
    std::string_view group(std::uint32_t id) const { return names_[id].group; }

private:
    static constexpr std::size_t kShards = 64;
    struct alignas(64) Shard {
        std::shared_mutex mutex;
        // Keys view the stable strings in names_.
        std::unordered_map<std::string_view, std::uint32_t> ids;
    };

    struct Entry {
        std::string name;
        std::string_view group;
    };

    std::uint32_t append(std::string_view name) {
        std::lock_guard lock(append_mutex_);
        if (count_ == UINT32_MAX) throw GraphError("too many distinct key names (more than 2^32)");
        const std::uint32_t id = count_++;
        Entry& entry = names_.slot_for_write(id);
        entry.name = std::string(name);
        entry.group = *groups_.emplace(group_of_name(name)).first;  // node-based: stable
        return id;
    }

    Shard shards_[kShards];
    std::mutex append_mutex_;
    std::uint32_t count_ = 0;
    detail::AppendTable<Entry> names_;
    std::unordered_set<std::string, std::hash<std::string_view>, std::equal_to<>> groups_;  // under append_mutex_
};

// Never destroyed: Keys in static objects may outlive any destruction order we could pick.
InternTable& intern_table() {
    static InternTable* table = new InternTable();
    return *table;
}

}  // namespace

Key::Key(std::string_view name, std::vector<std::int64_t> index)
    : name_(intern_table().intern(name)), index_(std::move(index)) {}

std::string_view Key::name() const { return intern_table().name(name_); }

std::string_view Key::group() const { return intern_table().group(name_); }

std::string Key::str() const {
    if (index_.empty()) return fmt::format("'{}'", name());
    return fmt::format("('{}', {})", name(), fmt::join(index_, ", "));
}

bool operator<(const Key& a, const Key& b) {
    if (a.name_ != b.name_) {
        const int c = a.name().compare(b.name());
        if (c != 0) return c < 0;
    }
    return a.index_ < b.index_;
}

std::size_t Key::hash() const {
    std::uint64_t h = (static_cast<std::uint64_t>(name_) + 1) * 0x9e3779b97f4a7c15ull;
    for (std::int64_t v : index_) {
        h = (h ^ static_cast<std::uint64_t>(v)) * 0xbf58476d1ce4e5b9ull;
        h = (h << 29) | (h >> 35);
    }
    return static_cast<std::size_t>(detail::fmix64(h ^ index_.size()));
}

std::ostream& operator<<(std::ostream& os, const Key& key) { return os << key.str(); }

}  // namespace tessera
