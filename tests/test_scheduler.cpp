// Schedulers: results, failures, cancellation, memory release and large graphs, each under
// sync and threads with 1, 2 and 4 threads. Observers and scheduler selection: scheduler/*.cpp.

#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <numeric>
#include <random>

#include "scheduler/helpers.hpp"
#include "tessera/config.hpp"
#include "tessera/error.hpp"
#include "tessera/scheduler.hpp"

namespace ts = tessera;
using namespace sched_test;

namespace {

std::int64_t compute_one(const ts::Graph& g, const ts::Key& key, const ts::ComputeOptions& options) {
    const std::vector<ts::Value> out = ts::compute_graph(g, {key}, options);
    REQUIRE(out.size() == 1);
    return out[0].as<std::int64_t>();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("W7 tree: 100000 inc tasks summed by a fan-in-8 tree" * doctest::timeout(60)) {
    ts::Graph g;
    const ts::Key root = build_tree(g, 100000, 8, ops().inc);
    CHECK(g.size() == 114289);
    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        CHECK(compute_one(g, root, c.options) == 5000050000);
    }
}

TEST_CASE("small graphs: single task, ragged tree, repeated deps, several outputs" * doctest::timeout(60)) {
    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        ts::Graph one;
        one.add(task(ts::Key("x"), ops().konst, 41));
        CHECK(compute_one(one, ts::Key("x"), c.options) == 41);

        // 13 leaves with fan-in 5: levels of 3 and 1, the last group ragged.
        ts::Graph ragged;
        const ts::Key root = build_tree(ragged, 13, 5, ops().inc);
        CHECK(compute_one(ragged, root, c.options) == 13 * 14 / 2);

        // A task reading the same input twice, and outputs that are also inputs (never released).
        ts::Graph g;
        g.add(task(ts::Key("a"), ops().konst, 3));
        g.add(task(ts::Key("twice"), ops().sum, 0, {ts::Key("a"), ts::Key("a")}));
        g.add(task(ts::Key("more"), ops().sum, 1, {ts::Key("twice"), ts::Key("a")}));
        const std::vector<ts::Key> outs{ts::Key("more"), ts::Key("a"), ts::Key("twice"), ts::Key("a")};
        const auto values = ts::compute_graph(g, outs, c.options);
        REQUIRE(values.size() == 4);
        CHECK(values[0].as<std::int64_t>() == 10);
        CHECK(values[1].as<std::int64_t>() == 3);
        CHECK(values[2].as<std::int64_t>() == 6);
        CHECK(values[3].as<std::int64_t>() == 3);

        CHECK(ts::compute_graph(g, std::vector<ts::Key>{}, c.options).empty());
    }
}

TEST_CASE("compute_graph culls: tasks not needed never run" * doctest::timeout(60)) {
    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        ts::Graph g;
        g.add(task(ts::Key("a"), ops().konst, 2));
        g.add(task(ts::Key("b"), ops().sum, 1, {ts::Key("a")}));
        g.add(task(ts::Key("unused"), ops().fail_value, 0, {ts::Key("a")}));
        g.add(task(ts::Key("dangling"), ops().sum, 0, {ts::Key("not-there")}));
        CHECK(compute_one(g, ts::Key("b"), c.options) == 3);
    }
}

TEST_CASE("graph errors are raised before anything runs" * doctest::timeout(60)) {
    ts::ComputeOptions options;
    options.progress = false;
    ts::Graph g;
    g.add(task(ts::Key("a"), ops().konst, 2));
    g.add(task(ts::Key("b"), ops().sum, 0, {ts::Key("missing", {3})}));
    CHECK_THROWS_WITH_AS(ts::compute_graph(g, {ts::Key("nope")}, options),
                         "key 'nope' is not in the graph", ts::GraphError);
    CHECK_THROWS_WITH_AS(ts::compute_graph(g, {ts::Key("b")}, options),
                         "dependency ('missing', 3) of 'b' is not in the graph", ts::GraphError);

    ts::Graph cyclic;
    cyclic.add(task(ts::Key("c0"), ops().sum, 0, {ts::Key("c1")}));
    cyclic.add(task(ts::Key("c1"), ops().sum, 0, {ts::Key("c0")}));
    cyclic.add(task(ts::Key("top"), ops().count, 0, {ts::Key("c1")}));
    probe().reset();
    CHECK_THROWS_WITH_AS(ts::compute_graph(cyclic, {ts::Key("top")}, options),
                         "cycle in the task graph through 'c0'", ts::GraphError);
    CHECK(probe().runs == 0);
}

