// The graph optimizer beyond lowering-time fusion: slicing pushdown, getitem of getitem,
// linear-chain fusion (graph/fuse_linear.cpp) and its cost on large graphs.

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "array/fused.hpp"
#include "array/fused_program.hpp"
#include "array/verify.hpp"
#include "graph/optimize.hpp"
#include "tessera/tessera.hpp"

namespace ts = tessera;

namespace {

// Returns a block of the call count: two runs never agree (for the verification mode test).
ts::NDArray drifting_kernel(std::span<const ts::NDArray> blocks, const ts::BlockInfo&, const ts::Value&) {
    static int calls = 0;
    ts::NDArray out = ts::NDArray::zeros(ts::float64, blocks[0].shape());
    ++calls;
    for (std::int64_t k = 0; k < out.size(); ++k) out.data<double>()[k] = calls;
    return out;
}
TESSERA_REGISTER_BLOCK_KERNEL("opt2.drifting", drifting_kernel);

std::int64_t count_op(const ts::Graph& g, std::string_view op) {
    std::int64_t n = 0;
    for (const auto& task : g.tasks()) n += ts::op_name(task.op) == op ? 1 : 0;
    return n;
}

bool bitwise_equal(const ts::NDArray& a, const ts::NDArray& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    const ts::NDArray ca = a.copy(), cb = b.copy();
    return std::memcmp(ca.raw_data(), cb.raw_data(), static_cast<std::size_t>(ca.nbytes())) == 0;
}

ts::NDArray unoptimized(const ts::Array& a) {
    ts::config::Scoped off({.optimize = false});
    return a.compute({.scheduler = "sync"});
}

// Counts the tasks of each run.
struct TaskCounter : ts::Observer {
    std::int64_t n_tasks = -1;
    void on_run_start(const ts::RunInfo& info) override { n_tasks = info.n_tasks; }
};

std::int64_t tasks_run(const ts::Array& a, ts::NDArray& result) {
    auto counter = std::make_shared<TaskCounter>();
    result = a.compute({.scheduler = "sync", .observers = {counter}});
    return counter->n_tasks;
}

}  // namespace

// ------------------------------------------------------------------------------ slicing pushdown

TEST_CASE("a slice of an elementwise expression over a random source lowers only the touched blocks") {
    auto x = ts::random::uniform(0, 1, {1000}, {.chunks = {10}, .seed = 11});
    REQUIRE(x.chunks().nblocks() == 100);
    auto y = (x * 2 + 1)[{ts::Slice(5, 7)}];
    const ts::Graph g = y.graph();
    CHECK(g.size() == 2);  // one fused block of x * 2 + 1 (block 0) and its getitem
    CHECK(count_op(g, "tessera.fused") == 1);
    CHECK(count_op(g, "tessera.getitem") == 1);

    ts::NDArray fast;
    CHECK(tasks_run(y, fast) == 1);  // the two become one chain
    const ts::NDArray slow = unoptimized(y);
    CHECK(bitwise_equal(fast, slow));
    const ts::NDArray whole = x.compute();
    REQUIRE(fast.shape() == ts::Shape{2});
    for (std::int64_t k = 0; k < 2; ++k) CHECK(fast.at<double>({k}) == whole.at<double>({5 + k}) * 2 + 1);

    // Without the optimizer every block of every node is lowered.
    ts::config::Scoped off({.optimize = false});
    CHECK(y.graph().size() > 100);
}

