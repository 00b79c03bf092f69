// Graph containers, cull, index, validation, topological order and DOT export.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tessera/error.hpp"
#include "tessera/graph.hpp"
#include "tests/graph/util.hpp"

namespace ts = tessera;
using ts::test::make_task;

namespace {

// A random DAG: task i depends on up to `max_deps` earlier tasks (repeats allowed), inserted in
// a shuffled order so positions do not follow the dependency order.
ts::Graph random_dag(std::uint64_t seed, std::int64_t n, int max_deps) {
    std::mt19937_64 rng(seed);
    std::vector<ts::Task> tasks;
    for (std::int64_t i = 0; i < n; ++i) {
        std::vector<ts::Key> deps;
        const int count = i == 0 ? 0 : static_cast<int>(rng() % static_cast<std::uint64_t>(max_deps + 1));
        for (int d = 0; d < count; ++d) deps.emplace_back("rand-0123abcd", std::vector<std::int64_t>{static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(i))});
        tasks.push_back(make_task(ts::Key("rand-0123abcd", {i}), std::move(deps)));
    }
    std::shuffle(tasks.begin(), tasks.end(), rng);
    ts::Graph graph;
    for (auto& t : tasks) graph.add(std::move(t));
    return graph;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST_CASE("Graph add, find, at, merge") {
    ts::Graph g;
    CHECK(g.empty());
    CHECK(g.find(ts::Key("a")) == -1);
    CHECK_FALSE(g.contains(ts::Key("a")));
    CHECK(g.add(make_task(ts::Key("a", {0}))));
    ts::Task second = make_task(ts::Key("a", {0}), {ts::Key("zzz")});
    CHECK_FALSE(g.add(second));  // the first task is kept
    CHECK(g.size() == 1);
    CHECK(g.at(ts::Key("a", {0})).deps.empty());
    CHECK(g.find(ts::Key("a", {0})) == 0);
    CHECK_THROWS_WITH_AS(g.at(ts::Key("b", {1, 2})), "key ('b', 1, 2) is not in the graph", ts::GraphError);

    // Many keys, through several rehashes, against a std::map reference.
    std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> reference;
    for (std::int64_t i = 0; i < 300; ++i) {
        for (std::int64_t j = 0; j < 100; ++j) {
            const bool added = g.add(make_task(ts::Key("grid", {i % 150, j})));
            CHECK(added == (i < 150));
            if (added) reference[{i, j}] = g.size() - 1;
        }
    }
    CHECK(g.size() == 1 + 150 * 100);
    bool all_found = true;
    for (const auto& [ij, pos] : reference) {
        all_found = all_found && g.find(ts::Key("grid", {ij.first, ij.second})) == pos &&
                    g.tasks()[static_cast<std::size_t>(pos)].key == ts::Key("grid", {ij.first, ij.second});
    }
    CHECK(all_found);
    CHECK(g.find(ts::Key("grid", {150, 0})) == -1);

    ts::Graph h;
    h.reserve(10);
    h.add(make_task(ts::Key("a", {0}), {ts::Key("other")}));  // duplicate of g's: g keeps its own
    h.add(make_task(ts::Key("new")));
    g.merge(h);
    CHECK(g.size() == 1 + 150 * 100 + 1);
    CHECK(g.at(ts::Key("a", {0})).deps.empty());
    CHECK(g.find(ts::Key("new")) == g.size() - 1);
    g.merge(g);
    CHECK(g.size() == 1 + 150 * 100 + 1);
    const ts::Graph copy = g;
    CHECK(copy.find(ts::Key("grid", {7, 7})) == g.find(ts::Key("grid", {7, 7})));
}

TEST_CASE("cull keeps exactly the tasks reachable from the outputs") {
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        const ts::Graph g = random_dag(seed, 2000, 3);
        std::mt19937_64 rng(seed * 77);
        std::vector<ts::Key> outputs;
        for (int o = 0; o < 3; ++o)
            outputs.emplace_back("rand-0123abcd", std::vector<std::int64_t>{static_cast<std::int64_t>(rng() % 2000)});
        outputs.push_back(outputs.front());  // repeated outputs are fine

        // Reference: fixed-point iteration over the whole task list (no graph traversal).
        std::set<ts::Key> needed(outputs.begin(), outputs.end());
        for (bool changed = true; changed;) {
            changed = false;
            for (const ts::Task& t : g.tasks()) {
                if (!needed.count(t.key)) continue;
                for (const ts::Key& d : t.deps) changed = needed.insert(d).second || changed;
            }
        }
        const ts::Graph culled = g.cull(outputs);
        CHECK(culled.size() == static_cast<std::int64_t>(needed.size()));
        std::set<ts::Key> got;
        std::int64_t last_position = -1;
        bool in_order = true;
        for (const ts::Task& t : culled.tasks()) {
            got.insert(t.key);
            const auto position = g.find(t.key);
            in_order = in_order && position > last_position;
            last_position = position;
            CHECK(culled.find(t.key) >= 0);
        }
        CHECK(got == needed);
        CHECK(in_order);  // original relative order kept
    }
    const ts::Graph g = random_dag(9, 50, 2);
    CHECK(g.cull({}).empty());
    // Every sink as an output keeps everything, and the copy's lookups still work.
    std::set<ts::Key> used;
    for (const ts::Task& t : g.tasks()) used.insert(t.deps.begin(), t.deps.end());
    std::vector<ts::Key> sinks;
    for (const ts::Task& t : g.tasks())
        if (!used.count(t.key)) sinks.push_back(t.key);
    const ts::Graph all = g.cull(sinks);
    REQUIRE(all.size() == g.size());
    for (std::int64_t t = 0; t < g.size(); ++t) CHECK(all.find(g.tasks()[static_cast<std::size_t>(t)].key) == t);
}

