// The operation registry: names ↔ ids ↔ functions. Registration takes a lock; op_name() and
// op_fn(), called once per executed task, read an append-only table without locking.
// Id 0 is never assigned (a default Task has no operation); "tessera.identity" is id 1.

#include <atomic>
#include <functional>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "graph/append_table.hpp"
#include "tessera/error.hpp"
#include "tessera/graph.hpp"

namespace tessera {
namespace {

Value identity_op(const TaskContext& ctx) {
    if (ctx.inputs.size() != 1)
        throw GraphError("operation 'tessera.identity' takes 1 input, got {}", ctx.inputs.size());
    return *ctx.inputs[0];
}

struct OpEntry {
    std::string name;
    OpFn fn = nullptr;
};

class OpRegistry {
public:
    OpRegistry() {
        count_.store(1, std::memory_order_release);  // id 0 stays unassigned
        add("tessera.identity", &identity_op);
    }

    OpId add(std::string_view name, OpFn fn) {
        if (name.empty()) throw GraphError("operation name must not be empty");
        if (fn == nullptr) throw GraphError("operation '{}' has no function", name);
        std::unique_lock lock(mutex_);
        auto it = by_name_.find(name);
        if (it != by_name_.end()) {
            if (entries_[it->second].fn != fn)
                throw GraphError("operation '{}' is already registered with another function", name);
            return it->second;
        }
        const OpId id = count_.load(std::memory_order_relaxed);
        OpEntry& entry = entries_.slot_for_write(id);
        entry.name = std::string(name);
        entry.fn = fn;
        by_name_.emplace(entry.name, id);
        count_.store(id + 1, std::memory_order_release);
        return id;
    }

    OpId find(std::string_view name) const {
        std::shared_lock lock(mutex_);
        auto it = by_name_.find(name);
        return it == by_name_.end() ? 0 : it->second;
    }

    const OpEntry& entry(OpId id) const {
        if (id == 0 || id >= count_.load(std::memory_order_acquire))
            throw GraphError("unknown operation id {}", id);
        return entries_[id];
    }

private:
    mutable std::shared_mutex mutex_;
    struct NameHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, OpId, NameHash, std::equal_to<>> by_name_;
    std::atomic<OpId> count_{0};
    detail::AppendTable<OpEntry> entries_;
};

// Never destroyed, and built on first use: kernels register from static initializers of other
// translation units, in an order we do not control.
OpRegistry& registry() {
    static OpRegistry* r = new OpRegistry();
    return *r;
}

}  // namespace

OpId register_op(std::string_view name, OpFn fn) { return registry().add(name, fn); }

OpId op_id(std::string_view name) {
    const OpId id = registry().find(name);
    if (id == 0) throw GraphError("unknown operation '{}'", name);
    return id;
}

bool has_op(std::string_view name) { return registry().find(name) != 0; }

std::string_view op_name(OpId id) { return registry().entry(id).name; }

OpFn op_fn(OpId id) { return registry().entry(id).fn; }

}  // namespace tessera