TEST_CASE("a slice spanning blocks with broadcasting reads only the touched blocks of the inputs") {
    std::vector<double> values(100 * 4);
    for (std::size_t k = 0; k < values.size(); ++k) values[k] = static_cast<double>(k) * 0.5 - 7;
    const ts::NDArray data = ts::NDArray::from_vector(values, {100, 4});
    auto a = ts::from_array(data, ts::Shape{1, 4});  // 100 blocks of one row
    auto b = ts::arange(4);                    // broadcast along the rows
    auto y = ts::sqrt(ts::abs(a * b + 1))[{ts::Slice(50, 53), ts::Slice(1, 4, 2)}];

    const ts::Graph g = y.graph();
    CHECK(count_op(g, "tessera.fused") == 3);  // rows 50, 51, 52
    std::vector<ts::Key> keys;
    for (std::int64_t row = 0; row < 3; ++row) keys.push_back(y.block_key(std::vector<std::int64_t>{row, 0}));
    CHECK(g.cull(keys).size() == 3 * 3);  // per row: the block of a, the fused block, the getitem

    ts::NDArray fast;
    CHECK(tasks_run(y, fast) == 3 * 2);  // constants stay alone (local payloads); fused + getitem chain
    CHECK(bitwise_equal(fast, unoptimized(y)));
    REQUIRE(fast.shape() == ts::Shape{3, 2});
    for (std::int64_t row = 0; row < 3; ++row)
        for (std::int64_t col = 0; col < 2; ++col) {
            const double v = data.at<double>({50 + row, 1 + 2 * col});
            CHECK(fast.at<double>({row, col}) == std::sqrt(std::abs(v * static_cast<double>(1 + 2 * col) + 1)));
        }
}

TEST_CASE("an elementwise expression used twice is not pushed down (it is materialized once)") {
    auto x = ts::arange(0.0, 50.0, 1.0, {.chunks = {5}});
    auto y = x * 3;
    auto s = y[{ts::Slice(2, 4)}] + y.sum();
    const ts::Graph g = s.graph();
    CHECK(g.contains(y.block_key(std::vector<std::int64_t>{9})));
    const ts::NDArray out = s.compute();
    CHECK(out.at<double>({0}) == 6 + 3 * 1225);
    CHECK(out.at<double>({1}) == 9 + 3 * 1225);
    CHECK(bitwise_equal(out, unoptimized(s)));
}

TEST_CASE("pushdown of empty, single-element, reversed and integer selections") {
    auto x = ts::random::normal(0, 1, {37, 5}, {.chunks = {4, 2}, .seed = 3});
    auto e = ts::exp(x) - x;
    const ts::NDArray whole = e.compute();
    const std::vector<ts::IndexList> indices = {
        {ts::Slice(3, 3)},
        {ts::Slice(36, 37), 4},
        {ts::Slice(ts::none, ts::none, -3), ts::Slice(4, 0, -2)},
        {7},
        {ts::newaxis, ts::Slice(-5, ts::none), ts::newaxis, 1},
    };
    for (const auto& index : indices) {
        auto y = e[index];
        CAPTURE(y.chunks().str());
        const ts::NDArray fast = y.compute();
        CHECK(bitwise_equal(fast, unoptimized(y)));
        CHECK(bitwise_equal(fast, ts::getitem(ts::from_array(whole, ts::Shape{37, 5}), index).compute()));
    }
}

// ------------------------------------------------------------------------------ getitem of getitem

TEST_CASE("getitem of getitem composes into one selection") {
    auto x = ts::random::uniform(-1, 1, {100, 30}, {.chunks = {10, 7}, .seed = 5});
    auto twice = x[{ts::Slice(10, 90, 2), ts::Slice(ts::none, ts::none, -1)}][{ts::Slice(5, 20, 3), 4}];
    auto once = x[{ts::Slice(20, 50, 6), 25}];
    CHECK(twice.name() == once.name());
    const ts::Graph g = twice.graph();
    CHECK(count_op(g, "tessera.getitem") == static_cast<std::int64_t>(twice.chunks().nblocks()));

    const ts::NDArray whole = x.compute();
    const ts::NDArray got = twice.compute();
    REQUIRE(got.shape() == ts::Shape{5});
    for (std::int64_t k = 0; k < 5; ++k) CHECK(got.at<double>({k}) == whole.at<double>({20 + 6 * k, 25}));

    // Many combinations against the unoptimized (uncomposed) graph and the whole array.
    const std::vector<ts::IndexList> inner = {
        {ts::Slice(3, 97, 3)},
        {ts::Slice(ts::none, ts::none, -7), ts::Slice(2, 29)},
        {ts::Slice(50, 10, -1), 3},
        {ts::Slice(0, 0)},
        {4, ts::Slice(1, ts::none, 4)},
    };
    const std::vector<ts::IndexList> outer = {
        {ts::Slice(1, ts::none, 2)},
        {ts::Slice(ts::none, ts::none, -1)},
        {0},
        {ts::Slice(2, 3), ts::newaxis},
        {ts::newaxis, ts::Slice(-3, ts::none)},
    };
    for (const auto& first : inner)
        for (const auto& second : outer) {
            const ts::Array step1 = x[first];
            if (step1.shape()[0] == 0 && second.items()[0].kind() == ts::IndexItem::Kind::Integer) continue;
            const ts::Array y = step1[second];
            CAPTURE(y.chunks().str());
            const ts::NDArray fast = y.compute();
            CHECK(bitwise_equal(fast, unoptimized(y)));
            const ts::Array from_whole = ts::from_array(whole, ts::Shape{100, 30});
            CHECK(bitwise_equal(fast, from_whole[first][second].compute()));
        }
}

