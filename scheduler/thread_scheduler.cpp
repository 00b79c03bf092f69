// The `threads` scheduler: N workers in a TBB arena share one queue of ready tasks ordered by
// static priority. A worker that makes dependents ready keeps the best one and runs it next,
// so a branch is finished depth-first without touching the queue. Per task: one lock of the
// queue (at most), atomic counter updates, no allocation beyond the task's own Value.

#include <tbb/global_control.h>
#include <tbb/spin_mutex.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "scheduler/parallel_tasks.hpp"
#include "scheduler/run_state.hpp"

namespace tessera {
namespace {

using Kind = TaskEvent::Kind;

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#else
    std::this_thread::yield();
#endif
}

// TBB caps its worker pool at the hardware concurrency unless told otherwise; a scheduler asked
// for more threads raises the cap (never lowers it) for the rest of the process.
void ensure_parallelism(int n_threads) {
    static std::mutex mutex;
    static std::unique_ptr<tbb::global_control> control;
    static int current = 0;
    std::lock_guard lock(mutex);
    if (current == 0) current = tbb::this_task_arena::max_concurrency();
    if (n_threads <= current) return;
    auto raised = std::make_unique<tbb::global_control>(
        tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(n_threads));
    control = std::move(raised);
    current = n_threads;
}

// Everything one run shares between its workers.
class ThreadRun {
    static constexpr std::size_t kMaxBatch = 8;

public:
    ThreadRun(const Graph& graph, const GraphIndex& index, std::span<const std::int64_t> priority,
              std::span<const std::int64_t> outputs, detail::EventSink& events, int n_threads)
        : graph_(graph), index_(index), priority_(priority), events_(events), n_threads_(n_threads),
          n_tasks_(graph.size()), values_(graph.size()),
          n_waiting_(new std::atomic<std::int64_t>[static_cast<std::size_t>(graph.size())]),
          n_readers_(new std::atomic<std::int64_t>[static_cast<std::size_t>(graph.size())]),
          is_output_(static_cast<std::size_t>(graph.size()), 0) {
        detail::DependencyCounts counts = detail::count_dependencies(index, priority);
        by_priority_ = counts.by_priority;
        for (std::int64_t k = 0; k < n_tasks_; ++k) {
            n_waiting_[k].store(counts.n_waiting[static_cast<std::size_t>(k)], std::memory_order_relaxed);
            n_readers_[k].store(counts.n_readers[static_cast<std::size_t>(k)], std::memory_order_relaxed);
        }
        for (std::int64_t t : outputs) is_output_[static_cast<std::size_t>(slot(t))] = 1;
        if (events_.active())
            for (const auto& root : counts.roots) events_.emit(Kind::Queued, root.task);
        ready_.set_roots(std::move(counts.roots));
        n_queued_.store(ready_.size());
        if (n_tasks_ == 0) stop_.store(true);
    }

    /// One worker: runs tasks until the graph is done or cancelled. Never throws.
    void work(int thread) {
        std::vector<const Value*> inputs;
        std::vector<detail::ReadyEntry> newly_ready;
        Batch batch;
        std::int64_t next = -1;        // a dependent this worker made ready and runs next
        std::int64_t n_unreported = 0;  // finished here, not yet added to n_finished_
        try {
            while (true) {
                std::int64_t t = -1;
                if (next >= 0 && (batch.empty() || priority_[static_cast<std::size_t>(next)] <=
                                                       priority_[static_cast<std::size_t>(batch.front())])) {
                    t = std::exchange(next, -1);
                } else if (!batch.empty()) {
                    t = batch.take();
                } else {
                    // Reporting finished tasks only here keeps the shared counter off the
                    // per-task path; the worker that finishes the last task always gets here.
                    if (report_finished(n_unreported)) break;
                    batch.refill(*this);
                    if (batch.empty() && !wait_for_work()) break;
                    continue;
                }
                // Cancelled: what has not started never starts.
                if (stop_.load(std::memory_order_relaxed)) break;
                if (!execute(t, thread, inputs)) break;
                ++n_unreported;
                release_inputs(t);
                make_dependents_ready(t, newly_ready, next);
            }
        } catch (...) {
            // Only the scheduler's own bookkeeping can get here (e.g. std::bad_alloc).
            fail(-1, std::current_exception());
        }
        // After a failure: the count for the run summary.
        n_finished_.fetch_add(n_unreported, std::memory_order_acq_rel);
    }

