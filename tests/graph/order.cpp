// memory_order, and graphs at scale: 10^6 tasks, 100k-deep chains, 100k-wide fan-outs, and the
// same work on a 1 MiB thread stack.

#include <doctest/doctest.h>

#include <pthread.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tessera/error.hpp"
#include "tessera/graph.hpp"
#include "tests/graph/util.hpp"

namespace ts = tessera;
using ts::test::add_leaves;
using ts::test::add_tree;
using ts::test::make_task;

namespace {

std::vector<std::int64_t> ordered(const ts::Graph& g, const std::vector<ts::Key>& outputs) {
    const auto priority = ts::memory_order(g, ts::index_graph(g), outputs);
    auto order = ts::test::order_of(priority);
    REQUIRE(ts::test::is_topological(g, order));
    return order;
}

// Levels of a fan-in-8 tree over n leaves.
std::int64_t tree_depth(std::int64_t n) {
    std::int64_t depth = 0;
    for (std::int64_t width = n; width > 1; width = (width + 7) / 8) ++depth;
    return depth;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Runs `fn` on a thread with a `bytes` stack; rethrows nothing, returns whether it completed.
bool run_with_stack(std::size_t bytes, const std::function<void()>& fn) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, bytes);
    pthread_t thread;
    auto trampoline = [](void* arg) -> void* {
        (*static_cast<const std::function<void()>*>(arg))();
        return nullptr;
    };
    const int rc = pthread_create(&thread, &attr, trampoline, const_cast<std::function<void()>*>(&fn));
    pthread_attr_destroy(&attr);
    if (rc != 0) return false;
    pthread_join(thread, nullptr);
    return true;
}

}  // namespace

TEST_CASE("memory_order finishes a tree reduction one combine at a time") {
    ts::Graph g;
    const auto leaves = add_leaves(g, "chunk-0123abcd", 100000);
    const ts::Key root = add_tree(g, "combine-89abcdef", leaves, 8);
    const std::vector<ts::Key> outputs{root};
    const auto order = ordered(g, outputs);
    const std::int64_t depth = tree_depth(100000);
    CHECK(depth == 6);
    const std::int64_t live = ts::test::max_live(g, order, outputs);
    MESSAGE("tree reduction: peak live results " << live << " (bound " << 8 * depth + 8 << ")");
    CHECK(live <= 8 * depth + 8);
    // The check can fail: a breadth-first order holds every chunk.
    CHECK(ts::test::max_live(g, g.topological_order(), outputs) >= 100000);
}

TEST_CASE("memory_order interleaves two reductions over the same chunks") {
    // sum and max over shared chunks x_i: running one whole tree before the other would keep
    // every chunk alive.
    ts::Graph g;
    const auto x = add_leaves(g, "x-0123abcd", 20000);
    const ts::Key s = add_tree(g, "sum-11111111", x, 8);
    const ts::Key m = add_tree(g, "max-22222222", x, 8);
    g.add(make_task(ts::Key("out-33333333"), {s, m}));
    const std::vector<ts::Key> outputs{ts::Key("out-33333333")};
    const std::int64_t depth = tree_depth(20000);
    const std::int64_t live = ts::test::max_live(g, ordered(g, outputs), outputs);
    MESSAGE("two reductions: peak live results " << live);
    CHECK(live <= 2 * (8 * depth + 8));
}

TEST_CASE("memory_order does not materialize a whole fan-out at once") {
    // One shared input feeding 10000 tasks that are then reduced: all 10000 are ready as soon as
    // the input is done, but must still be run and reduced in groups.
    ts::Graph g;
    g.add(make_task(ts::Key("param-0123abcd")));
    std::vector<ts::Key> parts;
    for (std::int64_t i = 0; i < 10000; ++i) {
        parts.emplace_back("part-0123abcd", std::vector<std::int64_t>{i});
        g.add(make_task(parts.back(), {ts::Key("param-0123abcd")}));
    }
    const std::vector<ts::Key> outputs{add_tree(g, "sum-0123abcd", parts, 8)};
    const std::int64_t live = ts::test::max_live(g, ordered(g, outputs), outputs);
    CHECK(live <= 8 * tree_depth(10000) + 9);
}

TEST_CASE("memory_order runs elementwise chains through before the next chunk") {
    ts::Graph g;
    std::vector<ts::Key> last;
    for (std::int64_t i = 0; i < 5000; ++i) {
        g.add(make_task(ts::Key("load-0123abcd", {i})));
        g.add(make_task(ts::Key("add-0123abcd", {i}), {ts::Key("load-0123abcd", {i}), ts::Key("load-0123abcd", {i})}));
        g.add(make_task(ts::Key("mul-0123abcd", {i}), {ts::Key("add-0123abcd", {i})}));
        last.push_back(ts::Key("mul-0123abcd", {i}));
    }
    const std::vector<ts::Key> outputs{add_tree(g, "sum-0123abcd", last, 4)};
    std::int64_t depth = 0;
    for (std::int64_t width = 5000; width > 1; width = (width + 3) / 4) ++depth;
    CHECK(ts::test::max_live(g, ordered(g, outputs), outputs) <= 4 * depth + 4);
}