TEST_CASE("getitem of getitem is not composed when the optimizer is off, nor through a new axis") {
    auto x = ts::arange(0.0, 20.0, 1.0, {.chunks = {6}});
    {
        ts::config::Scoped off({.optimize = false});
        auto y = x[{ts::Slice(2, 18)}][{ts::Slice(1, 4)}];
        CHECK(y.name() != x[{ts::Slice(3, 6)}].name());
        CHECK(y.compute().at<double>({0}) == 3);
    }
    auto z = x[{ts::newaxis, ts::Slice(2, 18)}][{0, ts::Slice(1, 4)}];
    CHECK(z.name() != x[{ts::Slice(3, 6)}].name());
    CHECK(z.compute().at<double>({2}) == 5);
}

// ------------------------------------------------------------------------------ linear-chain fusion

namespace {

// Ops for handmade graphs: params hold a decimal integer.
ts::Value opt2_source(const ts::TaskContext& ctx) { return ts::Value::from(std::stoll(ctx.task.params)); }
ts::Value opt2_affine(const ts::TaskContext& ctx) {
    // 10 * (sum of inputs) + params; distinguishes order and operand count.
    std::int64_t total = 0;
    for (const ts::Value* v : ctx.inputs) total += v->as<std::int64_t>();
    return ts::Value::from(10 * total + std::stoll(ctx.task.params));
}
ts::Value opt2_fail(const ts::TaskContext& ctx) {
    throw ts::ValueError("bad value {} in {}", ctx.inputs.size(), ctx.task.key.str());
}
TESSERA_REGISTER_KERNEL("opt2.source", opt2_source);
TESSERA_REGISTER_KERNEL("opt2.affine", opt2_affine);
TESSERA_REGISTER_KERNEL("opt2.fail", opt2_fail);

ts::Task make_task(ts::Key key, std::string_view op, std::int64_t param, std::vector<ts::Key> deps = {}) {
    return ts::Task{std::move(key), ts::op_id(op), std::to_string(param), std::move(deps)};
}

std::int64_t fuse(const ts::Graph& g, std::vector<ts::Key> outputs, ts::Graph& out) {
    return ts::detail::fuse_linear(g, ts::index_graph(g), outputs, out);
}

}  // namespace