    /// After every worker returned: rethrows the first failure, or gathers the outputs.
    std::vector<Value> finish(std::span<const std::int64_t> outputs) {
        const std::int64_t n_finished = n_finished_.load();
        if (failed_.load()) {
            events_.run_end(n_finished, true);
            if (failed_task_ < 0) std::rethrow_exception(error_);
            detail::rethrow_task_error(error_, graph_.tasks()[static_cast<std::size_t>(failed_task_)].key);
        }
        if (n_finished != n_tasks_)
            throw GraphError("the graph has a cycle: {} of {} tasks could run", n_finished, n_tasks_);
        events_.run_end(n_finished, false);
        std::vector<Value> out;
        out.reserve(outputs.size());
        for (std::int64_t t : outputs) out.push_back(values_.get(slot(t)));
        return out;
    }

private:
    // Where task t's counters, value and output flag live (see DependencyCounts).
    std::int64_t slot(std::int64_t t) const {
        return by_priority_ ? priority_[static_cast<std::size_t>(t)] : t;
    }

    std::span<const std::int64_t> deps_of(std::int64_t t) const {
        const auto begin = index_.dep_offsets[static_cast<std::size_t>(t)];
        const auto end = index_.dep_offsets[static_cast<std::size_t>(t) + 1];
        return std::span(index_.dep_ids).subspan(static_cast<std::size_t>(begin),
                                                 static_cast<std::size_t>(end - begin));
    }

    bool execute(std::int64_t t, int thread, std::vector<const Value*>& inputs) {
        const Task& task = graph_.tasks()[static_cast<std::size_t>(t)];
        inputs.clear();
        for (std::int64_t d : deps_of(t)) inputs.push_back(&values_.get(slot(d)));
        if (events_.active()) events_.emit(Kind::Started, t, thread);
        try {
            values_.set(slot(t), op_fn(task.op)(TaskContext{task, inputs, thread}));
        } catch (...) {
            const std::exception_ptr error = std::current_exception();
            if (events_.active())
                events_.emit(Kind::Failed, t, thread, 0, detail::exception_message(error));
            fail(t, error);
            return false;
        }
        if (events_.active()) events_.emit(Kind::Finished, t, thread, values_.get(slot(t)).nbytes());
        return true;
    }

    // Counts one of the decrements a counter waits for; true for the last one. A counter at 1
    // can only be waiting for this caller, so the (costly) atomic decrement is skipped then: the
    // common case of a single reader or a single dependency.
    static bool is_last(std::atomic<std::int64_t>& counter) {
        return counter.load(std::memory_order_acquire) == 1 ||
               counter.fetch_sub(1, std::memory_order_acq_rel) == 1;
    }

    void release_inputs(std::int64_t t) {
        for (std::int64_t d : deps_of(t)) {
            const std::int64_t k = slot(d);
            if (is_last(n_readers_[k]) && !is_output_[static_cast<std::size_t>(k)]) {
                if (events_.active()) events_.emit(Kind::Released, d, -1, values_.get(k).nbytes());
                values_.release(k);
            }
        }
    }

    // Keeps the best of `next` and the newly ready dependents in `next` (to run next on this
    // worker) and queues the others.
    void make_dependents_ready(std::int64_t t, std::vector<detail::ReadyEntry>& newly_ready,
                               std::int64_t& next) {
        newly_ready.clear();
        const auto begin = index_.dependent_offsets[static_cast<std::size_t>(t)];
        const auto end = index_.dependent_offsets[static_cast<std::size_t>(t) + 1];
        for (auto e = begin; e < end; ++e) {
            const std::int64_t u = index_.dependent_ids[static_cast<std::size_t>(e)];
            if (is_last(n_waiting_[slot(u)])) {
                if (events_.active()) events_.emit(Kind::Queued, u);
                newly_ready.push_back({priority_[static_cast<std::size_t>(u)], u});
            }
        }
        if (newly_ready.empty()) return;
        if (next >= 0) newly_ready.push_back({priority_[static_cast<std::size_t>(next)], next});
        auto best = std::min_element(newly_ready.begin(), newly_ready.end());
        next = best->task;
        *best = newly_ready.back();
        newly_ready.pop_back();
        if (!newly_ready.empty()) push(newly_ready);
    }