TEST_CASE("memory_order: output order, cheap dependencies first, leftovers last") {
    ts::Graph g;
    const ts::Key a = add_tree(g, "a-0123abcd", add_leaves(g, "la-0123abcd", 64), 8);
    const ts::Key b = add_tree(g, "b-0123abcd", add_leaves(g, "lb-0123abcd", 64), 8);
    g.add(make_task(ts::Key("unused-0123abcd")));
    // mix depends on a big subtree (b) and a leaf: the leaf goes first.
    g.add(make_task(ts::Key("leaf-0123abcd")));
    g.add(make_task(ts::Key("mix-0123abcd"), {b, ts::Key("leaf-0123abcd")}));
    const ts::GraphIndex index = ts::index_graph(g);

    auto check_first = [&](const std::vector<ts::Key>& outputs, const std::string& first_prefix) {
        const auto priority = ts::memory_order(g, index, outputs);
        REQUIRE(ts::test::is_topological(g, ts::test::order_of(priority)));
        // Every task of the first output's tree comes before every task of the second's.
        std::int64_t last_first = -1, first_second = g.size();
        for (std::int64_t t = 0; t < g.size(); ++t) {
            const std::string name(g.tasks()[static_cast<std::size_t>(t)].key.name());
            const auto p = priority[static_cast<std::size_t>(t)];
            const bool in_a = name.rfind("a-", 0) == 0 || name.rfind("la-", 0) == 0;
            const bool in_b = name.rfind("b-", 0) == 0 || name.rfind("lb-", 0) == 0;
            if ((first_prefix == "a" && in_a) || (first_prefix == "b" && in_b)) last_first = std::max(last_first, p);
            if ((first_prefix == "a" && in_b) || (first_prefix == "b" && in_a)) first_second = std::min(first_second, p);
        }
        CHECK(last_first < first_second);
        CHECK(priority[static_cast<std::size_t>(g.find(ts::Key("unused-0123abcd")))] == g.size() - 1);
        return priority;
    };
    const auto p1 = check_first({a, ts::Key("mix-0123abcd")}, "a");
    check_first({ts::Key("mix-0123abcd"), a}, "b");
    CHECK(p1[static_cast<std::size_t>(g.find(ts::Key("leaf-0123abcd")))] <
          p1[static_cast<std::size_t>(g.find(ts::Key("lb-0123abcd", {0})))]);
    // Deterministic: same graph, same priorities; a copy of the graph too.
    const std::vector<ts::Key> outputs{a, ts::Key("mix-0123abcd")};
    CHECK(ts::memory_order(g, index, outputs) == p1);
    const ts::Graph copy = g;
    CHECK(ts::memory_order(copy, ts::index_graph(copy), outputs) == p1);
    // No outputs: every sink is an output, in position order.
    const auto all = ts::memory_order(g, index, {});
    CHECK(ts::test::is_topological(g, ts::test::order_of(all)));
    CHECK(all[static_cast<std::size_t>(g.find(a))] < all[static_cast<std::size_t>(g.find(ts::Key("mix-0123abcd")))]);
}

TEST_CASE("memory_order on random DAGs, and its errors") {
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        std::mt19937_64 rng(seed);
        ts::Graph g;
        for (std::int64_t i = 0; i < 3000; ++i) {
            std::vector<ts::Key> deps;
            for (int d = 0; i > 0 && d < static_cast<int>(rng() % 5); ++d)
                deps.emplace_back("r-0123abcd", std::vector<std::int64_t>{static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(i))});
            g.add(make_task(ts::Key("r-0123abcd", {i}), std::move(deps)));
        }
        std::vector<ts::Key> outputs{ts::Key("r-0123abcd", {2999}), ts::Key("r-0123abcd", {1500}), ts::Key("r-0123abcd", {2999})};
        const auto priority = ts::memory_order(g, ts::index_graph(g), outputs);
        CHECK(ts::test::is_topological(g, ts::test::order_of(priority)));
    }
    CHECK(ts::memory_order(ts::Graph(), ts::index_graph(ts::Graph()), {}).empty());

    ts::Graph g;
    g.add(make_task(ts::Key("a", {0}), {ts::Key("b", {0})}));
    g.add(make_task(ts::Key("b", {0}), {ts::Key("a", {0})}));
    g.add(make_task(ts::Key("c")));
    const std::vector<ts::Key> outputs{ts::Key("c")};
    CHECK_THROWS_WITH_AS(ts::memory_order(g, ts::index_graph(g), outputs), "cycle in the task graph through ('a', 0)",
                         ts::GraphError);
    const std::vector<ts::Key> missing{ts::Key("nope", {1})};
    ts::Graph ok;
    ok.add(make_task(ts::Key("c")));
    CHECK_THROWS_WITH_AS(ts::memory_order(ok, ts::index_graph(ok), missing), "key ('nope', 1) is not in the graph",
                         ts::GraphError);
}

