#pragma once
// Shared by the scheduler tests: test operations, graph builders and the scheduler matrix.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tessera/graph.hpp"
#include "tessera/ndarray.hpp"
#include "tessera/scheduler.hpp"

namespace sched_test {

namespace ts = tessera;

inline std::string encode(std::int64_t v) {
    std::string s(sizeof v, '\0');
    std::memcpy(s.data(), &v, sizeof v);
    return s;
}
inline std::int64_t param(const ts::TaskContext& ctx) {
    std::int64_t v = 0;
    if (ctx.task.params.size() == sizeof v) std::memcpy(&v, ctx.task.params.data(), sizeof v);
    return v;
}
inline std::int64_t input_sum(const ts::TaskContext& ctx) {
    std::int64_t total = 0;
    for (const ts::Value* v : ctx.inputs) total += v->as<std::int64_t>();
    return total;
}

// Counters the test operations update.
struct Probe {
    std::atomic<std::int64_t> runs{0};
    std::atomic<bool> failed{false};
    std::atomic<std::int64_t> started_after_failure{0};
    std::atomic<std::int64_t> max_live{0};
    std::atomic<int> max_thread{-1};
    std::mutex mutex;
    std::vector<std::int64_t> order;

    void reset() {
        runs = 0;
        failed = false;
        started_after_failure = 0;
        max_live = 0;
        max_thread = -1;
        order.clear();
    }
    void sample_live() {
        const std::int64_t live = ts::Buffer::live_count();
        std::int64_t seen = max_live.load();
        while (live > seen && !max_live.compare_exchange_weak(seen, live)) {
        }
    }
    void saw_thread(int thread) {
        int seen = max_thread.load();
        while (thread > seen && !max_thread.compare_exchange_weak(seen, thread)) {
        }
    }
};

inline Probe& probe() {
    static Probe instance;
    return instance;
}

inline ts::Value op_const(const ts::TaskContext& ctx) { return ts::Value::from(param(ctx)); }
inline ts::Value op_inc(const ts::TaskContext& ctx) { return ts::Value::from(param(ctx) + 1); }
inline ts::Value op_sum(const ts::TaskContext& ctx) {
    return ts::Value::from(input_sum(ctx) + param(ctx));
}
inline ts::Value op_fail_value(const ts::TaskContext&) { throw ts::ValueError("boom"); }
inline ts::Value op_fail_invalid(const ts::TaskContext&) {
    throw std::invalid_argument("bad argument");
}
// Raises the failure flag, then fails.
inline ts::Value op_fail_flag(const ts::TaskContext&) {
    probe().failed = true;
    throw ts::ValueError("boom");
}
// Counts runs and runs that started after op_fail_flag; sleeps `param` microseconds.
inline ts::Value op_count(const ts::TaskContext& ctx) {
    if (probe().failed) ++probe().started_after_failure;
    ++probe().runs;
    probe().saw_thread(ctx.thread);
    if (param(ctx) > 0) std::this_thread::sleep_for(std::chrono::microseconds(param(ctx)));
    return ts::Value::from(input_sum(ctx) + 1);
}
// A float64 array of 1000 elements: ones, or the elementwise sum of the inputs plus one.
inline ts::Value op_array(const ts::TaskContext& ctx) {
    ts::NDArray out = ts::NDArray::full(ts::float64, {1000}, ts::Scalar(1.0));
    double* o = out.data<double>();
    for (const ts::Value* v : ctx.inputs) {
        const double* in = v->array().data<double>();
        for (std::int64_t k = 0; k < 1000; ++k) o[k] += in[k];
    }
    probe().sample_live();
    return out;
}
// (31 * sum of inputs + param) mod 1000000007: a checksum of the whole dependency structure.
inline ts::Value op_mix(const ts::TaskContext& ctx) {
    std::int64_t total = 0;
    for (const ts::Value* v : ctx.inputs) total = (total + v->as<std::int64_t>()) % 1000000007;
    return ts::Value::from((31 * total + param(ctx)) % 1000000007);
}
// Appends `param` to the execution order.
inline ts::Value op_record(const ts::TaskContext& ctx) {
    std::lock_guard lock(probe().mutex);
    probe().order.push_back(param(ctx));
    return ts::Value::from(param(ctx));
}

struct Ops {
    ts::OpId konst, inc, sum, fail_value, fail_invalid, fail_flag, count, array, record, mix;
};
inline const Ops& ops() {
    static const Ops ids{
        ts::register_op("test.const", op_const),
        ts::register_op("test.inc", op_inc),
        ts::register_op("test.sum", op_sum),
        ts::register_op("test.fail_value", op_fail_value),
        ts::register_op("test.fail_invalid", op_fail_invalid),
        ts::register_op("test.fail_flag", op_fail_flag),
        ts::register_op("test.count", op_count),
        ts::register_op("test.array", op_array),
        ts::register_op("test.record", op_record),
        ts::register_op("test.mix", op_mix),
    };
    return ids;
}

inline ts::Task task(ts::Key key, ts::OpId op, std::int64_t p = 0, std::vector<ts::Key> deps = {}) {
    ts::Task t;
    t.key = std::move(key);
    t.op = op;
    if (p != 0) t.params = encode(p);
    t.deps = std::move(deps);
    return t;
}

// W7's graph: inc(i) for i < n_leaves, summed by a fan-in-`split` tree; returns the root key.
// `leaf_op` computes the leaves (test.inc: i + 1), `inner_op` the sums (default test.sum).
inline ts::Key build_tree(ts::Graph& g, std::int64_t n_leaves, std::int64_t split,
                          ts::OpId leaf_op, ts::OpId inner_op = 0) {
    if (inner_op == 0) inner_op = ops().sum;
    std::vector<ts::Key> level;
    level.reserve(static_cast<std::size_t>(n_leaves));
    for (std::int64_t i = 0; i < n_leaves; ++i) {
        ts::Key k("inc", {i});
        g.add(task(k, leaf_op, i));
        level.push_back(k);
    }
    std::int64_t depth = 0;
    while (level.size() > 1) {
        ++depth;
        std::vector<ts::Key> next;
        for (std::size_t j = 0; j < level.size(); j += static_cast<std::size_t>(split)) {
            ts::Key k("sum", {depth, static_cast<std::int64_t>(j / static_cast<std::size_t>(split))});
            const auto end = std::min(level.size(), j + static_cast<std::size_t>(split));
            g.add(task(k, inner_op, 0, std::vector<ts::Key>(level.begin() + static_cast<std::ptrdiff_t>(j),
                                                          level.begin() + static_cast<std::ptrdiff_t>(end))));
            next.push_back(k);
        }
        level = std::move(next);
    }
    return level[0];
}

// The scheduler matrix every behaviour is checked under.
struct SchedulerCase {
    std::string label;
    ts::ComputeOptions options;
    int n_threads;
};
inline std::vector<SchedulerCase> scheduler_cases() {
    std::vector<SchedulerCase> cases;
    ts::ComputeOptions sync;
    sync.scheduler = "sync";
    sync.progress = false;
    cases.push_back({"sync", sync, 1});
    for (int n : {1, 2, 4}) {
        ts::ComputeOptions threads;
        threads.scheduler = "threads";
        threads.num_threads = n;
        threads.progress = false;
        cases.push_back({"threads-" + std::to_string(n), threads, n});
    }
    return cases;
}
inline std::shared_ptr<ts::Scheduler> make_scheduler(const SchedulerCase& c) {
    return c.label == "sync" ? ts::make_sync_scheduler() : ts::make_thread_scheduler(c.n_threads);
}

}  // namespace sched_test