    // A few ready tasks taken from the queue at once. Trivial tasks are taken up to kMaxBatch
    // at a time (one queue lock per batch); once tasks take long (timed per batch, not per
    // task), one at a time, so that no worker sits on work another one could start.
    class Batch {
    public:
        bool empty() const { return next_ == size_; }
        std::int64_t front() const { return tasks_[next_]; }
        std::int64_t take() { return tasks_[next_++]; }

        void refill(ThreadRun& run) {
            const auto now = std::chrono::steady_clock::now();
            if (size_ > 0) {
                const auto per_task = (now - taken_at_) / size_;
                limit_ = per_task < kTrivialTask ? kMaxBatch : 1;
            }
            taken_at_ = now;
            size_ = run.pop(tasks_.data(), limit_);
            next_ = 0;
        }

    private:
        static constexpr auto kTrivialTask = std::chrono::microseconds(10);
        std::array<std::int64_t, kMaxBatch> tasks_{};
        std::size_t next_ = 0, size_ = 0;
        std::size_t limit_ = kMaxBatch;
        std::chrono::steady_clock::time_point taken_at_;
    };

    // Takes up to `limit` tasks (fewer when the queue is short, so every worker gets some).
    std::size_t pop(std::int64_t* out, std::size_t limit) {
        if (n_queued_.load(std::memory_order_relaxed) == 0) return 0;
        tbb::spin_mutex::scoped_lock lock(queue_mutex_);
        const auto share = static_cast<std::size_t>(ready_.size() / (2 * n_threads_));
        const std::size_t n = std::min({limit, std::max<std::size_t>(share, 1),
                                        static_cast<std::size_t>(ready_.size())});
        for (std::size_t k = 0; k < n; ++k) out[k] = ready_.pop().task;
        n_queued_.store(ready_.size(), std::memory_order_relaxed);
        return n;
    }

    // Adds this worker's finished tasks to the total; true when the run is over (all tasks
    // done, which this call may discover, or cancelled).
    bool report_finished(std::int64_t& n_unreported) {
        if (n_unreported > 0) {
            const std::int64_t reported = std::exchange(n_unreported, 0);
            if (n_finished_.fetch_add(reported, std::memory_order_acq_rel) + reported == n_tasks_) {
                stop_all();
                return true;
            }
        }
        return stop_.load(std::memory_order_relaxed);
    }

    void push(std::span<const detail::ReadyEntry> entries) {
        {
            tbb::spin_mutex::scoped_lock lock(queue_mutex_);
            for (const auto& entry : entries) ready_.push(entry);
            // seq_cst pairs with the sleeper's increment of n_sleeping_ (no lost wake-up).
            n_queued_.store(ready_.size(), std::memory_order_seq_cst);
        }
        if (n_sleeping_.load(std::memory_order_seq_cst) > 0) {
            std::lock_guard lock(sleep_mutex_);
            if (entries.size() == 1) wake_.notify_one();
            else wake_.notify_all();
        }
    }

    // Waits until the queue has work (true) or the run stopped (false).
    bool wait_for_work() {
        for (int spin = 0; spin < kSpins; ++spin) {
            if (stop_.load(std::memory_order_relaxed)) return false;
            if (n_queued_.load(std::memory_order_relaxed) > 0) return true;
            cpu_relax();
        }
        std::unique_lock lock(sleep_mutex_);
        n_sleeping_.fetch_add(1, std::memory_order_seq_cst);
        while (!stop_.load(std::memory_order_seq_cst) &&
               n_queued_.load(std::memory_order_seq_cst) == 0)
            wake_.wait(lock);
        n_sleeping_.fetch_sub(1, std::memory_order_relaxed);
        return !stop_.load();
    }

