#pragma once
// Pieces shared by the local schedulers: value storage without per-task allocations, the ready
// queue in static priority order, dependency counts, and observer event emission.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tessera/error.hpp"
#include "tessera/graph.hpp"
#include "tessera/scheduler.hpp"

namespace tessera::detail {

/// One Value per task, constructed when the task finishes and destroyed when released.
/// Raw storage: a default Value allocates, and a million of them would cost a million
/// allocations before anything runs.
class ValueSlots {
public:
    explicit ValueSlots(std::int64_t n);
    ~ValueSlots();
    ValueSlots(const ValueSlots&) = delete;
    ValueSlots& operator=(const ValueSlots&) = delete;

    /// Only the thread that ran the task calls set; only the last reader calls release.
    void set(std::int64_t t, Value value) {
        new (slots_ + t) Value(std::move(value));
        alive_[static_cast<std::size_t>(t)] = 1;
    }
    const Value& get(std::int64_t t) const { return slots_[t]; }
    void release(std::int64_t t) {
        alive_[static_cast<std::size_t>(t)] = 0;
        slots_[t].~Value();
    }

private:
    std::int64_t n_;
    Value* slots_;
    std::vector<std::uint8_t> alive_;
};

/// A ready task with its static priority (smaller runs first; ties by position).
struct ReadyEntry {
    std::int64_t priority;
    std::int64_t task;
    friend bool operator<(const ReadyEntry& a, const ReadyEntry& b) {
        return a.priority < b.priority || (a.priority == b.priority && a.task < b.task);
    }
};

/// Ready tasks in priority order: the initially ready tasks (already sorted) behind a cursor,
/// tasks made ready later in a binary heap. Not synchronized.
class ReadyQueue {
public:
    void set_roots(std::vector<ReadyEntry> sorted_roots) {
        roots_ = std::move(sorted_roots);
        next_root_ = 0;
    }
    bool empty() const { return next_root_ == roots_.size() && heap_.empty(); }
    std::int64_t size() const {
        return static_cast<std::int64_t>(roots_.size() - next_root_ + heap_.size());
    }
    void push(ReadyEntry entry) {
        heap_.push_back(entry);
        std::push_heap(heap_.begin(), heap_.end(), Greater{});
    }
    /// Precondition: !empty().
    ReadyEntry pop() {
        const bool have_root = next_root_ < roots_.size();
        if (!heap_.empty() && (!have_root || heap_.front() < roots_[next_root_])) {
            std::pop_heap(heap_.begin(), heap_.end(), Greater{});
            ReadyEntry out = heap_.back();
            heap_.pop_back();
            return out;
        }
        return roots_[next_root_++];
    }

private:
    struct Greater {
        bool operator()(const ReadyEntry& a, const ReadyEntry& b) const { return b < a; }
    };
    std::vector<ReadyEntry> roots_;
    std::size_t next_root_ = 0;
    std::vector<ReadyEntry> heap_;
};

/// Dependency counts derived from the index. Both counts come from one list each, so they stay
/// consistent with how they are decremented even when a task lists a dependency twice:
/// n_waiting = occurrences of the task in dependent lists (decremented while walking dependents),
/// n_readers = occurrences of the task in dependency lists (decremented while walking deps).
/// Per-task state lives at slot(t): the task's priority when priorities are a permutation (as
/// memory_order gives), so tasks that run at about the same time, usually on the same worker,
/// share cache lines; else its position.
struct DependencyCounts {
    std::vector<std::int64_t> n_waiting;
    std::vector<std::int64_t> n_readers;
    /// Tasks with nothing to wait for, sorted by priority.
    std::vector<ReadyEntry> roots;
    bool by_priority = false;

    std::int64_t slot(std::int64_t t, std::span<const std::int64_t> priority) const {
        return by_priority ? priority[static_cast<std::size_t>(t)] : t;
    }
};
DependencyCounts count_dependencies(const GraphIndex& index,
                                    std::span<const std::int64_t> priority);

/// Delivers task events to observers; does nothing (no clock reads) without observers.
class EventSink {
public:
    EventSink(const Graph& graph, std::span<const std::shared_ptr<Observer>> observers);

    bool active() const { return active_; }
    void emit(TaskEvent::Kind kind, std::int64_t task, int thread = -1, std::int64_t bytes = 0,
              std::string_view error = {}) const;
    void run_start(const std::string& scheduler, int n_threads);
    void run_end(std::int64_t n_finished, bool failed) const;
    std::int64_t now_ns() const {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now() - start_)
            .count();
    }

private:
    const Graph& graph_;
    std::span<const std::shared_ptr<Observer>> observers_;
    bool active_;
    std::int64_t run_id_ = 0;
    std::chrono::steady_clock::time_point start_;
};

/// The message of an exception, for Failed events.
std::string exception_message(const std::exception_ptr& error);

/// Re-throws a task's exception with its key before the message ("task ('f-1a2b', 3): boom").
[[noreturn]] void rethrow_task_error(const std::exception_ptr& error, const Key& key);

/// Runs every task on the calling thread in priority order (the sync scheduler, and the threads
/// scheduler with one thread); `name` is the scheduler name given to observers.
std::vector<Value> run_in_order(const Graph& graph, const GraphIndex& index,
                                std::span<const std::int64_t> priority,
                                std::span<const std::int64_t> outputs,
                                std::span<const std::shared_ptr<Observer>> observers,
                                const std::string& name);

/// Checks the arguments every Scheduler::run receives.
void check_run_arguments(const Graph& graph, const GraphIndex& index,
                         std::span<const std::int64_t> priority,
                         std::span<const std::int64_t> outputs);

}  // namespace tessera::detail
