// Distributed execution on loopback with real worker processes: results equal to the threads
// scheduler for task graphs and array graphs, errors, refusals. Failures (SIGKILL, client loss),
// the protocol fuzz and the programs: distributed/*.cpp.

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>

#include "distributed/helpers.hpp"
#include "tessera/array.hpp"
#include "tessera/config.hpp"
#include "tessera/delayed.hpp"
#include "tessera/distributed.hpp"
#include "tessera/error.hpp"

namespace ts = tessera;
using namespace dist_test;

namespace {

std::vector<ts::Value> on_threads(const ts::Graph& g, std::span<const ts::Key> keys) {
    return ts::compute_graph(g, keys, {.scheduler = "threads", .num_threads = 2});
}

}  // namespace

TEST_CASE("task graphs give the threads scheduler's results" * doctest::timeout(60)) {
    ts::LocalCluster cluster(self_workers(2));
    ts::Client client(cluster);
    CHECK(client.n_workers() == 2);

    // A single constant task, a fan-in tree, repeated dependencies and several outputs.
    ts::Graph one;
    one.add(task(ts::Key("x"), ops().konst, 41));
    CHECK(ts::compute_graph(one, {ts::Key("x")})[0].as<std::int64_t>() == 41);

    for (std::int64_t n : {1, 13, 2000}) {
        CAPTURE(n);
        ts::Graph g;
        const ts::Key root = build_tree(g, n, 8, ops().sum);
        const auto got = ts::compute_graph(g, {root});
        CHECK(got[0].as<std::int64_t>() == n * (n + 1) / 2);
        const std::vector<ts::Key> keys{root};
        CHECK(got[0].as<std::int64_t>() == on_threads(g, keys)[0].as<std::int64_t>());
    }

    ts::Graph g;
    g.add(task(ts::Key("a"), ops().konst, 3));
    g.add(task(ts::Key("twice"), ops().sum, 0, {ts::Key("a"), ts::Key("a")}));
    g.add(task(ts::Key("more"), ops().sum, 1, {ts::Key("twice"), ts::Key("a")}));
    const std::vector<ts::Key> outs{ts::Key("more"), ts::Key("a"), ts::Key("twice"), ts::Key("a")};
    const auto values = ts::compute_graph(g, outs);
    REQUIRE(values.size() == 4);
    CHECK(values[0].as<std::int64_t>() == 10);
    CHECK(values[1].as<std::int64_t>() == 3);
    CHECK(values[2].as<std::int64_t>() == 6);
    CHECK(values[3].as<std::int64_t>() == 3);
    CHECK(ts::compute_graph(g, {}).empty());
}

TEST_CASE("array graphs give the threads scheduler's results" * doctest::timeout(60)) {
    ts::LocalCluster cluster({.n_workers = 2, .threads_per_worker = 1});
    ts::Client client(cluster);

    const ts::Array x = ts::random::normal(1.0, 2.0, {1 << 16}, {.chunks = 1 << 12, .seed = 7});
    const ts::Array expr = ((x * 3.0 + 1.0) / 2.0 - ts::sqrt(ts::abs(x))).sum();
    const ts::Array rows = ts::random::uniform(0, 1, {300, 70}, {.chunks = {64, 32}, .seed = 3}).mean({1});
    ts::NDArray data = ts::NDArray::empty(ts::float64, {5, 7});
    for (std::int64_t k = 0; k < 35; ++k) data.set({k / 7, k % 7}, ts::Scalar(0.5 * static_cast<double>(k) - 3.0));
    const ts::Array constant = (ts::from_array(data, {2, 3}) * 2.0).max({0});
    const ts::Array empty = ts::zeros({0}, {.chunks = 4}).sum();
    const ts::Array zero_d = ts::from_array(ts::NDArray::scalar(ts::Scalar(2.5))) + 1.0;

    std::vector<ts::NDArray> remote;
    for (const ts::Array* a : {&x, &expr, &rows, &constant, &empty, &zero_d}) remote.push_back(a->mean().compute());
    remote.push_back(x.compute());
    remote.push_back(rows.compute());
    remote.push_back(constant.compute());
    std::vector<ts::NDArray> local;
    {
        auto restore = ts::use_scheduler(ts::make_thread_scheduler(2));
        for (const ts::Array* a : {&x, &expr, &rows, &constant, &empty, &zero_d}) local.push_back(a->mean().compute());
        local.push_back(x.compute());
        local.push_back(rows.compute());
        local.push_back(constant.compute());
    }
    REQUIRE(remote.size() == local.size());
    for (std::size_t k = 0; k < remote.size(); ++k) {
        CAPTURE(k);
        CHECK(remote[k].equals(local[k]));
    }
    // Closed forms: the constant's column maxima are its last row, doubled.
    for (std::int64_t col = 0; col < 7; ++col)
        CHECK(remote[8].at<double>({col}) == 2 * (0.5 * static_cast<double>(28 + col) - 3.0));
    CHECK(remote[4].item<double>() == 0.0);  // the sum of nothing
    CHECK(remote[5].item<double>() == 3.5);
}