TEST_CASE("missing keys and dependencies are named") {
    ts::Graph g;
    g.add(make_task(ts::Key("y", {1}), {ts::Key("x", {3})}));
    g.add(make_task(ts::Key("z"), {}));
    const std::vector<ts::Key> out{ts::Key("y", {1})};
    CHECK_THROWS_WITH_AS(g.cull(out), "dependency ('x', 3) of ('y', 1) is not in the graph", ts::GraphError);
    CHECK_THROWS_WITH_AS(g.validate(), "dependency ('x', 3) of ('y', 1) is not in the graph", ts::GraphError);
    CHECK_THROWS_WITH_AS(g.topological_order(), "dependency ('x', 3) of ('y', 1) is not in the graph",
                         ts::GraphError);
    CHECK_THROWS_WITH_AS(ts::index_graph(g), "dependency ('x', 3) of ('y', 1) is not in the graph", ts::GraphError);
    const std::vector<ts::Key> missing{ts::Key("z"), ts::Key("x", {3})};
    CHECK_THROWS_WITH_AS(g.cull(missing), "key ('x', 3) is not in the graph", ts::GraphError);
    // Culling away the broken part leaves a valid graph.
    const std::vector<ts::Key> fine{ts::Key("z")};
    CHECK(g.cull(fine).size() == 1);
    CHECK_NOTHROW(g.cull(fine).validate());
}

TEST_CASE("cycles are reported through a key on the cycle") {
    SUBCASE("two-cycle") {
        ts::Graph g;
        g.add(make_task(ts::Key("a", {0}), {ts::Key("b", {0})}));
        g.add(make_task(ts::Key("b", {0}), {ts::Key("a", {0})}));
        CHECK_THROWS_WITH_AS(g.validate(), "cycle in the task graph through ('a', 0)", ts::GraphError);
        CHECK_THROWS_WITH_AS(g.topological_order(), "cycle in the task graph through ('a', 0)", ts::GraphError);
    }
    SUBCASE("self-loop behind a healthy prefix") {
        ts::Graph g;
        g.add(make_task(ts::Key("ok")));
        g.add(make_task(ts::Key("self", {7}), {ts::Key("ok"), ts::Key("self", {7})}));
        CHECK_THROWS_WITH_AS(g.validate(), "cycle in the task graph through ('self', 7)", ts::GraphError);
    }
    SUBCASE("long cycle with tasks hanging off it") {
        // Tasks that depend on the cycle (and so are never ready) come first in position order,
        // but are not on the cycle and must not be named.
        ts::Graph g;
        for (std::int64_t i = 0; i < 10; ++i) g.add(make_task(ts::Key("tail", {i}), {ts::Key("ring", {i * 50})}));
        constexpr std::int64_t kRing = 1000;
        for (std::int64_t i = 0; i < kRing; ++i) g.add(make_task(ts::Key("ring", {i}), {ts::Key("ring", {(i + 1) % kRing})}));
        CHECK_THROWS_WITH_AS(g.validate(), "cycle in the task graph through ('ring', 0)", ts::GraphError);
        const std::vector<ts::Key> out{ts::Key("tail", {3})};
        const ts::Graph culled = g.cull(out);  // cull does not look for cycles
        CHECK(culled.size() == 1 + kRing);
        CHECK_THROWS_WITH_AS(culled.validate(), "cycle in the task graph through ('ring', 0)", ts::GraphError);
    }
}

