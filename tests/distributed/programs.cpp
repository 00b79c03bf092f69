// The tessera-scheduler and tessera-worker programs as separate processes.

#include <doctest/doctest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "helpers.hpp"
#include "tests/support/processes.hpp"
#include "tessera/array.hpp"
#include "tessera/error.hpp"

extern char** environ;

namespace ts = tessera;
using namespace dist_test;
using tessera::test::wait_exit;

namespace {

pid_t spawn(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    REQUIRE(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) == 0);
    return pid;
}

}  // namespace

TEST_CASE("tessera-scheduler and tessera-worker programs serve a client" * doctest::timeout(60)) {
    const int port = free_port();
    const std::string address = fmt::format("tcp://127.0.0.1:{}", port);
    const pid_t scheduler = spawn({program("tessera-scheduler"), "--port", std::to_string(port)});
    const pid_t worker_a = spawn({program("tessera-worker"), address, "--nthreads", "2", "--name", "a"});
    const pid_t worker_b = spawn({program("tessera-worker"), address, "--memory-limit", "1GiB", "--name", "b"});
    {
        // The scheduler may take a moment to bind: retry the handshake.
        std::unique_ptr<ts::Client> client;
        for (int attempt = 0; !client && attempt < 50; ++attempt) {
            try {
                client = std::make_unique<ts::Client>(address, ts::ClientOptions{.connect_timeout = 0.5});
            } catch (const ts::WorkerError&) {
            }
        }
        REQUIRE(client);
        for (int k = 0; k < 100 && client->n_workers() < 2; ++k) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        CHECK(client->n_workers() == 2);
        const ts::Array x = ts::random::normal(0, 1, {1 << 15}, {.chunks = 1 << 11, .seed = 11});
        const ts::Array y = (x * x).mean() + x.std();
        const double remote = y.compute().item<double>();
        CHECK(remote == y.compute({.scheduler = "sync"}).item<double>() );
    }
    ::kill(scheduler, SIGTERM);
    CHECK(wait_exit(scheduler, 10) == 0);
    // The scheduler tells its workers to shut down as it stops.
    CHECK(wait_exit(worker_a, 10) == 0);
    CHECK(wait_exit(worker_b, 10) == 0);
}

TEST_CASE("program arguments: non-loopback binding needs --insecure-bind-all; bad addresses" * doctest::timeout(60)) {
    CHECK(wait_exit(spawn({program("tessera-scheduler"), "--host", "0.0.0.0", "--port", "0"}), 10) == 2);
    CHECK(wait_exit(spawn({program("tessera-worker"), "localhost:8786"}), 10) == 1);
    CHECK(wait_exit(spawn({program("tessera-worker")}), 10) != 0);
    CHECK(wait_exit(spawn({program("tessera-worker"), "tcp://127.0.0.1:1", "--nthreads", "0"}), 10) != 0);
}