TEST_CASE("TESSERA_SCHEDULER / config scheduler address runs an unmodified compute on the cluster" * doctest::timeout(60)) {
    ts::LocalCluster cluster(self_workers(2));
    ts::config::Scoped scoped({.scheduler = cluster.address()});
    ts::Graph g;
    const ts::Key root = build_tree(g, 100, 4, ops().sum);
    CHECK(ts::compute_graph(g, {root})[0].as<std::int64_t>() == 5050);
    const ts::Array m = ts::random::normal(0, 1, {4096}, {.chunks = 512, .seed = 1}).mean();
    const double remote = m.compute().item<double>();
    ts::config::Scoped threads({.scheduler = "threads"});
    CHECK(remote == m.compute().item<double>());
}

TEST_CASE("errors: a task's exception keeps its type, key and message; refusals before sending" * doctest::timeout(60)) {
    ts::LocalCluster cluster(self_workers(2));
    ts::Client client(cluster);

    ts::Graph g;
    g.add(task(ts::Key("in", {0}), ops().konst, 1));
    g.add(task(ts::Key("bad", {2}), ops().fail, 7, {ts::Key("in", {0})}));
    g.add(task(ts::Key("after"), ops().sum, 0, {ts::Key("bad", {2})}));
    CHECK_THROWS_WITH_AS(ts::compute_graph(g, {ts::Key("after")}), "task ('bad', 2): boom 7", ts::ValueError);

    // The cluster keeps serving.
    ts::Graph ok;
    const ts::Key root = build_tree(ok, 50, 8, ops().sum);
    CHECK(ts::compute_graph(ok, {root})[0].as<std::int64_t>() == 1275);

    // A C++ object cannot travel.
    ts::Graph blob;
    blob.add(task(ts::Key("obj"), ops().blob, 0));
    CHECK_THROWS_WITH_AS(ts::compute_graph(blob, {ts::Key("obj")}),
                         "task 'obj': cannot send a value of C++ type dist_test::Blob to another process", ts::Error);

    // Delayed callables live in this process only.
    auto inc = ts::delayed([](std::int64_t i) { return i + 1; }, {.name = "inc"});
    const ts::Delayed d = inc(std::int64_t{1});
    CHECK_THROWS_WITH_AS(d.compute(),
                         fmt::format("task {} carries a C++ payload (operation 'tessera.delayed_call') and cannot "
                                     "run on a distributed cluster; use a registered operation",
                                     d.key().str()).c_str(),
                         ts::GraphError);

    // An operation the workers do not have.
    const ts::OpId only_here = ts::register_op("dtest.client_only", [](const ts::TaskContext&) { return ts::Value(); });
    ts::Graph unknown;
    unknown.add(task(ts::Key("u"), only_here, 0));
    CHECK_THROWS_WITH_AS(ts::compute_graph(unknown, {ts::Key("u")}),
                         "operation 'dtest.client_only' of task 'u' is not registered on any worker", ts::GraphError);
    CHECK(ts::compute_graph(ok, {root})[0].as<std::int64_t>() == 1275);
}

TEST_CASE("configuration errors" * doctest::timeout(60)) {
    CHECK_THROWS_WITH_AS(ts::Client("localhost:8786"), "scheduler address 'localhost:8786' is not of the form tcp://HOST:PORT",
                         ts::ConfigError);
    CHECK_THROWS_WITH_AS(ts::LocalCluster({.n_workers = 0}), "n_workers must be >= 1, got 0", ts::ConfigError);
    CHECK_THROWS_WITH_AS(ts::LocalCluster({.threads_per_worker = 0}), "threads_per_worker must be >= 1, got 0",
                         ts::ConfigError);
    CHECK_THROWS_WITH_AS(ts::LocalCluster({.worker_program = "/nonexistent/worker"}),
                         "worker program '/nonexistent/worker' is not an executable file", ts::IOError);
    // Nobody listening: the handshake times out.
    const int port = free_port();
    CHECK_THROWS_WITH_AS(ts::Client(fmt::format("tcp://127.0.0.1:{}", port), {.connect_timeout = 0.3}),
                         fmt::format("no answer from the scheduler at tcp://127.0.0.1:{} within 0.3 s", port).c_str(),
                         ts::WorkerError);
}

// Manual: test_distributed -tc="W7*" --no-skip. The W7 tree (100000 leaves, fan-in 8, 114289
// tasks) on 2 workers x 1 thread; prints the wall time per task.
TEST_CASE("W7 task overhead on a 2 x 1 cluster" * doctest::timeout(600) * doctest::skip()) {
    ts::LocalCluster cluster(self_workers(2));
    ts::Client client(cluster);
    ts::Graph g;
    const ts::Key root = build_tree(g, 100000, 8, ops().sum);
    REQUIRE(g.size() == 114289);
    for (int repeat = 0; repeat < 3; ++repeat) {
        const auto start = std::chrono::steady_clock::now();
        CHECK(ts::compute_graph(g, {root})[0].as<std::int64_t>() == 5000050000);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        MESSAGE(fmt::format("W7 distributed: {:.3f} s, {:.1f} us per task", seconds, 1e6 * seconds / 114289));
    }
}