TEST_CASE("a failing task: original type, key before the message" * doctest::timeout(60)) {
    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        ts::Graph g;
        build_tree(g, 50, 8, ops().inc);
        g.add(task(ts::Key("f-1a2b", {3}), ops().fail_value, 0, {ts::Key("inc", {7})}));
        g.add(task(ts::Key("top"), ops().sum, 0, {ts::Key("f-1a2b", {3}), ts::Key("sum", {2, 0})}));
        CHECK_THROWS_WITH_AS(ts::compute_graph(g, {ts::Key("top")}, c.options),
                             "task ('f-1a2b', 3): boom", ts::ValueError);

        ts::Graph h;
        h.add(task(ts::Key("a"), ops().konst, 1));
        h.add(task(ts::Key("bad-77"), ops().fail_invalid, 0, {ts::Key("a")}));
        CHECK_THROWS_WITH_AS(ts::compute_graph(h, {ts::Key("bad-77")}, c.options),
                             "task 'bad-77': bad argument", std::invalid_argument);
    }
}

TEST_CASE("after a failure, tasks that have not started never run" * doctest::timeout(60)) {
    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        // The failing task comes first in the order; 200 slow independent tasks after it.
        ts::Graph g;
        g.add(task(ts::Key("fail"), ops().fail_flag));
        std::vector<ts::Key> outputs{ts::Key("fail")};
        for (std::int64_t i = 0; i < 200; ++i) {
            g.add(task(ts::Key("slow", {i}), ops().count, 1000));
            outputs.push_back(ts::Key("slow", {i}));
        }
        const ts::GraphIndex index = ts::index_graph(g);
        std::vector<std::int64_t> priority(static_cast<std::size_t>(g.size()));
        for (std::int64_t t = 0; t < g.size(); ++t) priority[static_cast<std::size_t>(t)] = t;
        std::vector<std::int64_t> positions(outputs.size());
        for (std::size_t k = 0; k < outputs.size(); ++k) positions[k] = g.find(outputs[k]);
        probe().reset();
        auto scheduler = make_scheduler(c);
        CHECK_THROWS_WITH_AS(scheduler->run(g, index, priority, positions, {}), "task 'fail': boom",
                             ts::ValueError);
        // Other workers may have been inside one task each when the failure happened.
        CHECK(probe().started_after_failure <= c.n_threads - 1);
        CHECK(probe().runs <= 2 * (c.n_threads - 1));

        // Dependents of a failed task never run.
        ts::Graph chain;
        chain.add(task(ts::Key("x"), ops().fail_value));
        ts::Key last("x");
        for (std::int64_t i = 0; i < 100; ++i) {
            ts::Key k("after", {i});
            chain.add(task(k, ops().count, 0, {last}));
            last = k;
        }
        probe().reset();
        CHECK_THROWS_WITH_AS(ts::compute_graph(chain, {last}, c.options), "task 'x': boom", ts::ValueError);
        CHECK(probe().runs == 0);
    }
}

TEST_CASE("intermediates are released as soon as their last reader finishes" * doctest::timeout(60)) {
    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        const std::int64_t base = ts::Buffer::live_count();

        // A chain of 10000 arrays: at most the input and the output of each running task live.
        ts::Graph chain;
        chain.add(task(ts::Key("arr", {0}), ops().array));
        for (std::int64_t i = 1; i < 10000; ++i)
            chain.add(task(ts::Key("arr", {i}), ops().array, 0, {ts::Key("arr", {i - 1})}));
        probe().reset();
        const auto out = ts::compute_graph(chain, {ts::Key("arr", {9999})}, c.options);
        CHECK(out[0].array().at<double>({5}) == 10000.0);
        CHECK(probe().max_live - base <= 3);

        // A tree over 10000 array leaves: memory stays bounded by the open branches.
        ts::Graph tree;
        const ts::Key root = build_tree(tree, 10000, 8, ops().array, ops().array);
        probe().reset();
        const auto sum = ts::compute_graph(tree, {root}, c.options);
        // Each tree node adds one, so the root holds leaves + inner nodes = all tasks.
        CHECK(sum[0].array().at<double>({999}) == static_cast<double>(tree.size()));
        CHECK(probe().max_live - base <= 16 * (c.n_threads + 4));
        MESSAGE(c.label << ": at most " << probe().max_live - base << " arrays alive in a tree of "
                        << tree.size() << " tasks");
    }
    const std::int64_t before = ts::Buffer::live_count();
    CHECK(before >= 0);
}

