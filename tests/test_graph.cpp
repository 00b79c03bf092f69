// Keys, the intern table, tokens and the operation registry.
// Graph structure tests: tests/graph/structure.cpp; ordering and scale: tests/graph/order.cpp.

#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "tessera/error.hpp"
#include "tessera/graph.hpp"

namespace ts = tessera;

namespace {

bool is_lower_hex16(const std::string& s) {
    return s.size() == 16 &&
           std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

ts::Value double_op(const ts::TaskContext& ctx) { return *ctx.inputs[0]; }
ts::Value other_op(const ts::TaskContext&) { return ts::Value(); }

}  // namespace

TEST_CASE("Key formats like Dask keys") {
    CHECK(ts::Key("sum-3f2a19c0", {0, 1}).str() == "('sum-3f2a19c0', 0, 1)");
    CHECK(ts::Key("x", {3}).str() == "('x', 3)");
    CHECK(ts::Key("x", {-1, 0, 7}).str() == "('x', -1, 0, 7)");
    CHECK(ts::Key("name").str() == "'name'");
    CHECK(ts::Key().str() == "''");
    CHECK(ts::Key().name().empty());
    CHECK(ts::Key().name_id() == 0);
    CHECK(ts::Key("").name_id() == 0);
    std::ostringstream os;
    os << ts::Key("a", {2});
    CHECK(os.str() == "('a', 2)");
    CHECK(fmt::format("{}", ts::Key("b", {1, 2}).str()) == "('b', 1, 2)");
}

TEST_CASE("Key::group strips a trailing hex token of at least 8 digits") {
    CHECK(ts::Key("inc-3f2a19c0deadbeef").group() == "inc");
    CHECK(ts::Key("mean_chunk-3f2a19c0", {1}).group() == "mean_chunk");
    CHECK(ts::Key("a-b-0123abcd").group() == "a-b");
    CHECK(ts::Key("up-0123ABCD").group() == "up");
    CHECK(ts::Key("-0123abcd").group() == "");
    CHECK(ts::Key("my-data").group() == "my-data");
    CHECK(ts::Key("x-1234567").group() == "x-1234567");    // 7 digits: not a token
    CHECK(ts::Key("x-0123abcg").group() == "x-0123abcg");  // 'g' is not hex
    CHECK(ts::Key("x-").group() == "x-");
    CHECK(ts::Key("nodash").group() == "nodash");
    CHECK(ts::Key().group() == "");
}

TEST_CASE("Key equality, ordering and hashing") {
    const ts::Key a("alpha", {1, 2});
    CHECK(a == ts::Key("alpha", {1, 2}));
    CHECK(a.hash() == ts::Key("alpha", {1, 2}).hash());
    CHECK_FALSE(a == ts::Key("alpha", {2, 1}));
    CHECK_FALSE(a == ts::Key("alpha", {1, 2, 0}));
    CHECK_FALSE(a == ts::Key("alphb", {1, 2}));
    // Ordered by name text, whatever the interning order, then by index.
    const ts::Key z("zzz-order");
    const ts::Key b("bbb-order", {5});
    CHECK(b < z);
    CHECK_FALSE(z < b);
    CHECK(ts::Key("k", {1}) < ts::Key("k", {1, 0}));
    CHECK(ts::Key("k", {1, 9}) < ts::Key("k", {2}));
    CHECK_FALSE(a < a);
    std::vector<ts::Key> keys{ts::Key("b", {0}), ts::Key("a", {1}), ts::Key("a", {0}), ts::Key("a")};
    std::sort(keys.begin(), keys.end());
    CHECK(keys == std::vector<ts::Key>{ts::Key("a"), ts::Key("a", {0}), ts::Key("a", {1}), ts::Key("b", {0})});
    // Hashes of a grid of keys are (almost) all distinct.
    std::unordered_set<std::size_t> hashes;
    for (std::int64_t i = 0; i < 300; ++i)
        for (std::int64_t j = 0; j < 300; ++j) hashes.insert(ts::Key("grid", {i, j}).hash());
    CHECK(hashes.size() == 90000);
}

TEST_CASE("interned names round-trip from many threads") {
    constexpr int kThreads = 8;
    constexpr int kNames = 5000;
    std::vector<std::vector<std::uint32_t>> ids(kThreads, std::vector<std::uint32_t>(kNames));
    std::vector<int> mismatches(kThreads, 0);
    std::vector<std::thread> threads;
    for (int th = 0; th < kThreads; ++th) {
        threads.emplace_back([&, th] {
            // Each thread walks the names in its own order, so first insertions race.
            for (int step = 0; step < kNames; ++step) {
                const int name = (step * 7 + th * 613) % kNames;
                const std::string text = fmt::format("intern-test-{}", name);
                const ts::Key key(text, {th});
                ids[static_cast<std::size_t>(th)][static_cast<std::size_t>(name)] = key.name_id();
                if (key.name() != text) ++mismatches[static_cast<std::size_t>(th)];
            }
        });
    }
    for (auto& t : threads) t.join();
    for (int th = 0; th < kThreads; ++th) {
        CHECK(mismatches[static_cast<std::size_t>(th)] == 0);
        CHECK(ids[static_cast<std::size_t>(th)] == ids[0]);
    }
    std::set<std::uint32_t> distinct(ids[0].begin(), ids[0].end());
    CHECK(distinct.size() == kNames);
    CHECK(distinct.count(0) == 0);
    for (int name = 0; name < kNames; name += 97)
        CHECK(ts::Key(fmt::format("intern-test-{}", name)).name_id() == ids[0][static_cast<std::size_t>(name)]);
}

TEST_CASE("Tokenizer is deterministic, typed and order-sensitive") {
    auto token = [](auto&&... values) {
        ts::Tokenizer tok;
        (tok.add(values), ...);
        return tok.hex();
    };
    CHECK(is_lower_hex16(ts::Tokenizer().hex()));
    CHECK(token(std::string_view("abc"), std::int64_t{3}) == token(std::string_view("abc"), std::int64_t{3}));
    CHECK(is_lower_hex16(token(std::string_view("abc"))));
    // Boundaries between strings matter.
    CHECK(token(std::string_view("ab"), std::string_view("c")) != token(std::string_view("a"), std::string_view("bc")));
    CHECK(token(std::string_view("")) != ts::Tokenizer().hex());
    // Types matter.
    CHECK(token(std::int64_t{1}) != token(1.0));
    CHECK(token(std::int64_t{1}) != token(std::string_view("1")));
    // Order matters.
    CHECK(token(std::int64_t{1}, std::int64_t{2}) != token(std::int64_t{2}, std::int64_t{1}));
    // Doubles: every NaN is one value, -0.0 is not 0.0.
    CHECK(token(std::numeric_limits<double>::quiet_NaN()) == token(-std::numeric_limits<double>::quiet_NaN()));
    CHECK(token(0.0) != token(-0.0));
    // Keys hash by text: equal keys give equal tokens; name/index boundaries matter.
    CHECK(token(ts::Key("k", {1, 2})) == token(ts::Key("k", {1, 2})));
    CHECK(token(ts::Key("k", {1, 2})) != token(ts::Key("k", {12})));
    CHECK(token(ts::Key("k", {1, 2})) != token(ts::Key("k", {2, 1})));
    // Spans and raw bytes: lengths are part of the hash.
    const std::vector<std::int64_t> a{1, 2, 3}, b{1, 2}, c{3};
    ts::Tokenizer t1, t2;
    t1.add(std::span<const std::int64_t>(a));
    t2.add(std::span<const std::int64_t>(b)).add(std::span<const std::int64_t>(c));
    CHECK(t1.hex() != t2.hex());
    const std::string bytes(1000, 'x');
    ts::Tokenizer b1, b2, b3;
    b1.add_bytes(bytes.data(), bytes.size());
    b2.add_bytes(bytes.data(), bytes.size());
    b3.add_bytes(bytes.data(), bytes.size() - 1);
    CHECK(b1.hex() == b2.hex());
    CHECK(b1.hex() != b3.hex());
    CHECK(b1.hex() == fmt::format("{:016x}", b1.digest()));
    // Tokens are the same in every process and build: pin the algorithm.
    CHECK(token(std::string_view("tessera"), std::int64_t{42}, 1.5) == "909e85d54c3b9cb5");
}

TEST_CASE("Tokenizer digests are well distributed") {
    std::unordered_set<std::uint64_t> digests;
    std::int64_t bits = 0;
    for (std::int64_t i = 0; i < 100000; ++i) {
        ts::Tokenizer tok;
        tok.add(i);
        digests.insert(tok.digest());
        bits += std::popcount(tok.digest());
    }
    CHECK(digests.size() == 100000);
    // Mean popcount 32 with standard deviation 4/sqrt(1e5) ≈ 0.013.
    CHECK(static_cast<double>(bits) / 100000.0 == doctest::Approx(32.0).epsilon(0.005));
    // Avalanche: flipping one input bit flips about half of the output bits.
    std::int64_t flipped = 0;
    for (int bit = 0; bit < 64; ++bit) {
        for (std::int64_t base = 0; base < 100; ++base) {
            ts::Tokenizer x, y;
            x.add(base * 1000003);
            y.add((base * 1000003) ^ (std::int64_t{1} << bit));
            flipped += std::popcount(x.digest() ^ y.digest());
        }
    }
    CHECK(static_cast<double>(flipped) / 6400.0 == doctest::Approx(32.0).epsilon(0.03));
}

TEST_CASE("unique_token is unique and hex, across threads") {
    constexpr int kThreads = 4;
    constexpr int kPerThread = 20000;
    std::vector<std::vector<std::string>> tokens(kThreads);
    std::vector<std::thread> threads;
    for (int th = 0; th < kThreads; ++th) {
        threads.emplace_back([&, th] {
            for (int i = 0; i < kPerThread; ++i) tokens[static_cast<std::size_t>(th)].push_back(ts::unique_token());
        });
    }
    for (auto& t : threads) t.join();
    std::unordered_set<std::string> all;
    bool all_hex = true;
    for (const auto& list : tokens) {
        for (const auto& t : list) {
            all.insert(t);
            all_hex = all_hex && is_lower_hex16(t);
        }
    }
    CHECK(all_hex);
    CHECK(all.size() == kThreads * kPerThread);
}

TEST_CASE("operation registry") {
    const ts::OpId identity = ts::op_id("tessera.identity");
    CHECK(identity == 1);
    CHECK(ts::has_op("tessera.identity"));
    CHECK(ts::op_name(identity) == "tessera.identity");

    const ts::OpId id = ts::register_op("test.graph.double", &double_op);
    CHECK(id != identity);
    CHECK(ts::register_op("test.graph.double", &double_op) == id);  // idempotent
    CHECK(ts::op_id("test.graph.double") == id);
    CHECK(ts::op_name(id) == "test.graph.double");
    CHECK(static_cast<bool>(ts::op_fn(id) == &double_op));
    CHECK(ts::has_op("test.graph.double"));
    CHECK_FALSE(ts::has_op("test.graph.never"));

    CHECK_THROWS_WITH_AS(ts::register_op("test.graph.double", &other_op),
                         "operation 'test.graph.double' is already registered with another function",
                         ts::GraphError);
    CHECK_THROWS_WITH_AS(ts::op_id("nope.nope"), "unknown operation 'nope.nope'", ts::GraphError);
    CHECK_THROWS_WITH_AS(ts::op_fn(0), "unknown operation id 0", ts::GraphError);
    CHECK_THROWS_WITH_AS(ts::op_name(4000000000u), "unknown operation id 4000000000", ts::GraphError);
    CHECK_THROWS_WITH_AS(ts::register_op("", &other_op), "operation name must not be empty", ts::GraphError);
    CHECK_THROWS_WITH_AS(ts::register_op("test.graph.null", nullptr), "operation 'test.graph.null' has no function",
                         ts::GraphError);
    CHECK_FALSE(ts::has_op("test.graph.null"));
}

TEST_CASE("concurrent registration of one operation gives one id") {
    std::vector<ts::OpId> ids(8);
    std::vector<std::thread> threads;
    for (std::size_t th = 0; th < ids.size(); ++th) {
        threads.emplace_back([&, th] {
            for (int i = 0; i < 200; ++i) {
                const ts::OpId id = ts::register_op(fmt::format("test.graph.concurrent.{}", i), &other_op);
                if (i == 199) ids[th] = id;
            }
        });
    }
    for (auto& t : threads) t.join();
    for (ts::OpId id : ids) CHECK(id == ids[0]);
    CHECK(ts::op_name(ids[0]) == "test.graph.concurrent.199");
    std::set<ts::OpId> distinct;
    for (int i = 0; i < 200; ++i) distinct.insert(ts::op_id(fmt::format("test.graph.concurrent.{}", i)));
    CHECK(distinct.size() == 200);
}

TEST_CASE("the identity operation returns its single input") {
    const ts::Task task{ts::Key("id-0123abcd"), ts::op_id("tessera.identity"), {}, {ts::Key("in")}, nullptr, 0};
    const ts::Value input;
    const ts::Value* inputs[] = {&input};
    const ts::Value out = ts::op_fn(task.op)(ts::TaskContext{task, inputs, 0});
    CHECK(out.is_none());
    CHECK_THROWS_WITH_AS(ts::op_fn(task.op)(ts::TaskContext{task, {}, 0}),
                         "operation 'tessera.identity' takes 1 input, got 0", ts::GraphError);
}