    void stop_all() {
        stop_.store(true, std::memory_order_seq_cst);
        std::lock_guard lock(sleep_mutex_);
        wake_.notify_all();
    }

    void fail(std::int64_t t, std::exception_ptr error) {
        bool expected = false;
        if (failed_.compare_exchange_strong(expected, true)) {
            failed_task_ = t;
            error_ = std::move(error);
        }
        stop_all();
    }

    static constexpr int kSpins = 2000;

    const Graph& graph_;
    const GraphIndex& index_;
    std::span<const std::int64_t> priority_;
    detail::EventSink& events_;
    const std::int64_t n_threads_;
    const std::int64_t n_tasks_;
    detail::ValueSlots values_;
    std::unique_ptr<std::atomic<std::int64_t>[]> n_waiting_;
    std::unique_ptr<std::atomic<std::int64_t>[]> n_readers_;
    std::vector<std::uint8_t> is_output_;
    bool by_priority_ = false;

    tbb::spin_mutex queue_mutex_;
    detail::ReadyQueue ready_;
    alignas(64) std::atomic<std::int64_t> n_queued_{0};
    alignas(64) std::atomic<std::int64_t> n_finished_{0};
    alignas(64) std::atomic<bool> stop_{false};
    std::atomic<int> n_sleeping_{0};
    std::mutex sleep_mutex_;
    std::condition_variable wake_;

    std::atomic<bool> failed_{false};
    std::int64_t failed_task_ = -1;
    std::exception_ptr error_;
};

}  // namespace

namespace detail {

namespace {
thread_local bool t_parallel_tasks = false;
}  // namespace

bool in_parallel_tasks() { return t_parallel_tasks; }
ParallelTasksScope::ParallelTasksScope() : previous_(t_parallel_tasks) { t_parallel_tasks = true; }
ParallelTasksScope::~ParallelTasksScope() { t_parallel_tasks = previous_; }

}  // namespace detail

namespace {

class ThreadScheduler final : public Scheduler {
public:
    explicit ThreadScheduler(int n_threads) : n_threads_(n_threads) {
        if (n_threads_ < 1)
            throw ValueError("the threads scheduler needs at least 1 thread, got {}", n_threads_);
        if (n_threads_ > 1) {
            ensure_parallelism(n_threads_);
            arena_ = std::make_unique<tbb::task_arena>(n_threads_);
        }
    }

    std::string name() const override { return "threads"; }

    std::vector<Value> run(const Graph& graph, const GraphIndex& index,
                           std::span<const std::int64_t> priority,
                           std::span<const std::int64_t> outputs,
                           std::span<const std::shared_ptr<Observer>> observers) override {
        detail::check_run_arguments(graph, index, priority, outputs);
        // One thread: the sequential loop does the same without atomics.
        if (!arena_) return detail::run_in_order(graph, index, priority, outputs, observers, name());
        detail::EventSink events(graph, observers);
        events.run_start(name(), n_threads_);
        ThreadRun run(graph, index, priority, outputs, events, n_threads_);
        {
            // Isolation: a task that itself calls compute() must not pick up an outer worker
            // loop while it waits, or that loop would wait on the task below it on the stack.
            arena_->execute([&] {
                tbb::this_task_arena::isolate([&] {
                    tbb::task_group group;
                    for (int thread = 1; thread < n_threads_; ++thread)
                        group.run([&run, thread] {
                            const detail::ParallelTasksScope scope;
                            run.work(thread);
                        });
                    {
                        const detail::ParallelTasksScope scope;
                        run.work(0);
                    }
                    group.wait();
                });
            });
        }
        return run.finish(outputs);
    }

private:
    int n_threads_;
    std::unique_ptr<tbb::task_arena> arena_;
};

}  // namespace

std::shared_ptr<Scheduler> make_thread_scheduler(int num_threads) {
    return std::make_shared<ThreadScheduler>(num_threads);
}

}  // namespace tessera