TEST_CASE("100k-wide fan-out and fan-in, 100k-deep chain" * doctest::timeout(60)) {
    constexpr std::int64_t n = 100000;
    ts::Graph wide;
    wide.add(task(ts::Key("root"), ops().konst, 5));
    std::vector<ts::Key> children;
    for (std::int64_t i = 0; i < n; ++i) {
        children.emplace_back("child", std::vector<std::int64_t>{i});
        wide.add(task(children.back(), ops().sum, i, {ts::Key("root")}));
    }
    wide.add(task(ts::Key("gather"), ops().sum, 0, children));

    ts::Graph deep;
    deep.add(task(ts::Key("link", {0}), ops().konst, 0));
    for (std::int64_t i = 1; i < n; ++i)
        deep.add(task(ts::Key("link", {i}), ops().sum, 1, {ts::Key("link", {i - 1})}));

    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        // sum over i of (5 + i)
        CHECK(compute_one(wide, ts::Key("gather"), c.options) == 5 * n + n * (n - 1) / 2);
        CHECK(compute_one(deep, ts::Key("link", {n - 1}), c.options) == n - 1);
    }
}

TEST_CASE("a graph of a million leaves" * doctest::timeout(60)) {
    auto start = std::chrono::steady_clock::now();
    ts::Graph g;
    g.reserve(1142858);
    const ts::Key root = build_tree(g, 1000000, 8, ops().inc);
    MESSAGE("built " << g.size() << " tasks in " << seconds_since(start) << " s");
    for (const auto& c : scheduler_cases()) {
        if (c.label != "sync" && c.label != "threads-2") continue;
        CAPTURE(c.label);
        start = std::chrono::steady_clock::now();
        CHECK(compute_one(g, root, c.options) == std::int64_t{1000000} * 1000001 / 2);
        MESSAGE(c.label << ": " << g.size() << " tasks in " << seconds_since(start) << " s");
    }
}

TEST_CASE("tasks run in priority order; thread indices stay below the thread count" * doctest::timeout(60)) {
    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        ts::Graph g;
        constexpr std::int64_t n = 64;
        for (std::int64_t i = 0; i < n; ++i) g.add(task(ts::Key("r", {i}), ops().record, i));
        const ts::GraphIndex index = ts::index_graph(g);
        // Reverse order: task i has priority n-1-i.
        std::vector<std::int64_t> priority(n), positions(n);
        for (std::int64_t i = 0; i < n; ++i) {
            priority[static_cast<std::size_t>(i)] = n - 1 - i;
            positions[static_cast<std::size_t>(i)] = i;
        }
        probe().reset();
        const auto values = make_scheduler(c)->run(g, index, priority, positions, {});
        for (std::int64_t i = 0; i < n; ++i) CHECK(values[static_cast<std::size_t>(i)].as<std::int64_t>() == i);
        REQUIRE(probe().order.size() == n);
        if (c.n_threads == 1) {
            for (std::int64_t k = 0; k < n; ++k) CHECK(probe().order[static_cast<std::size_t>(k)] == n - 1 - k);
        }

        ts::Graph counted;
        const ts::Key root = build_tree(counted, 2000, 8, ops().count);
        probe().reset();
        ts::compute_graph(counted, {root}, c.options);
        CHECK(probe().runs == 2000);
        CHECK(probe().max_thread >= 0);
        CHECK(probe().max_thread < c.n_threads);
    }
}

TEST_CASE("schedulers reject inconsistent arguments" * doctest::timeout(60)) {
    ts::Graph g;
    g.add(task(ts::Key("a"), ops().konst, 1));
    const ts::GraphIndex index = ts::index_graph(g);
    const std::vector<std::int64_t> priority{0}, bad_output{1}, two{0, 1};
    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        auto s = make_scheduler(c);
        CHECK_THROWS_WITH_AS(s->run(g, index, priority, bad_output, {}),
                             "output position 1 is out of range for a graph of 1 tasks", ts::GraphError);
        CHECK_THROWS_WITH_AS(s->run(g, index, two, priority, {}),
                             "priority has 2 entries but the graph has 1 tasks", ts::GraphError);
    }
    CHECK_THROWS_WITH_AS(ts::make_thread_scheduler(0), "the threads scheduler needs at least 1 thread, got 0",
                         ts::ValueError);
}

