// Delayed: lazy calls of C++ callables, tokens, graphs, compute(a, b, ...), deep chains.

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "scheduler/helpers.hpp"
#include "tessera/delayed.hpp"
#include "tessera/error.hpp"

namespace ts = tessera;
using sched_test::scheduler_cases;

namespace {

std::int64_t inc_fn(std::int64_t i) { return i + 1; }
std::int64_t dec_fn(std::int64_t i) { return i - 1; }
std::int64_t add_all_fn(const std::vector<std::int64_t>& xs) {
    std::int64_t total = 0;
    for (std::int64_t x : xs) total += x;
    return total;
}

struct Point {
    int x, y;
};

std::atomic<int> g_calls{0};

// W7 with delayed calls: n inc tasks, a fan-in-8 tree of add_all.
ts::Delayed build_w7(std::int64_t n) {
    auto inc = ts::delayed(inc_fn, {.name = "inc"});
    auto add_all = ts::delayed(add_all_fn, {.name = "add_all"});
    std::vector<ts::Delayed> level;
    for (std::int64_t i = 0; i < n; ++i) level.push_back(inc(i));
    while (level.size() > 1) {
        std::vector<ts::Delayed> next;
        for (std::size_t j = 0; j < level.size(); j += 8)
            next.push_back(add_all(std::vector<ts::Delayed>(
                level.begin() + static_cast<std::ptrdiff_t>(j),
                level.begin() + static_cast<std::ptrdiff_t>(std::min(level.size(), j + 8)))));
        level = std::move(next);
    }
    return level[0];
}

bool is_token_name(std::string_view name, std::string_view prefix) {
    if (!name.starts_with(prefix) || name.size() != prefix.size() + 16) return false;
    for (char c : name.substr(prefix.size()))
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

}  // namespace

TEST_CASE("the README example: inc and add" * doctest::timeout(60)) {
    auto inc = ts::delayed([](std::int64_t i) { return i + 1; }, {.name = "inc"});
    auto add = ts::delayed([](std::int64_t a, std::int64_t b) { return a + b; }, {.name = "add"});
    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        CHECK(add(inc(1), inc(2)).compute(c.options).as<std::int64_t>() == 5);
    }
}

TEST_CASE("W7 through delayed: 114289 tasks, sum 5000050000" * doctest::timeout(60)) {
    const ts::Delayed total = build_w7(100000);
    CHECK(total.graph().size() == 114289);
    CHECK(total.key().group() == "add_all");
    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        CHECK(total.compute(c.options).as<std::int64_t>() == 5000050000);
    }
}

TEST_CASE("callables: functions, lambdas, generic lambdas, lists, literals, void" * doctest::timeout(60)) {
    const auto opts = scheduler_cases()[2].options;  // threads, 1 thread
    auto twice = ts::delayed([](double x) { return 2 * x; });
    CHECK(twice(ts::delayed(inc_fn)(std::int64_t{4})).compute(opts).as<double>() == 10.0);
    CHECK(twice(1.25).compute(opts).as<double>() == 2.5);

    // Generic lambdas receive Delayed inputs as Value and literals as they are.
    auto generic = ts::delayed([](auto v, auto k) { return v.template as<std::int64_t>() * k; });
    CHECK(generic(ts::delayed(inc_fn)(std::int64_t{2}), 7).compute(opts).as<std::int64_t>() == 21);
    auto list_size = ts::delayed([](auto xs) { return static_cast<std::int64_t>(xs.list().size()); });
    std::vector<ts::Delayed> parts{ts::delayed(inc_fn)(std::int64_t{0}), ts::delayed(dec_fn)(std::int64_t{0})};
    CHECK(list_size(parts).compute(opts).as<std::int64_t>() == 2);
    CHECK(ts::delayed(add_all_fn)(parts).compute(opts).as<std::int64_t>() == 0);
    CHECK(ts::delayed(add_all_fn)(std::vector<ts::Delayed>{}).compute(opts).as<std::int64_t>() == 0);

    // Literal arguments of any copyable type; strings in and out.
    auto norm2 = ts::delayed([](Point p, std::int64_t scale) { return (p.x * p.x + p.y * p.y) * scale; });
    CHECK(norm2(Point{3, 4}, ts::delayed(inc_fn)(std::int64_t{1})).compute(opts).as<std::int64_t>() == 50);
    auto greet = ts::delayed([](const std::string& who, std::int64_t n) { return who + std::to_string(n); });
    CHECK(greet("item-", ts::delayed(inc_fn)(std::int64_t{8})).compute(opts).as<std::string>() == "item-9");

    // No arguments; void results are None.
    auto answer = ts::delayed([] { return std::int64_t{42}; });
    CHECK(answer().compute(opts).as<std::int64_t>() == 42);
    g_calls = 0;
    auto side_effect = ts::delayed([](std::int64_t) { ++g_calls; });
    CHECK(side_effect(ts::delayed(inc_fn)(std::int64_t{0})).compute(opts).is_none());
    CHECK(g_calls == 1);

    // A noexcept function and a mutable lambda.
    auto noexcept_fn = ts::delayed([](std::int64_t i) noexcept { return i * 3; });
    CHECK(noexcept_fn(std::int64_t{5}).compute(opts).as<std::int64_t>() == 15);
    auto counter = ts::delayed([n = std::int64_t{0}]() mutable { return ++n; });
    CHECK(counter().compute(opts).as<std::int64_t>() == 1);

    // from_value
    const ts::Delayed lit = ts::Delayed::from_value(ts::Value::from(std::int64_t{11}));
    CHECK(is_token_name(lit.key().name(), "literal-"));
    CHECK(ts::delayed(inc_fn)(lit).compute(opts).as<std::int64_t>() == 12);
    CHECK(is_token_name(ts::Delayed::from_value(ts::Value(), "cfg").key().name(), "cfg-"));
}