TEST_CASE("index_graph is the CSR of dependencies and its transpose") {
    const ts::Graph g = random_dag(3, 500, 4);
    const ts::GraphIndex index = ts::index_graph(g);
    REQUIRE(index.size() == g.size());
    std::vector<std::vector<std::int64_t>> dependents(static_cast<std::size_t>(g.size()));
    for (std::int64_t t = 0; t < g.size(); ++t) {
        const auto& task = g.tasks()[static_cast<std::size_t>(t)];
        std::vector<std::int64_t> expected;
        for (const ts::Key& d : task.deps) {
            expected.push_back(g.find(d));
            dependents[static_cast<std::size_t>(g.find(d))].push_back(t);
        }
        const std::vector<std::int64_t> got(index.dep_ids.begin() + index.dep_offsets[static_cast<std::size_t>(t)],
                                            index.dep_ids.begin() + index.dep_offsets[static_cast<std::size_t>(t) + 1]);
        CHECK(got == expected);
    }
    for (std::int64_t t = 0; t < g.size(); ++t) {
        const std::vector<std::int64_t> got(
            index.dependent_ids.begin() + index.dependent_offsets[static_cast<std::size_t>(t)],
            index.dependent_ids.begin() + index.dependent_offsets[static_cast<std::size_t>(t) + 1]);
        CHECK(got == dependents[static_cast<std::size_t>(t)]);
    }
    const ts::GraphIndex empty = ts::index_graph(ts::Graph());
    CHECK(empty.size() == 0);
    CHECK(empty.dep_ids.empty());
}

TEST_CASE("topological_order puts every dependency first") {
    for (std::uint64_t seed = 11; seed <= 15; ++seed) {
        const ts::Graph g = random_dag(seed, 3000, 5);
        CHECK_NOTHROW(g.validate());
        CHECK(ts::test::is_topological(g, g.topological_order()));
    }
    CHECK(ts::Graph().topological_order().empty());
    ts::Graph single;
    single.add(make_task(ts::Key("one")));
    CHECK(single.topological_order() == std::vector<std::int64_t>{0});
}

TEST_CASE("to_dot lists every task and edge") {
    ts::Graph g;
    g.add(make_task(ts::Key("load-0123abcd", {0})));
    g.add(make_task(ts::Key("load-0123abcd", {1})));
    g.add(make_task(ts::Key("sum-89abcdef", {0}), {ts::Key("load-0123abcd", {0}), ts::Key("load-0123abcd", {1})}));
    g.add(make_task(ts::Key("we\"ird\\name"), {ts::Key("sum-89abcdef", {0})}));
    std::ostringstream os;
    g.to_dot(os);
    const std::string dot = os.str();
    CHECK(dot.rfind("digraph tessera {\n", 0) == 0);
    CHECK(dot.substr(dot.size() - 2) == "}\n");
    for (const char* label : {"label=\"('load-0123abcd', 0)\"", "label=\"('load-0123abcd', 1)\"",
                              "label=\"('sum-89abcdef', 0)\"", "label=\"'we\\\"ird\\\\name'\""})
        CHECK(dot.find(label) != std::string::npos);
    std::vector<std::string> edges;
    std::map<std::string, std::string> fill;  // node -> colour
    std::istringstream lines(dot);
    for (std::string line; std::getline(lines, line);) {
        if (line.find(" -> ") != std::string::npos) edges.push_back(line);
        const auto colour = line.find("fillcolor=\"");
        if (colour != std::string::npos)
            fill[line.substr(2, line.find(' ', 2) - 2)] = line.substr(colour + 11, 7);
    }
    CHECK(edges == std::vector<std::string>{"  n0 -> n2;", "  n1 -> n2;", "  n2 -> n3;"});
    REQUIRE(fill.size() == 4);
    CHECK(fill["n0"] == fill["n1"]);  // same group, same colour
    CHECK(fill["n0"].front() == '#');
}

TEST_CASE("visualize writes DOT, and renders only with Graphviz") {
    ts::Graph g;
    g.add(make_task(ts::Key("a")));
    g.add(make_task(ts::Key("b"), {ts::Key("a")}));
    const auto dir = std::filesystem::temp_directory_path() / fmt::format("tessera-graph-test-{}", ts::unique_token());
    std::filesystem::create_directories(dir);
    std::ostringstream expected;
    g.to_dot(expected);
    for (const char* name : {"g.dot", "g.gv"}) {
        g.visualize((dir / name).string());
        CHECK(read_file(dir / name) == expected.str());
    }
    const std::string svg = (dir / "g.svg").string();
    if (std::system("command -v dot >/dev/null 2>&1") == 0) {
        g.visualize(svg);
        CHECK(read_file(svg).find("<svg") != std::string::npos);
    } else {
        CHECK_THROWS_WITH_AS(g.visualize(svg),
                             fmt::format("cannot render '{}': Graphviz 'dot' is not installed (write a .dot file "
                                         "instead)", svg).c_str(),
                             ts::IOError);
    }
    const std::string bad = (dir / "missing-dir" / "g.dot").string();
    CHECK_THROWS_WITH_AS(g.visualize(bad), fmt::format("cannot write '{}': No such file or directory", bad).c_str(),
                         ts::IOError);
    std::filesystem::remove_all(dir);
}