TEST_CASE("fuse_linear merges a chain into one serializable task and keeps the results" * doctest::timeout(60)) {
    // s → a → b → c, and c → out with a second input t: s..c is one chain (out has two deps).
    ts::Graph g;
    g.add(make_task(ts::Key("s"), "opt2.source", 1));
    g.add(make_task(ts::Key("a"), "opt2.affine", 2, {ts::Key("s")}));
    g.add(make_task(ts::Key("b"), "opt2.affine", 3, {ts::Key("a")}));
    g.add(make_task(ts::Key("c"), "opt2.affine", 4, {ts::Key("b")}));
    g.add(make_task(ts::Key("t"), "opt2.source", 5));
    g.add(make_task(ts::Key("out"), "opt2.affine", 6, {ts::Key("c"), ts::Key("t")}));
    const std::vector<ts::Key> outputs = {ts::Key("out")};
    ts::Graph fused;
    CHECK(fuse(g, outputs, fused) == 3);
    REQUIRE(fused.size() == 3);
    CHECK(ts::op_name(fused.at(ts::Key("c")).op) == "tessera.chain");
    CHECK(fused.at(ts::Key("c")).deps.empty());
    CHECK_FALSE(fused.contains(ts::Key("a")));
    CHECK(fused.at(ts::Key("out")).deps == std::vector<ts::Key>{ts::Key("c"), ts::Key("t")});
    CHECK(fused.tasks()[0].key == ts::Key("c"));  // original relative order

    // ((1 * 10 + 2) * 10 + 3) * 10 + 4 = 1234; out = 10 * (1234 + 5) + 6.
    const std::int64_t expected = 10 * (1234 + 5) + 6;
    for (const char* scheduler : {"sync", "threads"}) {
        CHECK(ts::compute_graph(fused, outputs, {.scheduler = scheduler})[0].as<std::int64_t>() == expected);
        CHECK(ts::compute_graph(g, outputs, {.scheduler = scheduler})[0].as<std::int64_t>() == expected);
        ts::config::Scoped off({.optimize = false});
        CHECK(ts::compute_graph(g, outputs, {.scheduler = scheduler})[0].as<std::int64_t>() == expected);
    }
    // compute_graph fuses only the library's operations: a hand-built graph of user operations
    // runs task by task (observers and traces see the user's tasks).
    auto counter = std::make_shared<TaskCounter>();
    CHECK(ts::compute_graph(g, outputs, {.scheduler = "sync", .observers = {counter}})[0].as<std::int64_t>() ==
          expected);
    CHECK(counter->n_tasks == 6);
    CHECK(fuse(g, outputs, fused) == 3);
    ts::Graph none;
    CHECK(ts::detail::fuse_linear(g, ts::index_graph(g), outputs, none, "tessera.") == 0);
    // The chain itself is plain data: copied into another graph (as a worker receives it) it runs.
    ts::Graph shipped;
    shipped.add(fused.at(ts::Key("c")));
    CHECK(ts::compute_graph(shipped, {ts::Key("c")})[0].as<std::int64_t>() == 1234);
}

TEST_CASE("fuse_linear leaves outputs, branches, joins and local payloads alone") {
    ts::Graph g;
    g.add(make_task(ts::Key("s", {0}), "opt2.source", 1));
    g.add(make_task(ts::Key("mid", {0}), "opt2.affine", 2, {ts::Key("s", {0})}));  // an output
    g.add(make_task(ts::Key("end", {0}), "opt2.affine", 3, {ts::Key("mid", {0})}));
    g.add(make_task(ts::Key("fan"), "opt2.source", 4));  // two dependents
    g.add(make_task(ts::Key("f1"), "opt2.affine", 5, {ts::Key("fan")}));
    g.add(make_task(ts::Key("f2"), "opt2.affine", 6, {ts::Key("fan"), ts::Key("fan")}));
    ts::Task local = make_task(ts::Key("local"), "opt2.source", 7);
    local.local = std::make_shared<int>(0);
    g.add(local);
    g.add(make_task(ts::Key("after_local"), "opt2.affine", 8, {ts::Key("local")}));
    const std::vector<ts::Key> outputs = {ts::Key("mid", {0}), ts::Key("end", {0}), ts::Key("f1"), ts::Key("f2"),
                                          ts::Key("after_local")};
    ts::Graph fused;
    // Only s → mid fuses? No: mid is an output and stays; s (not an output, one dependent mid,
    // mid has one dependency) is absorbed into mid.
    CHECK(fuse(g, outputs, fused) == 1);
    CHECK(ts::op_name(fused.at(ts::Key("mid", {0})).op) == "tessera.chain");
    CHECK(ts::op_name(fused.at(ts::Key("end", {0})).op) == "opt2.affine");
    CHECK(fused.contains(ts::Key("fan")));
    CHECK(fused.contains(ts::Key("local")));
    const auto values = ts::compute_graph(g, outputs, {.scheduler = "sync"});
    CHECK(values[0].as<std::int64_t>() == 12);
    CHECK(values[1].as<std::int64_t>() == 123);
    CHECK(values[2].as<std::int64_t>() == 45);
    CHECK(values[3].as<std::int64_t>() == 86);
    CHECK(values[4].as<std::int64_t>() == 78);

    ts::Graph nothing;
    ts::Graph single;
    single.add(make_task(ts::Key("only"), "opt2.source", 1));
    CHECK(fuse(single, {ts::Key("only")}, nothing) == 0);
    CHECK(nothing.empty());
}