TEST_CASE("keys: names, pure tokens, unique impure tokens" * doctest::timeout(60)) {
    auto inc = ts::delayed(inc_fn, {.name = "inc", .pure = true});
    auto dec = ts::delayed(dec_fn, {.name = "inc", .pure = true});
    const ts::Delayed a = inc(std::int64_t{1});
    CHECK(is_token_name(a.key().name(), "inc-"));
    CHECK(a.key().index().empty());
    CHECK(inc(std::int64_t{1}).key() == a.key());
    CHECK(inc(std::int64_t{2}).key() != a.key());
    CHECK(inc(1.0).key() != a.key());
    CHECK(dec(std::int64_t{1}).key() != a.key());  // same signature, another function
    CHECK(inc(a).key() == inc(a).key());
    CHECK(inc(a).key() != inc(inc(std::int64_t{2})).key());

    // Stateless lambdas differ by type, stateful ones by their captured bytes.
    auto l1 = ts::delayed([](std::int64_t i) { return i; }, {.pure = true});
    auto l2 = ts::delayed([](std::int64_t i) { return i; }, {.pure = true});
    CHECK(l1(std::int64_t{3}).key() != l2(std::int64_t{3}).key());
    CHECK(is_token_name(l1(std::int64_t{3}).key().name(), "delayed-"));
    auto add_k = [](std::int64_t k) {
        return ts::delayed([k](std::int64_t i) { return i + k; }, {.name = "addk", .pure = true});
    };
    CHECK(add_k(1)(std::int64_t{3}).key() == add_k(1)(std::int64_t{3}).key());
    CHECK(add_k(1)(std::int64_t{3}).key() != add_k(2)(std::int64_t{3}).key());

    // List arguments: where the list boundaries fall is part of the token.
    auto pair_sum = ts::delayed([](const std::vector<std::int64_t>& xs, const std::vector<std::int64_t>& ys) {
        return add_all_fn(xs) - add_all_fn(ys);
    }, {.pure = true});
    const ts::Delayed b = inc(std::int64_t{5}), c = inc(std::int64_t{6});
    const ts::Delayed split1 = pair_sum(std::vector<ts::Delayed>{a, b}, std::vector<ts::Delayed>{c});
    const ts::Delayed split2 = pair_sum(std::vector<ts::Delayed>{a}, std::vector<ts::Delayed>{b, c});
    CHECK(split1.key() != split2.key());
    CHECK(split1.compute(scheduler_cases()[0].options).as<std::int64_t>() == 2 + 6 - 7);
    CHECK(split2.compute(scheduler_cases()[0].options).as<std::int64_t>() == 2 - 6 - 7);

    // Unhashable literals and impure calls get a fresh key every time.
    auto with_point = ts::delayed([](Point p) { return p.x; }, {.pure = true});
    CHECK(with_point(Point{1, 2}).key() != with_point(Point{1, 2}).key());
    auto impure = ts::delayed(inc_fn, {.name = "inc"});
    CHECK(impure(std::int64_t{1}).key() != impure(std::int64_t{1}).key());
    CHECK(impure(std::int64_t{1}).key().group() == "inc");
}

