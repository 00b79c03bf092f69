// The futures API on a real loopback cluster: submit, map, gather, wait, as_completed, scatter
// (with broadcast), cancel, task errors, and the release of keys when the last Future goes.

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include <fmt/ranges.h>

#include "helpers.hpp"
#include "scheduler/dist/messages.hpp"
#include "tessera/array.hpp"
#include "tessera/distributed.hpp"
#include "tessera/error.hpp"
#include "tessera/futures.hpp"
#include "tessera/version.hpp"

namespace ts = tessera;
namespace dist = tessera::dist;
using namespace dist_test;

namespace {

std::int64_t as_int(const ts::Value& v) { return v.as<std::int64_t>(); }

/// Results held by the workers, as the scheduler counts them (a raw client asking for Info).
std::int64_t held_on_workers(const std::string& address) {
    zmq::context_t context(1);
    zmq::socket_t s(context, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.connect(address);
    dist::Hello hello;
    hello.version = ts::version();
    dist::send(s, {}, dist::encode(hello));
    const auto next = [&](dist::MsgType type) {
        for (int k = 0; k < 200; ++k) {
            std::string identity;
            if (auto in = dist::receive(s, false, identity); in && in->type == type) return std::move(*in);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        throw ts::WorkerError("no {} from the scheduler", dist::to_string(type));
    };
    next(dist::MsgType::Welcome);
    dist::send(s, {}, dist::Outgoing(dist::MsgType::InfoRequest));
    dist::Incoming info = next(dist::MsgType::Info);
    const std::uint64_t n = info.r->get<std::uint64_t>();
    std::int64_t total = 0;
    for (std::uint64_t w = 0; w < n; ++w) {
        info.r->get_str();
        info.r->get_str();
        info.r->get<std::int32_t>();
        info.r->get<std::int64_t>();
        info.r->get<std::int64_t>();
        total += info.r->get<std::int64_t>();
        const std::uint64_t n_ops = info.r->get<std::uint64_t>();
        for (std::uint64_t o = 0; o < n_ops; ++o) info.r->get_str();
    }
    dist::send(s, {}, dist::Outgoing(dist::MsgType::Goodbye));
    return total;
}

/// Polls `held_on_workers` until it equals `expected` (releases travel asynchronously).
bool eventually_held(const std::string& address, std::int64_t expected) {
    for (int k = 0; k < 100; ++k) {
        if (held_on_workers(address) == expected) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
    return false;
}

}  // namespace

TEST_CASE("futures: submit, chains, map and gather give the closed-form results" * doctest::timeout(60)) {
    ts::LocalCluster cluster(self_workers(2));
    ts::Client client(cluster);

    ts::Future three = client.submit("dtest.sum", {1, 2});
    CHECK(as_int(three.result()) == 3);
    CHECK(three.status() == ts::FutureStatus::Finished);
    CHECK(three.done());
    CHECK(std::string(three.key().name()).starts_with("dtest.sum-"));
    // Pure: the same kernel and arguments are the same future.
    CHECK(client.submit("dtest.sum", {1, 2}) == three);
    CHECK_FALSE(client.submit("dtest.sum", {1, 2}, {.pure = false}) == three);

    // A chain: futures as arguments stay on the workers; literals of every kind travel along.
    ts::Future thirteen = client.submit("dtest.sum", {three, 10}, {.key = "thirteen"});
    ts::Future twice = client.submit("dtest.sum", {thirteen, thirteen, three});
    CHECK(thirteen.key() == ts::Key("thirteen"));
    CHECK(twice.result_as<std::int64_t>() == 29);

    // map over 0-d values, with and without explicit keys.
    std::vector<ts::Value> items;
    for (std::int64_t k = 0; k < 20; ++k) items.push_back(ts::Value::from(k * k));
    const std::vector<ts::Future> squares = client.map("dtest.sum", items);
    const std::vector<ts::Future> named = client.map("dtest.sum", items, {.key = "sq"});
    REQUIRE(squares.size() == 20);
    CHECK(named[7].key() == ts::Key("sq-7"));
    const std::vector<ts::Value> got = client.gather(squares);
    const std::vector<ts::Value> got_named = client.gather(named);
    for (std::int64_t k = 0; k < 20; ++k) {
        CHECK(as_int(got[static_cast<std::size_t>(k)]) == k * k);
        CHECK(as_int(got_named[static_cast<std::size_t>(k)]) == k * k);
    }
    CHECK(client.gather({}).empty());

    // Arrays: empty, size 1 and large ones, left on the workers and reduced there.
    for (std::int64_t n : {0, 1, 100000}) {
        CAPTURE(n);
        ts::Future filled = client.submit("dtest.fill", {n, 0.5});
        ts::Future total = client.submit("dtest.array_sum", {filled});
        CHECK(total.result_as<double>() == 0.5 * static_cast<double>(n));
        CHECK(filled.result().array().equals(ts::NDArray::full(ts::float64, {n}, ts::Scalar(0.5))));
    }

    // Refusals before sending.
    CHECK_THROWS_WITH_AS(client.submit("dtest.nope", {1}),
                         fmt::format("operation 'dtest.nope' is not registered on any worker of the cluster at {}",
                                     cluster.address()).c_str(),
                         ts::GraphError);
    CHECK_THROWS_WITH_AS(client.submit("dtest.sum", {ts::Future()}), "empty Future (default-constructed)",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(client.submit("dtest.sum", {ts::Value::from(Blob{1})}),
                         "cannot send a value of C++ type dist_test::Blob to another process", ts::Error);
    CHECK_THROWS_WITH_AS(ts::Future().result(), "empty Future (default-constructed)", ts::ValueError);
}

TEST_CASE("futures: wait, as_completed in completion order, cancel" * doctest::timeout(60)) {
    ts::LocalCluster cluster(self_workers(2, 2));
    ts::Client client(cluster);

    // Four threads: the three sleeps run at once and finish shortest first.
    const std::vector<ts::Future> sleeps = client.map(
        "dtest.sleep_ms", {ts::Value::from(600), ts::Value::from(20), ts::Value::from(300)});
    const ts::WaitResult first = ts::wait(sleeps, {.return_when = ts::ReturnWhen::FirstCompleted});
    REQUIRE(first.done.size() == 1);
    CHECK(first.done[0] == sleeps[1]);
    CHECK(first.not_done.size() == 2);
    const ts::WaitResult timed_out = ts::wait(sleeps, {.timeout = 0.01});
    CHECK(timed_out.not_done.size() >= 1);

    std::vector<std::int64_t> order;
    for (const ts::Future& f : ts::as_completed(sleeps)) order.push_back(f.result_as<std::int64_t>());
    CAPTURE(fmt::format("{}", fmt::join(order, ",")));
    CHECK(order == std::vector<std::int64_t>{20, 300, 600});
    const ts::WaitResult all = ts::wait(sleeps);
    CHECK(all.done.size() == 3);
    CHECK(all.not_done.empty());
    CHECK(ts::wait({}).done.empty());

    // Cancel a running task: it and its dependents are cancelled; the cluster keeps serving.
    ts::Future slow = client.submit("dtest.sleep_ms", {1500}, {.key = "slow"});
    ts::Future after = client.submit("dtest.sum", {slow, 1}, {.key = "after-slow"});
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    client.cancel({slow});
    CHECK(slow.status() == ts::FutureStatus::Cancelled);
    CHECK_THROWS_WITH_AS(slow.result(), "future 'slow' was cancelled", ts::CancelledError);
    REQUIRE(after.exception(10) != nullptr);
    CHECK(after.status() == ts::FutureStatus::Cancelled);
    CHECK_THROWS_WITH_AS(after.result(), "future 'slow' was cancelled", ts::CancelledError);
    ts::Future fresh = client.submit("dtest.sum", {5, 6});
    CHECK(fresh.result_as<std::int64_t>() == 11);
    fresh.cancel();  // finished: nothing to cancel
    CHECK(fresh.status() == ts::FutureStatus::Finished);
    CHECK(fresh.exception() == nullptr);
}

TEST_CASE("futures: a task's exception arrives with its key and message; the cluster keeps serving" *
          doctest::timeout(60)) {
    ts::LocalCluster cluster(self_workers(2));
    ts::Client client(cluster);

    ts::Future bad = client.submit("dtest.fail", {1}, {.key = "bad"});
    ts::Future after = client.submit("dtest.sum", {bad, 1}, {.key = "after"});
    ts::Future good = client.submit("dtest.sum", {40, 2});
    CHECK_THROWS_WITH_AS(bad.result(), "task 'bad': boom 0", ts::ValueError);
    CHECK(bad.status() == ts::FutureStatus::Error);
    CHECK(bad.exception() != nullptr);
    // Dependents fail with the error of the task that failed.
    CHECK_THROWS_WITH_AS(after.result(), "task 'bad': boom 0", ts::ValueError);
    CHECK(after.status() == ts::FutureStatus::Error);
    CHECK_THROWS_WITH_AS(client.gather({good, after}), "task 'bad': boom 0", ts::ValueError);
    // A dependent submitted after the failure fails at once.
    CHECK_THROWS_WITH_AS(client.submit("dtest.sum", {bad, 2}).result(), "task 'bad': boom 0", ts::ValueError);
    // C++ objects cannot leave the worker.
    CHECK_THROWS_WITH_AS(client.submit("dtest.blob", {}, {.key = "obj"}).result(),
                         "task 'obj': cannot send a value of C++ type dist_test::Blob to another process", ts::Error);

    CHECK(good.result_as<std::int64_t>() == 42);
    CHECK(client.submit("dtest.sum", {good, 8}).result_as<std::int64_t>() == 50);
    ts::Graph g;
    const ts::Key root = build_tree(g, 40, 8, ops().sum);
    CHECK(ts::compute_graph(g, {root})[0].as<std::int64_t>() == 820);
}

TEST_CASE("futures: scatter, broadcast to every worker, release of the last handle" * doctest::timeout(60)) {
    ts::LocalCluster cluster(self_workers(2));
    ts::Client client(cluster);
    REQUIRE(eventually_held(cluster.address(), 0));

    const ts::NDArray data = ts::NDArray::full(ts::float64, {50000}, ts::Scalar(2.0));
    {
        const std::vector<ts::Future> shared = client.scatter({ts::Value(data)}, {.broadcast = true});
        REQUIRE(shared.size() == 1);
        REQUIRE(ts::wait(shared, {.timeout = 20}).not_done.empty());
        const std::vector<std::string> holders = client.who_has(shared[0]);
        CHECK(holders.size() == 2);
        CHECK(std::set<std::string>(holders.begin(), holders.end()).size() == 2);

        std::vector<ts::Future> uses;
        for (std::int64_t k = 0; k < 8; ++k) uses.push_back(client.submit("dtest.array_sum", {shared[0], k}));
        const std::vector<ts::Value> sums = client.gather(uses);
        for (std::int64_t k = 0; k < 8; ++k) CHECK(sums[static_cast<std::size_t>(k)].as<double>() == 100000.0 + static_cast<double>(k));
        CHECK(shared[0].result().array().equals(data));

        // Without broadcast: one copy; a list and a 0-d value travel as they are.
        std::vector<ts::Future> placed = client.scatter(
            {ts::Value(data), ts::Value(ts::ValueList{ts::Value::from(1), ts::Value::from(2.5)}), ts::Value::from(7)});
        REQUIRE(placed.size() == 3);
        REQUIRE(ts::wait(placed, {.timeout = 20}).not_done.empty());
        CHECK(client.who_has(placed[0]).size() == 1);
        const std::vector<ts::Value> back = client.gather(placed);
        CHECK(back[0].array().equals(data));
        CHECK(back[1].list().size() == 2);
        CHECK(back[1].list()[1].as<double>() == 2.5);
        CHECK(back[2].as<std::int64_t>() == 7);
        // Held now: 2 broadcast copies + 3 scattered + 8 sums.
        CHECK(eventually_held(cluster.address(), 13));

        // A copy of a Future keeps its key alive; dropping the last handle frees it.
        ts::Future copy = placed[2];
        placed.clear();
        CHECK(eventually_held(cluster.address(), 11));
        CHECK(copy.result_as<std::int64_t>() == 7);
        copy = ts::Future();
        CHECK(eventually_held(cluster.address(), 10));
    }
    // Every handle gone: the workers hold nothing.
    CHECK(eventually_held(cluster.address(), 0));
}

TEST_CASE("persist keeps blocks on the workers; later computes read them in place" * doctest::timeout(60)) {
    ts::LocalCluster cluster(self_workers(2));
    ts::Client client(cluster);
    REQUIRE(eventually_held(cluster.address(), 0));

    const ts::Array x = ts::random::uniform(0, 1, {1000, 30}, {.chunks = {256, 16}, .seed = 11});  // 4 x 2 blocks
    const ts::Array expr = x * 2.0 + 1.0;
    {
        const ts::Array kept = client.persist(expr);
        CHECK(kept.shape() == expr.shape());
        CHECK(kept.chunks() == expr.chunks());
        CHECK(eventually_held(cluster.address(), 8));
        const ts::NDArray whole = kept.compute();
        const ts::NDArray sums = kept.sum({0}).compute();
        const ts::NDArray mean = (kept - 1.0).mean().compute();
        // The blocks stay: the computes above moved only their results.
        CHECK(eventually_held(cluster.address(), 8));
        // A persisted array over a persisted array; empty and 0-d arrays.
        const ts::Array twice = client.persist(kept * 2.0);
        const ts::NDArray twice_whole = twice.compute();
        const ts::Array empty = client.persist(ts::zeros({0, 3}, {.chunks = {2, 2}}));
        CHECK(empty.compute().size() == 0);
        const ts::Array zero_d = client.persist(ts::from_array(ts::NDArray::scalar(ts::Scalar(2.5))) * 2.0);
        CHECK(zero_d.compute().item<double>() == 5.0);

        auto restore = ts::use_scheduler(ts::make_thread_scheduler(2));
        CHECK(whole.equals(expr.compute()));
        CHECK(sums.equals(expr.sum({0}).compute()));
        CHECK(mean.equals((expr - 1.0).mean().compute()));
        CHECK(twice_whole.equals((expr * 2.0).compute()));
        // Another scheduler cannot read remote blocks.
        auto sync = ts::use_scheduler(ts::make_sync_scheduler());
        const std::string key = ts::Key(kept.name(), {0, 0}).str();
        CHECK_THROWS_WITH_AS(kept.compute(),
                             fmt::format("task {}: block {} is held on a distributed cluster; compute it with the "
                                         "Client that persisted it", key, key).c_str(),
                             ts::Error);
    }
    // The last handles are gone: the blocks are freed everywhere.
    CHECK(eventually_held(cluster.address(), 0));
}