TEST_CASE("a task failing inside a chain is named in the error, as without fusion" * doctest::timeout(60)) {
    ts::Graph g;
    g.add(make_task(ts::Key("s", {2}), "opt2.source", 1));
    g.add(make_task(ts::Key("bad", {2}), "opt2.fail", 0, {ts::Key("s", {2})}));
    g.add(make_task(ts::Key("end", {2}), "opt2.affine", 3, {ts::Key("bad", {2})}));
    ts::Graph fused;
    REQUIRE(fuse(g, {ts::Key("end", {2})}, fused) == 2);
    for (const char* scheduler : {"sync", "threads"}) {
        for (const ts::Graph* graph : {&g, &fused}) {
            CHECK_THROWS_WITH_AS(ts::compute_graph(*graph, {ts::Key("end", {2})}, {.scheduler = scheduler}),
                                 "task ('bad', 2): bad value 1 in ('bad', 2)", ts::ValueError);
            ts::config::Scoped off({.optimize = false});
            CHECK_THROWS_WITH_AS(ts::compute_graph(*graph, {ts::Key("end", {2})}, {.scheduler = scheduler}),
                                 "task ('bad', 2): bad value 1 in ('bad', 2)", ts::ValueError);
        }
    }
    // The last task of a chain failing is named by the scheduler itself.
    ts::Graph last;
    last.add(make_task(ts::Key("s"), "opt2.source", 1));
    last.add(make_task(ts::Key("bad_end"), "opt2.fail", 0, {ts::Key("s")}));
    REQUIRE(fuse(last, {ts::Key("bad_end")}, fused) == 1);
    CHECK_THROWS_WITH_AS(ts::compute_graph(fused, {ts::Key("bad_end")}, {.scheduler = "sync"}),
                         "task 'bad_end': bad value 1 in 'bad_end'", ts::ValueError);
}

TEST_CASE("malformed chain parameters are a ProtocolError") {
    ts::Graph g;
    g.add(ts::Task{ts::Key("c"), ts::op_id("tessera.chain"), std::string("\x02\x00", 2), {}});
    CHECK_THROWS_WITH_AS(ts::compute_graph(g, {ts::Key("c")}, {.scheduler = "sync"}),
                         "task 'c': malformed chain parameters: 8 bytes needed at offset 0 of 2",
                         ts::ProtocolError);
}

TEST_CASE("fused programs round-trip through their encoding; malformed bytes are a ProtocolError") {
    // A real program: the fused task of an elementwise expression over a random source.
    const ts::Array x = ts::random::random({6, 5}, {.chunks = {4, 5}, .seed = 2});
    const ts::Graph g = ((x * 2 + 1) / ts::sqrt(x + 3)).astype(ts::float32).graph(true);
    std::string bytes;
    for (const auto& t : g.tasks())
        if (ts::op_name(t.op) == "tessera.fused") bytes = t.params;
    REQUIRE(!bytes.empty());
    const ts::detail::Program p = ts::detail::decode_program(bytes);
    CHECK(p.shape.size() == 2);
    CHECK(p.instrs.size() >= 6);
    CHECK(ts::detail::encode_program(p) == bytes);  // every field survives the round trip

    CHECK_THROWS_WITH_AS(ts::detail::decode_program(bytes.substr(0, 10)),
                         "malformed fused program (10 bytes): 16 bytes needed at offset 8", ts::ProtocolError);
    std::string bad_magic = bytes;
    bad_magic[0] = 'x';
    CHECK_THROWS_WITH_AS(ts::detail::decode_program(bad_magic),
                         fmt::format("malformed fused program ({} bytes): not a program", bytes.size()).c_str(),
                         ts::ProtocolError);
    std::string huge = bytes.substr(0, 4) + std::string("\xff\xff\xff\x7f", 4);  // 2^31 shape entries
    CHECK_THROWS_WITH_AS(ts::detail::decode_program(huge),
                         "malformed fused program (8 bytes): 17179869176 bytes needed at offset 8", ts::ProtocolError);
    CHECK_THROWS_WITH_AS(ts::detail::decode_program(bytes + "z"),
                         fmt::format("malformed fused program ({} bytes): trailing bytes", bytes.size() + 1).c_str(),
                         ts::ProtocolError);
    // A register reading a later register.
    ts::detail::Program forward = p;
    forward.instrs[1].a = 3;
    forward.instrs[1].code = ts::detail::Code::Neg;
    CHECK_THROWS_WITH_AS(ts::detail::decode_program(ts::detail::encode_program(forward)),
                         "malformed fused program: register 1 reads register 3", ts::ProtocolError);
}