TEST_CASE("random graphs with arbitrary priorities: every scheduler agrees with a reference" *
          doctest::timeout(60)) {
    std::mt19937_64 rng(42);
    for (int round = 0; round < 20; ++round) {
        // Tasks depend on up to 4 earlier tasks (repeats allowed); some have many dependents.
        const std::int64_t n = 500 + round * 100;
        ts::Graph g;
        std::vector<std::int64_t> reference(static_cast<std::size_t>(n));
        for (std::int64_t t = 0; t < n; ++t) {
            std::vector<ts::Key> deps;
            std::int64_t total = 0;
            const std::int64_t n_deps = t == 0 ? 0 : static_cast<std::int64_t>(rng() % 5);
            for (std::int64_t k = 0; k < n_deps; ++k) {
                const auto d = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(t));
                deps.emplace_back("node", std::vector<std::int64_t>{d});
                total = (total + reference[static_cast<std::size_t>(d)]) % 1000000007;
            }
            reference[static_cast<std::size_t>(t)] = (31 * total + t) % 1000000007;
            g.add(task(ts::Key("node", {t}), ops().mix, t, deps));
        }
        const ts::GraphIndex index = ts::index_graph(g);
        std::vector<std::int64_t> priority(static_cast<std::size_t>(n)), outputs(static_cast<std::size_t>(n));
        std::iota(priority.begin(), priority.end(), 0);
        std::iota(outputs.begin(), outputs.end(), 0);
        std::shuffle(priority.begin(), priority.end(), rng);
        for (const auto& c : scheduler_cases()) {
            CAPTURE(c.label);
            CAPTURE(round);
            const auto values = make_scheduler(c)->run(g, index, priority, outputs, {});
            int wrong = 0;
            for (std::int64_t t = 0; t < n; ++t)
                wrong += values[static_cast<std::size_t>(t)].as<std::int64_t>() != reference[static_cast<std::size_t>(t)];
            CHECK(wrong == 0);
        }
    }
}

namespace {
// A user kernel registered at static-initialization time. Its parameter is an int64 `p` (8 raw
// bytes): with no inputs it yields p; otherwise p times the sum of its inputs.
ts::Value scaled_sum(const ts::TaskContext& ctx) {
    std::int64_t p = 0;
    std::memcpy(&p, ctx.task.params.data(), sizeof p);
    if (ctx.inputs.empty()) return ts::Value::from(p);
    std::int64_t total = 0;
    for (const ts::Value* input : ctx.inputs) total += input->as<std::int64_t>();
    return ts::Value::from(total * p);
}
TESSERA_REGISTER_KERNEL("tests.scaled_sum", scaled_sum);

std::string int64_bytes(std::int64_t v) {
    std::string bytes(sizeof v, '\0');
    std::memcpy(bytes.data(), &v, sizeof v);
    return bytes;
}
}  // namespace

TEST_CASE("TESSERA_REGISTER_KERNEL makes a user kernel available to tasks" * doctest::timeout(60)) {
    REQUIRE(ts::has_op("tests.scaled_sum"));
    const ts::OpId op = ts::op_id("tests.scaled_sum");
    ts::Graph g;
    std::vector<ts::Key> leaves;
    for (std::int64_t i = 0; i < 10; ++i) {
        leaves.emplace_back("leaf", std::vector<std::int64_t>{i});
        g.add(ts::Task{leaves.back(), op, int64_bytes(i), {}});
    }
    g.add(ts::Task{ts::Key("total"), op, int64_bytes(3), leaves});
    for (const char* scheduler : {"sync", "threads"}) {
        ts::ComputeOptions options;
        options.scheduler = scheduler;
        CHECK(ts::compute_graph(g, {ts::Key("total")}, options)[0].as<std::int64_t>() == 3 * 45);
    }
    CHECK_THROWS_WITH_AS(ts::register_op("tests.scaled_sum", +[](const ts::TaskContext&) { return ts::Value(); }),
                         "operation 'tests.scaled_sum' is already registered with another function",
                         ts::GraphError);
}
