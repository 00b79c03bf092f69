// W7 task_overhead: scheduler cost per trivial task (port of ../shared/bench/dask/w7_task_overhead.py).
//
// inc(i) = i + 1 ; add_all(xs) = sum(xs) ; N = 100_000 leaves ; fan-in SPLIT = 8.
// Tree: level_0 = [inc(i) for i < N]; level_k+1[j] = add_all(level_k[8j : 8j+8]) until 1 node
//   -> 100_000 inc + 14_289 add_all = 114_289 tasks; result = 5_000_050_000.
// --variant delayed (default): built from ts::delayed calls (impure, like dask.delayed(pure=False)).
// --variant flat: the same tasks in one hand-built Graph with registered operations.
// --scheduler distributed: flat only (delayed callables are C++ payloads that cannot cross
//   processes, docs/distributed.md); the workers are this executable, so they know w7.inc and
//   w7.add_all. The phases run through the same client.
// --variant array: not available yet.
// seconds = wall time of the compute (graph collection, cull, index, order, run, gather);
// per_task_us = 1e6 * seconds / n_tasks_optimized. After the timed runs one more run is split
// into its phases (best of --repeat each): graph_seconds (collecting the graph; for flat: copying
// it), index_seconds, order_seconds, run_seconds.

#include <cstring>
#include <limits>

#include "bench/common.hpp"
#include "tessera/delayed.hpp"
#include "tessera/graph.hpp"

namespace ts = tessera;

namespace {

constexpr std::int64_t kSplit = 8;

std::int64_t inc(std::int64_t i) { return i + 1; }
std::int64_t add_all(const std::vector<std::int64_t>& xs) {
    std::int64_t total = 0;
    for (std::int64_t x : xs) total += x;
    return total;
}

ts::Delayed build_delayed(std::int64_t n) {
    auto d_inc = ts::delayed(inc, {.name = "inc"});
    auto d_add = ts::delayed(add_all, {.name = "add_all"});
    std::vector<ts::Delayed> level;
    level.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) level.push_back(d_inc(i));
    while (level.size() > 1) {
        std::vector<ts::Delayed> next;
        next.reserve(level.size() / kSplit + 1);
        for (std::size_t j = 0; j < level.size(); j += kSplit) {
            const auto end = std::min(level.size(), j + kSplit);
            next.push_back(d_add(std::vector<ts::Delayed>(level.begin() + static_cast<std::ptrdiff_t>(j),
                                                          level.begin() + static_cast<std::ptrdiff_t>(end))));
        }
        level = std::move(next);
    }
    return level[0];
}

// ---------------------------------------------------------------------------- flat variant

ts::Value flat_inc(const ts::TaskContext& ctx) {
    std::int64_t i = 0;
    std::memcpy(&i, ctx.task.params.data(), sizeof i);
    return ts::Value::from(inc(i));
}
ts::Value flat_add_all(const ts::TaskContext& ctx) {
    std::int64_t total = 0;
    for (const ts::Value* v : ctx.inputs) total += v->as<std::int64_t>();
    return ts::Value::from(total);
}

// Registered at static initialization so that the worker processes (this executable) know them.
const ts::OpId kOpInc = ts::register_op("w7.inc", flat_inc);
const ts::OpId kOpAdd = ts::register_op("w7.add_all", flat_add_all);

struct Flat {
    ts::Graph graph;
    ts::Key root;
};

Flat build_flat(std::int64_t n) {
    Flat flat;
    flat.graph.reserve(n + n / (kSplit - 1) + 16);
    std::vector<ts::Key> level;
    level.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        ts::Task task;
        task.key = ts::Key("inc", {i});
        task.op = kOpInc;
        task.params.assign(reinterpret_cast<const char*>(&i), sizeof i);
        level.push_back(task.key);
        flat.graph.add(std::move(task));
    }
    std::int64_t depth = 0;
    while (level.size() > 1) {
        ++depth;
        std::vector<ts::Key> next;
        for (std::size_t j = 0; j < level.size(); j += kSplit) {
            ts::Task task;
            task.key = ts::Key("sum", {depth, static_cast<std::int64_t>(j / kSplit)});
            task.op = kOpAdd;
            const auto end = std::min(level.size(), j + kSplit);
            task.deps.assign(level.begin() + static_cast<std::ptrdiff_t>(j),
                             level.begin() + static_cast<std::ptrdiff_t>(end));
            next.push_back(task.key);
            flat.graph.add(std::move(task));
        }
        level = std::move(next);
    }
    flat.root = level[0];
    return flat;
}

struct Phases {
    double graph = 0, index = 0, order = 0, run = 0;
};