TEST_CASE("FusedKernelBuilder gives every block the kernel build_fused_kernel builds") {
    // Templates per block shape must reproduce the full walk: sources' offsets, the input block
    // each load reads and where, slots shared between loads of one block, ragged edges,
    // broadcasting, transposed reads and inputs of other chunkings.
    const ts::Array r = ts::random::random({9, 7}, {.chunks = {{4, 3, 2}, {3, 4}}, .seed = 3});
    const ts::Array m = ts::from_array(ts::NDArray::zeros(ts::float64, {9, 7}), {{2, 2, 5}, {7}}).persist();
    const ts::Array sq = ts::from_array(ts::NDArray::zeros(ts::float64, {6, 6}), {{2, 4}, {3, 3}}).persist();
    const ts::Array row = ts::arange(7.0, {.chunks = {3}});
    const std::vector<ts::Array> roots = {
        r * 2 + row,                                          // sources, broadcasting
        (m + r) * ts::sqrt(m),                                // loads of another chunking
        sq + ts::transpose(sq),                               // a block read twice (diagonal blocks)
        ts::where(r > 0.5, m, row) - ts::transpose(ts::transpose(r)),
    };
    for (const auto& root : roots) {
        INFO(root.name());
        ts::Graph g;
        ts::detail::LowerContext ctx(g);
        const std::vector<ts::detail::NodePtr> outputs = {root.node()};
        ts::detail::count_consumers(outputs, ctx);
        ts::detail::FusedKernelBuilder builder(*root.node(), ctx);
        std::int64_t blocks = 0;
        ts::detail::for_each_block(root.numblocks(), [&](std::span<const std::int64_t> block) {
            const ts::detail::FusedKernel fast = builder.build(block);
            const ts::detail::FusedKernel full = ts::detail::build_fused_kernel(*root.node(), block, ctx);
            CHECK(fast.program == full.program);
            CHECK(fast.deps == full.deps);
            ++blocks;
        });
        CHECK(blocks == ts::shape_size(root.numblocks()));
    }
}

TEST_CASE("fuse_linear on a graph of 10^5 tasks") {
    // Its time is printed for information; bench/optimize_graph measures it (no timed assertion).
    // 25000 chains source → f → g → h: 10^5 tasks, 75000 of them absorbed.
    ts::Graph g;
    g.reserve(100000);
    const std::string_view names[] = {"src", "f", "g", "h"};
    const char* ops[] = {"opt2.source", "opt2.affine", "opt2.affine", "opt2.affine"};
    std::vector<ts::Key> outputs;
    for (std::int64_t chain = 0; chain < 25000; ++chain)
        for (std::size_t stage = 0; stage < 4; ++stage) {
            std::vector<ts::Key> deps;
            if (stage > 0) deps.push_back(ts::Key(names[stage - 1], {chain}));
            g.add(make_task(ts::Key(names[stage], {chain}), ops[stage], static_cast<std::int64_t>(stage), deps));
            if (stage == 3) outputs.push_back(ts::Key(names[stage], {chain}));
        }
    const ts::GraphIndex index = ts::index_graph(g);
    ts::Graph fused;
    const auto start = std::chrono::steady_clock::now();
    const std::int64_t removed = ts::detail::fuse_linear(g, index, outputs, fused);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    MESSAGE("fuse_linear on 100000 tasks: " << ms << " ms");
    CHECK(removed == 75000);
    CHECK(fused.size() == 25000);
    const auto values = ts::compute_graph(g, std::span(outputs).subspan(0, 3), {.scheduler = "sync"});
    CHECK(values[2].as<std::int64_t>() == 123);
}