TEST_CASE("graph() collects shared dependencies once; compute(a, b) computes them once" *
          doctest::timeout(60)) {
    auto counted = ts::delayed([](std::int64_t i) {
        ++g_calls;
        return i * 10;
    }, {.name = "counted"});
    auto add = ts::delayed([](std::int64_t x, std::int64_t y) { return x + y; }, {.name = "add"});
    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        const ts::Delayed shared = counted(std::int64_t{4});
        const ts::Delayed left = add(shared, std::int64_t{1});
        const ts::Delayed right = add(shared, shared);
        const ts::Delayed top = add(left, right);
        CHECK(top.graph().size() == 4);
        g_calls = 0;
        CHECK(top.compute(c.options).as<std::int64_t>() == 41 + 80);
        CHECK(g_calls == 1);

        g_calls = 0;
        auto [l, r, s] = ts::compute(left, right, shared);
        CHECK(l.as<std::int64_t>() == 41);
        CHECK(r.as<std::int64_t>() == 80);
        CHECK(s.as<std::int64_t>() == 40);
        CHECK(g_calls == 1);

        // Pure calls with equal arguments are one task.
        auto pure = ts::delayed([](std::int64_t i) {
            ++g_calls;
            return i;
        }, {.name = "pure", .pure = true});
        g_calls = 0;
        CHECK(add(pure(std::int64_t{3}), pure(std::int64_t{3})).compute(c.options).as<std::int64_t>() == 6);
        CHECK(g_calls == 1);
    }
}

TEST_CASE("exceptions in delayed calls carry the key; empty Delayed" * doctest::timeout(60)) {
    auto fail = ts::delayed([](std::int64_t) -> std::int64_t { throw ts::ValueError("boom"); }, {.name = "fail"});
    auto inc = ts::delayed(inc_fn, {.name = "inc"});
    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        const ts::Delayed bad = fail(inc(std::int64_t{1}));
        const std::string expected = "task " + bad.key().str() + ": boom";
        CHECK_THROWS_WITH_AS(inc(bad).compute(c.options), expected.c_str(), ts::ValueError);
    }
    const ts::Delayed empty;
    CHECK_THROWS_WITH_AS(empty.key(), "Delayed::key: the Delayed is empty (default-constructed)", ts::ValueError);
    CHECK_THROWS_WITH_AS(empty.graph(), "Delayed::graph: the Delayed is empty (default-constructed)",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(inc(empty), "delayed argument: the Delayed is empty (default-constructed)",
                         ts::ValueError);
    // A type mismatch surfaces as the conversion error with the key.
    auto wants_string = ts::delayed([](std::string s) { return s; }, {.name = "wants"});
    CHECK_THROWS_AS(wants_string(inc(std::int64_t{1})).compute(scheduler_cases()[0].options), ts::Error);
}

TEST_CASE("a 100k-deep chain builds, computes and is destroyed without recursion" * doctest::timeout(60)) {
    auto inc = ts::delayed(inc_fn, {.name = "inc"});
    for (const auto& c : scheduler_cases()) {
        if (c.label != "sync" && c.label != "threads-2") continue;
        CAPTURE(c.label);
        ts::Delayed x = ts::Delayed::from_value(ts::Value::from(std::int64_t{0}));
        for (int i = 0; i < 100000; ++i) x = inc(x);
        CHECK(x.compute(c.options).as<std::int64_t>() == 100000);
    }
    // Destroyed without computing; and a chain whose middle is still referenced elsewhere.
    ts::Delayed middle;
    {
        ts::Delayed x = inc(std::int64_t{0});
        for (int i = 0; i < 200000; ++i) {
            x = inc(x);
            if (i == 100000) middle = x;
        }
    }
    CHECK(middle.compute(scheduler_cases()[0].options).as<std::int64_t>() == 100002);
}

TEST_CASE("a delayed call may compute another graph (nested compute)" * doctest::timeout(60)) {
    for (const auto& c : scheduler_cases()) {
        CAPTURE(c.label);
        const auto options = c.options;
        auto nested = ts::delayed([options](std::int64_t n) {
            return build_w7(n).compute(options).as<std::int64_t>();
        }, {.name = "nested"});
        std::vector<ts::Delayed> calls;
        for (std::int64_t n = 1; n <= 8; ++n) calls.push_back(nested(n * 100));
        std::int64_t expected = 0;
        for (std::int64_t n = 1; n <= 8; ++n) expected += (n * 100) * (n * 100 + 1) / 2;
        CHECK(ts::delayed(add_all_fn)(calls).compute(c.options).as<std::int64_t>() == expected);
    }
}

TEST_CASE("visualize writes the DOT graph" * doctest::timeout(60)) {
    const std::string path = std::string(TESSERA_BINARY_DIR) + "/test_delayed_graph.dot";
    build_w7(20).visualize(path);
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str().starts_with("digraph"));
    CHECK(text.str().find("add_all-") != std::string::npos);
}