TEST_CASE("a graph of 10^6 tasks is built, culled, indexed and ordered quickly") {
    using clock = std::chrono::steady_clock;
    auto start = clock::now();
    ts::Graph g;
    g.reserve(1000001);
    const auto leaves = add_leaves(g, "chunk-0123abcd", 875000);
    const ts::Key root = add_tree(g, "combine-0123abcd", leaves, 8);
    g.add(make_task(ts::Key("dead-0123abcd")));  // culled away
    const double build = seconds_since(start);
    CHECK(g.size() == 875000 + 109375 + 13672 + 1709 + 214 + 27 + 4 + 1 + 1);

    const std::vector<ts::Key> outputs{root};
    start = clock::now();
    const ts::Graph culled = g.cull(outputs);
    const double cull = seconds_since(start);
    start = clock::now();
    const ts::GraphIndex index = ts::index_graph(culled);
    const double index_time = seconds_since(start);
    start = clock::now();
    culled.validate();
    const double validate = seconds_since(start);
    start = clock::now();
    const auto priority = ts::memory_order(culled, index, outputs);
    const double order = seconds_since(start);
    MESSAGE(fmt::format("{} tasks: build {:.3f}s, cull {:.3f}s, index {:.3f}s, validate {:.3f}s, memory_order {:.3f}s",
                        g.size(), build, cull, index_time, validate, order));
    CHECK(culled.size() == g.size() - 1);
    const auto sequence = ts::test::order_of(priority);
    CHECK(ts::test::is_topological(culled, sequence));
    CHECK(ts::test::max_live(culled, sequence, outputs) <= 8 * tree_depth(875000) + 8);
}

namespace {

// The deep and wide shapes, run on whatever stack the calling thread has.
void deep_and_wide() {
    constexpr std::int64_t kDepth = 100000;
    ts::Graph chain;
    chain.add(make_task(ts::Key("link-0123abcd", {0})));
    for (std::int64_t i = 1; i < kDepth; ++i)
        chain.add(make_task(ts::Key("link-0123abcd", {i}), {ts::Key("link-0123abcd", {i - 1})}));
    const std::vector<ts::Key> end{ts::Key("link-0123abcd", {kDepth - 1})};
    CHECK_NOTHROW(chain.validate());
    CHECK(chain.cull(end).size() == kDepth);
    const auto topo = chain.topological_order();
    bool identity = true;
    for (std::int64_t i = 0; i < kDepth; ++i) identity = identity && topo[static_cast<std::size_t>(i)] == i;
    CHECK(identity);
    CHECK(ts::memory_order(chain, ts::index_graph(chain), end) == topo);  // a chain has one order
    // Closing the chain into a ring makes a 100k-long cycle.
    ts::Graph closed;
    closed.add(make_task(ts::Key("link-0123abcd", {0}), {ts::Key("link-0123abcd", {kDepth - 1})}));
    closed.merge(chain);
    CHECK_THROWS_WITH_AS(closed.validate(), "cycle in the task graph through ('link-0123abcd', 0)", ts::GraphError);

    constexpr std::int64_t kWidth = 100000;
    ts::Graph wide;
    wide.add(make_task(ts::Key("root-0123abcd")));
    std::vector<ts::Key> branches;
    for (std::int64_t i = 0; i < kWidth; ++i) {
        branches.emplace_back("branch-0123abcd", std::vector<std::int64_t>{i});
        wide.add(make_task(branches.back(), {ts::Key("root-0123abcd")}));
    }
    wide.add(make_task(ts::Key("gather-0123abcd"), branches));
    const std::vector<ts::Key> gather{ts::Key("gather-0123abcd")};
    CHECK_NOTHROW(wide.validate());
    CHECK(wide.cull(gather).size() == kWidth + 2);
    CHECK(ts::test::is_topological(wide, wide.topological_order()));
    const auto priority = ts::memory_order(wide, ts::index_graph(wide), gather);
    CHECK(ts::test::is_topological(wide, ts::test::order_of(priority)));
}

}  // namespace

TEST_CASE("100k-deep chains and 100k-wide fan-outs") {
    deep_and_wide();
}

TEST_CASE("100k-deep chains and 100k-wide fan-outs on a 1 MiB stack") {
    CHECK(run_with_stack(std::size_t{1} << 20, deep_and_wide));
}