// ------------------------------------------------------------------------------ verification mode

TEST_CASE("verification mode names the array, the first differing element and both values") {
    auto x = ts::arange(0.0, 6.0, 1.0, {.chunks = {4}}).reshape({2, 3}) * 2;
    ts::NDArray good = x.compute();
    CHECK_NOTHROW(ts::detail::verify_array(x, good));
    ts::NDArray bad = good.copy();
    bad.set({1, 0}, ts::Scalar(7.5));
    bad.set({1, 2}, ts::Scalar(1.0));
    CHECK_THROWS_WITH_AS(ts::detail::verify_array(x, bad),
                         ("verification of array " + x.name() + " failed: element (1, 0) is 7.5 optimized but 6.0 unfused")
                             .c_str(),
                         ts::Error);
    CHECK_THROWS_WITH_AS(ts::detail::verify_array(x, good.reshape({6})),
                         ("verification of array " + x.name() +
                          " failed: the optimized result is float64 (6,) but the unfused one is float64 (2, 3)")
                             .c_str(),
                         ts::Error);
    // NaNs compare equal whatever their payload; 0-d and empty arrays verify.
    auto n = ts::sqrt(ts::arange(-2.0, 2.0, 1.0, {.chunks = {3}}));
    CHECK_NOTHROW(ts::detail::verify_array(n, n.compute()));
    auto s = n.sum();
    CHECK_NOTHROW(ts::detail::verify_array(s, s.compute()));
    auto e = ts::arange(0.0, 0.0, 1.0) + 1;
    CHECK_NOTHROW(ts::detail::verify_array(e, e.compute()));

    ::setenv("TESSERA_VERIFY", "1", 1);
    CHECK(ts::detail::verify_enabled());
    CHECK(x.compute().at<double>({1, 2}) == 10);  // compute() verifies and passes
    // ts::compute(a, b): each array of the joint (shared, optimized) run is verified too; a
    // kernel answering differently on every call makes the unfused rerun disagree.
    auto [mean, sd] = ts::compute(x.mean(), x.std());
    CHECK(mean.item<double>() == doctest::Approx(5.0));
    CHECK(sd.item<double>() == doctest::Approx(std::sqrt(35.0 / 3.0)));
    const ts::Array drifting = ts::map_blocks("opt2.drifting", {ts::ones({2, 2})});  // one block
    CHECK_THROWS_WITH_AS(ts::compute(drifting, x.sum()),
                         ("verification of array " + drifting.name() +
                          " failed: element (0, 0) is 1.0 optimized but 2.0 unfused").c_str(),
                         ts::Error);
    ::setenv("TESSERA_VERIFY", "0", 1);
    CHECK_FALSE(ts::detail::verify_enabled());
    ::unsetenv("TESSERA_VERIFY");
    CHECK_FALSE(ts::detail::verify_enabled());
}

TEST_CASE("chains run on distributed workers (shipped by operation name)" * doctest::timeout(60)) {
    auto x = ts::random::normal(0, 1, {4000}, {.chunks = {100}, .seed = 9});
    auto y = (ts::exp(x) * 2 - 1)[{ts::Slice(150, 420, 3)}];
    const ts::NDArray local = y.compute({.scheduler = "sync"});
    ts::LocalCluster cluster({.n_workers = 2, .threads_per_worker = 1});
    ts::Client client(cluster);
    const ts::NDArray remote = y.compute();  // the fused block and its getitem form one chain
    CHECK(bitwise_equal(remote, local));
    CHECK(bitwise_equal(remote, unoptimized(y)));
}