// The compute again, phase by phase, best of repeat() for each phase. `collect` returns the
// graph to run (for delayed: Delayed::graph(), timed as the graph phase).
template <class Collect>
Phases measure_phases(const ts::bench::Bench& b, Collect&& collect, const ts::Key& root, std::int64_t expected) {
    const double inf = std::numeric_limits<double>::infinity();
    Phases best{inf, inf, inf, inf};
    const std::shared_ptr<ts::Scheduler> scheduler = b.make_scheduler();
    const std::vector<ts::Key> outputs{root};
    for (int k = 0; k < b.repeat(); ++k) {
        auto [graph_s, graph] = ts::bench::timed([&]() -> ts::Graph { return collect(); });
        auto [index_s, index] = ts::bench::timed([&] { return ts::index_graph(graph); });
        auto [order_s, priority] = ts::bench::timed([&] { return ts::memory_order(graph, index, outputs); });
        const std::vector<std::int64_t> positions{graph.find(root)};
        const double start = ts::bench::now();
        const std::vector<ts::Value> values = scheduler->run(graph, index, priority, positions, {});
        const double run_s = ts::bench::now() - start;
        if (values[0].as<std::int64_t>() != expected) {
            std::cerr << "w7_task_overhead: the phase-by-phase run computed a wrong result\n";
            std::exit(1);
        }
        best.graph = std::min(best.graph, graph_s);
        best.index = std::min(best.index, index_s);
        best.order = std::min(best.order, order_s);
        best.run = std::min(best.run, run_s);
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    ts::bench::Bench b(argc, argv, "w7_task_overhead", {{"variant", "delayed"}, {"n", "100000"}},
                       {.workers_run_this_program = true});
    const std::string variant = b.arg("variant");
    if (variant != "delayed" && variant != "flat") {
        std::cerr << (variant == "array" ? "w7_task_overhead: --variant array is not available yet\n"
                                         : "w7_task_overhead: --variant must be delayed, flat or array\n");
        return 2;
    }
    if (variant == "delayed" && b.client()) {
        std::cerr << "w7_task_overhead: --variant delayed cannot run with --scheduler distributed (its tasks "
                     "carry C++ callables); use --variant flat\n";
        return 2;
    }
    if (variant != "delayed") b.set_string("workload", "w7_task_overhead_" + variant);
    const std::int64_t n = b.arg_int("n");
    if (n < 1) {
        std::cerr << "w7_task_overhead: --n must be >= 1\n";
        return 2;
    }
    const std::int64_t expected = n * (n + 1) / 2;

    std::int64_t result = 0;
    double best = 0;
    std::vector<double> times;
    std::int64_t n_tasks = 0;
    Phases phases;
    if (variant == "delayed") {
        auto [build_s, total] = ts::bench::timed([&] { return build_delayed(n); });
        b.set("build_seconds", build_s, 4);
        n_tasks = total.graph().size();
        b.set_int("n_tasks", n_tasks);
        b.set_int("n_tasks_optimized", n_tasks);
        b.baseline();
        auto [t, all, value] = b.best_of([&] { return total.compute(b.options()); });
        best = t;
        times = all;
        result = value.as<std::int64_t>();
        phases = measure_phases(b, [&] { return total.graph(); }, total.key(), expected);
    } else {
        auto [build_s, flat] = ts::bench::timed([&] { return build_flat(n); });
        b.set("build_seconds", build_s, 4);
        n_tasks = flat.graph.size();
        b.set_int("n_tasks", n_tasks);
        b.set_int("n_tasks_optimized", n_tasks);
        b.baseline();
        const std::vector<ts::Key> outputs{flat.root};
        auto [t, all, values] = b.best_of([&] { return ts::compute_graph(flat.graph, outputs, b.options()); });
        best = t;
        times = all;
        result = values[0].as<std::int64_t>();
        phases = measure_phases(b, [&] { return ts::Graph(flat.graph); }, flat.root, expected);
    }
    b.set("seconds", best, 4);
    b.set_times("times", times, 4);
    b.set_int("result", result);
    b.set_string("variant", variant);
    b.set_int("n_leaves", n);
    b.set_int("split_every", kSplit);
    b.set("tasks_per_second", static_cast<double>(n_tasks) / best, 1);
    b.set("per_task_us", 1e6 * best / static_cast<double>(n_tasks), 2);
    b.set("graph_seconds", phases.graph, 4);
    b.set("index_seconds", phases.index, 4);
    b.set("order_seconds", phases.order, 4);
    b.set("run_seconds", phases.run, 4);
    b.finish();
    return result == expected ? 0 : 1;
}
