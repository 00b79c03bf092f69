// Failures on a live cluster: a worker SIGKILLed mid-computation, a task that kills every worker
// running it, a client that disappears mid-run.

#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <future>
#include <thread>

#include "helpers.hpp"
#include "scheduler/dist/messages.hpp"
#include "tessera/error.hpp"
#include "tessera/version.hpp"

namespace ts = tessera;
namespace dist = tessera::dist;
using namespace dist_test;

TEST_CASE("a worker SIGKILLed mid-computation: lost results are recomputed, the answer is right" * doctest::timeout(60)) {
    ts::LocalCluster cluster(self_workers(2));
    ts::Client client(cluster);
    ts::Graph g;
    const ts::Key root = build_tree(g, 200, 4, ops().slow_sum);  // 67 tasks of 40 ms
    const std::vector<ts::Key> keys{root};
    const int victim = cluster.worker_pids()[0];
    auto remote = std::async(std::launch::async, [&] { return ts::compute_graph(g, keys).at(0).as<std::int64_t>(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    cluster.signal_worker(0, SIGKILL);
    CHECK(remote.get() == 200 * 201 / 2);
    // The nanny started a new worker in the dead one's slot.
    CHECK(cluster.worker_pids()[0] != victim);
    CHECK(cluster.wait_for_workers(2, 20));
    CHECK(ts::compute_graph(g, keys, {}).at(0).as<std::int64_t>() == 200 * 201 / 2);
}

TEST_CASE("a task that killed 3 workers fails with KilledWorker; the cluster keeps serving" * doctest::timeout(60)) {
    ts::LocalCluster cluster(self_workers(2));
    ts::Client client(cluster);
    ts::Graph g;
    g.add(task(ts::Key("in"), ops().konst, 1));
    g.add(task(ts::Key("killer"), ops().kill, 0, {ts::Key("in")}));
    std::string message;
    CHECK_THROWS_AS(
        [&] {
            try {
                ts::compute_graph(g, {ts::Key("killer")});
            } catch (const ts::KilledWorker& e) {
                message = e.what();
                throw;
            }
        }(),
        ts::KilledWorker);
    CHECK(message.starts_with("task 'killer' killed 3 workers; the last one was local-"));
    REQUIRE(cluster.wait_for_workers(2, 20));
    ts::Graph ok;
    const ts::Key root = build_tree(ok, 30, 8, ops().sum);
    CHECK(ts::compute_graph(ok, {root})[0].as<std::int64_t>() == 465);
}

TEST_CASE("a client gone mid-run leaves the scheduler serving" * doctest::timeout(60)) {
    ts::LocalCluster cluster(self_workers(2));
    {
        // A raw client: hello, a slow graph, then the socket closes without a word.
        zmq::context_t context(1);
        zmq::socket_t socket(context, zmq::socket_type::dealer);
        socket.set(zmq::sockopt::linger, 1000);
        socket.connect(cluster.address());
        dist::Hello hello;
        hello.version = ts::version();
        hello.role = dist::Role::Client;
        REQUIRE(dist::send(socket, {}, dist::encode(hello)));
        dist::Submit submit;
        submit.run = 1;
        for (std::int64_t k = 0; k < 40; ++k) {
            dist::TaskSpec spec;
            spec.key = ts::Key("orphan", {k});
            spec.op = "dtest.slow_sum";
            spec.params = encode(k);
            spec.priority = k;
            submit.tasks.push_back(std::move(spec));
            submit.outputs.push_back(k);
        }
        REQUIRE(dist::send(socket, {}, dist::encode(std::move(submit))));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ts::Client client(cluster);
    ts::Graph g;
    const ts::Key root = build_tree(g, 64, 8, ops().sum);
    CHECK(ts::compute_graph(g, {root})[0].as<std::int64_t>() == 64 * 65 / 2);
    CHECK(client.n_workers() == 2);
}
