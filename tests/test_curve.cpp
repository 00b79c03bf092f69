// ZeroMQ CURVE on the cluster (scheduler/dist/security.*): keys from tessera-keygen, a secured
// cluster computing like the threads scheduler, clients and workers without the key or with
// another one refused with exact messages within their timeout, non-loopback binds, and the
// bytes on the wire (through a recording TCP relay) carrying no plaintext.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <zmq.hpp>

#include "scheduler/dist/curve_keys.hpp"
#include "scheduler/dist/messages.hpp"
#include "support/processes.hpp"
#include "support/temp_dir.hpp"
#include "tessera/array.hpp"
#include "tessera/distributed.hpp"
#include "tessera/error.hpp"
#include "tessera/version.hpp"

extern char** environ;

namespace ts = tessera;
namespace dist = tessera::dist;
using tessera::test::wait_exit;

namespace {

using Clock = std::chrono::steady_clock;

std::string program(const std::string& name) { return std::string(TESSERA_BINARY_DIR) + "/" + name; }

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

// Starts `args`; stderr goes to `stderr_path` when given.
pid_t spawn(const std::vector<std::string>& args, const std::string& stderr_path = {}) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    if (!stderr_path.empty())
        ::posix_spawn_file_actions_addopen(&actions, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    return pid;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A key directory made by the tessera-keygen program.
std::string keygen(const test_support::TempDir& dir, const std::string& name) {
    const std::string path = dir / name;
    REQUIRE(wait_exit(spawn({program("tessera-keygen"), path}), 20) == 0);
    return path;
}

// Tests choose their keys explicitly.
void unset_keys_env() { ::unsetenv(dist::kCurveKeysEnv); }

ts::Array test_array() {
    const ts::Array x = ts::random::normal(1.0, 2.0, {1 << 14}, {.chunks = 1 << 10, .seed = 5});
    return ((x * 3.0 + 1.0) / 2.0 - ts::sqrt(ts::abs(x))).sum() + x.std();
}

// The threads scheduler's answer for test_array().
double threads_answer() { return test_array().compute({.scheduler = "threads", .num_threads = 2}).item<double>(); }

// A TCP relay on a free loopback port forwarding to `target_port`, recording every byte.
class Relay {
public:
    explicit Relay(int target_port) : target_port_(target_port) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(listen_fd_, 8) == 0);
        socklen_t len = sizeof addr;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { loop(); });
    }
    ~Relay() {
        stop_ = true;
        thread_.join();
        for (int fd : opened_) ::close(fd);
        ::close(listen_fd_);
    }
    std::string address() const { return fmt::format("tcp://127.0.0.1:{}", port_); }
    std::string captured() {
        std::lock_guard lock(mutex_);
        return captured_;
    }

private:
    void loop() {
        while (!stop_) {
            std::vector<pollfd> polls{{listen_fd_, POLLIN, 0}};
            for (int fd : fds_) polls.push_back({fd, POLLIN, 0});
            ::poll(polls.data(), polls.size(), 50);
            if (polls[0].revents & POLLIN) {
                const int in = ::accept(listen_fd_, nullptr, nullptr);
                const int out = ::socket(AF_INET, SOCK_STREAM, 0);
                sockaddr_in addr{};
                addr.sin_family = AF_INET;
                addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                addr.sin_port = htons(static_cast<std::uint16_t>(target_port_));
                if (in >= 0 && ::connect(out, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
                    fds_.push_back(in);
                    fds_.push_back(out);
                    opened_.push_back(in);
                    opened_.push_back(out);
                } else {
                    ::close(in);
                    ::close(out);
                }
                continue;
            }
            // fds_ holds pairs: [client side, scheduler side].
            for (std::size_t k = 1; k < polls.size(); ++k) {
                if (!(polls[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                const std::size_t index = k - 1;
                const int peer = opened_[index ^ 1];
                char buffer[65536];
                const ssize_t n = ::read(polls[k].fd, buffer, sizeof buffer);
                if (n <= 0) {
                    ::shutdown(peer, SHUT_WR);
                    fds_[index] = -1;  // poll skips it from now on
                    continue;
                }
                std::lock_guard lock(mutex_);
                captured_.append(buffer, static_cast<std::size_t>(n));
                for (ssize_t done = 0; done < n;) {
                    const ssize_t w = ::write(peer, buffer + done, static_cast<std::size_t>(n - done));
                    if (w <= 0) break;
                    done += w;
                }
            }
        }
    }

    int target_port_, listen_fd_ = -1, port_ = 0;
    std::vector<int> fds_, opened_;  // pairs [client side, scheduler side]; fds_ has -1 after EOF
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::string captured_;
    std::thread thread_;
};

int port_of(const std::string& address) { return std::stoi(address.substr(address.rfind(':') + 1)); }

using SocketSetup = std::function<void(zmq::socket_t&)>;

// A raw DEALER sends `message`; true when the peer answers within `seconds`.
bool raw_answered(const std::string& address, const SocketSetup& setup, dist::Outgoing&& message, double seconds) {
    zmq::context_t context;
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, 0);
    setup(socket);
    socket.connect(address);
    dist::send(socket, {}, std::move(message));
    std::vector<zmq::pollitem_t> items{{socket.handle(), 0, ZMQ_POLLIN, 0}};
    return zmq::poll(items, std::chrono::milliseconds(static_cast<int>(seconds * 1000))) > 0;
}

// A valid Hello to a scheduler.
bool raw_hello_answered(const std::string& address, const SocketSetup& setup, double seconds) {
    dist::Hello hello;
    hello.version = ts::version();
    hello.role = dist::Role::Client;
    hello.name = "raw";
    hello.pid = ::getpid();
    return raw_answered(address, setup, dist::encode(hello), seconds);
}

// A valid GetData to a worker's peer socket (for a task it does not hold: it still answers).
bool raw_get_data_answered(const std::string& address, const SocketSetup& setup, double seconds) {
    dist::Outgoing out(dist::MsgType::GetData);
    out.w.put(std::uint64_t{1});
    out.w.put_i64s({987654321});
    return raw_answered(address, setup, std::move(out), seconds);
}

SocketSetup with_keys(const dist::CurveKeys& server, const dist::CurveKeys& own) {
    return [=](zmq::socket_t& s) {
        s.set(zmq::sockopt::curve_serverkey, server.public_key);
        s.set(zmq::sockopt::curve_publickey, own.public_key);
        s.set(zmq::sockopt::curve_secretkey, own.secret_key);
    };
}

void no_keys(zmq::socket_t&) {}

}  // namespace

TEST_CASE("tessera-keygen writes a usable key pair; unusable key files are refused" * doctest::timeout(60)) {
    REQUIRE(dist::curve_available());
    test_support::TempDir dir("tessera_curve");
    const std::string keys = keygen(dir, "keys");
    const std::string secret_path = keys + "/cluster.key_secret";
    struct stat st{};
    REQUIRE(::stat(secret_path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    const dist::CurveKeys read = dist::read_curve_keys(keys);
    CHECK(read.public_key.size() == 40);
    CHECK(read.secret_key.size() == 40);
    CHECK(read.public_key + "\n" == read_file(keys + "/cluster.key"));
    CHECK(read.secret_key + "\n" == read_file(secret_path));
    CHECK(read.public_key != read.secret_key);

    // No silent replacement; --force makes a new pair.
    CHECK(wait_exit(spawn({program("tessera-keygen"), keys}, dir / "keygen.err"), 20) == 1);
    CHECK(read_file(dir / "keygen.err") ==
          fmt::format("tessera-keygen: {} already exists; pass --force to replace the cluster key\n", secret_path));
    CHECK(dist::read_curve_keys(keys).secret_key == read.secret_key);
    CHECK(wait_exit(spawn({program("tessera-keygen"), keys, "--force"}), 20) == 0);
    CHECK(dist::read_curve_keys(keys).secret_key != read.secret_key);

    const std::string missing = dir / "missing";
    CHECK_THROWS_WITH_AS(dist::read_curve_keys(missing),
                         fmt::format("no CURVE key in '{0}': cannot read {0}/cluster.key_secret (create one with "
                                     "tessera-keygen)",
                                     missing)
                             .c_str(),
                         ts::ConfigError);
    ::chmod(secret_path.c_str(), 0640);
    CHECK_THROWS_WITH_AS(dist::read_curve_keys(keys),
                         fmt::format("{} is accessible by other users (mode 0640); run chmod 600 on it", secret_path)
                             .c_str(),
                         ts::ConfigError);
    ::chmod(secret_path.c_str(), 0600);
    {
        std::ofstream(keys + "/cluster.key") << dist::generate_curve_keys().public_key << "\n";
    }
    CHECK_THROWS_WITH_AS(dist::read_curve_keys(keys),
                         fmt::format("{}/cluster.key does not match {}; regenerate both with tessera-keygen --force",
                                     keys, secret_path)
                             .c_str(),
                         ts::ConfigError);
    {
        std::ofstream(secret_path) << "not a key\n";
    }
    CHECK_THROWS_WITH_AS(dist::read_curve_keys(keys),
                         fmt::format("{} does not hold a CURVE secret key (40 Z85 characters)", secret_path).c_str(),
                         ts::ConfigError);

    // The bind policy.
    CHECK_NOTHROW(dist::check_bind_allowed("x", "127.0.0.1", false, false));
    CHECK_NOTHROW(dist::check_bind_allowed("x", "localhost", false, false));
    CHECK_NOTHROW(dist::check_bind_allowed("x", "0.0.0.0", true, false));
    CHECK_NOTHROW(dist::check_bind_allowed("x", "0.0.0.0", false, true));
    CHECK_THROWS_WITH_AS(dist::check_bind_allowed("the worker's peer socket", "10.1.2.3", false, false),
                         "refusing to bind the worker's peer socket to non-loopback host '10.1.2.3' without CURVE "
                         "keys (--curve-key-dir or TESSERA_CURVE_KEYS) or --insecure-bind-all",
                         ts::ConfigError);
    // LocalCluster checks its keys (option, else TESSERA_CURVE_KEYS) before starting anything;
    // so does tessera-scheduler.
    const std::string no_key = fmt::format(
        "no CURVE key in '{0}': cannot read {0}/cluster.key_secret (create one with tessera-keygen)", missing);
    unset_keys_env();
    CHECK_THROWS_WITH_AS(ts::LocalCluster({.n_workers = 1, .curve_key_dir = missing}), no_key.c_str(),
                         ts::ConfigError);
    ::setenv(dist::kCurveKeysEnv, missing.c_str(), 1);
    CHECK_THROWS_WITH_AS(ts::LocalCluster({.n_workers = 1}), no_key.c_str(), ts::ConfigError);
    unset_keys_env();
    CHECK(wait_exit(spawn({program("tessera-scheduler"), "--port", "0", "--dashboard-port", "0", "--curve-key-dir", missing},
                          dir / "scheduler.err"),
                    10) == 1);
    CHECK(read_file(dir / "scheduler.err") == fmt::format("tessera-scheduler: {}\n", no_key));
}

TEST_CASE("a secured LocalCluster computes like the threads scheduler" * doctest::timeout(60)) {
    unset_keys_env();
    test_support::TempDir dir("tessera_curve");
    const std::string keys = keygen(dir, "keys");
    ts::LocalCluster cluster({.n_workers = 2, .threads_per_worker = 1, .curve_key_dir = keys});
    CHECK(cluster.curve_key_dir() == keys);
    ts::Client client(cluster);
    CHECK(client.n_workers() == 2);
    const double expected = threads_answer();
    CHECK(test_array().compute().item<double>() == expected);

    // Blocks kept on the workers and read by later computes (worker-to-worker fetches), and
    // values fetched by the client straight from the workers' peer sockets.
    const ts::Array x = ts::random::uniform(0, 1, {4000}, {.chunks = 250, .seed = 9});
    const ts::Array kept = client.persist(x * 2.0);
    const double local_sum = (x * 2.0).sum().compute({.scheduler = "threads", .num_threads = 2}).item<double>();
    CHECK(kept.sum().compute().item<double>() == doctest::Approx(local_sum).epsilon(1e-12));
    const std::vector<ts::Future> placed = client.scatter({ts::Value::from(std::int64_t{41}), ts::Value::from(2.5)});
    const std::vector<ts::Value> back = client.gather(placed, 20);
    REQUIRE(back.size() == 2);
    CHECK(back[0].as<std::int64_t>() == 41);
    CHECK(back[1].as<double>() == 2.5);

    // The workers' peer sockets are CURVE servers too: only the key holder gets an answer.
    const std::vector<std::string> holders = client.who_has(placed[0]);
    REQUIRE(holders.size() == 1);
    const dist::CurveKeys cluster_keys = dist::read_curve_keys(keys);
    const dist::CurveKeys own = dist::generate_curve_keys();
    CHECK(raw_get_data_answered(holders[0], with_keys(cluster_keys, cluster_keys), 5));
    CHECK_FALSE(raw_get_data_answered(holders[0], no_keys, 1.5));
    CHECK_FALSE(raw_get_data_answered(holders[0], with_keys(cluster_keys, own), 1.5));
}

TEST_CASE("clients without the key or with another key are refused within their timeout" * doctest::timeout(60)) {
    unset_keys_env();
    test_support::TempDir dir("tessera_curve");
    const std::string keys = keygen(dir, "keys");
    const std::string other = keygen(dir, "other");
    ts::LocalCluster cluster({.n_workers = 1, .curve_key_dir = keys});
    const std::string address = cluster.address();
    const auto refused = [&](const std::string& reason) {
        return fmt::format("the scheduler at {} refused the connection: {}", address, reason);
    };
    const auto quick = [](double seconds) { return seconds < 4.0; };

    auto start = Clock::now();
    CHECK_THROWS_WITH_AS(ts::Client(address, {.connect_timeout = 5}),
                         refused("it requires a CURVE key and this client has none (set TESSERA_CURVE_KEYS or "
                                 "ClientOptions::curve_key_dir)")
                             .c_str(),
                         ts::ProtocolError);
    CHECK(quick(std::chrono::duration<double>(Clock::now() - start).count()));

    start = Clock::now();
    CHECK_THROWS_WITH_AS(ts::Client(address, {.connect_timeout = 5, .curve_key_dir = other}),
                         refused(fmt::format("it did not accept the CURVE key in {} (another cluster's key, or a scheduler "
                                             "without keys)",
                                             other)).c_str(), ts::ProtocolError);
    CHECK(quick(std::chrono::duration<double>(Clock::now() - start).count()));

    // The environment configures unmodified programs: another key is refused, the right one works.
    ::setenv(dist::kCurveKeysEnv, other.c_str(), 1);
    CHECK_THROWS_WITH_AS(ts::Client(address, {.connect_timeout = 5}),
                         refused(fmt::format("it did not accept the CURVE key in {} (another cluster's key, or a scheduler "
                                             "without keys)",
                                             other)).c_str(), ts::ProtocolError);
    ::setenv(dist::kCurveKeysEnv, keys.c_str(), 1);
    {
        ts::Client client(address);
        CHECK(client.n_workers() == 1);
        CHECK(test_array().compute().item<double>() == threads_answer());
    }
    unset_keys_env();

    // A keyed client against a cluster without keys.
    ts::LocalCluster plain({.n_workers = 1});
    CHECK(plain.curve_key_dir().empty());
    CHECK_THROWS_WITH_AS(ts::Client(plain.address(), {.connect_timeout = 5, .curve_key_dir = keys}),
                         fmt::format("the scheduler at {} refused the connection: it did not accept the CURVE "
                                     "key in {} (another cluster's key, or a scheduler without keys)",
                                     plain.address(), keys)
                             .c_str(),
                         ts::ProtocolError);

    // Raw sockets sending a valid Hello: only the key holder is answered (positive control), a
    // plain socket and a socket presenting its own key pair never deliver a message.
    const dist::CurveKeys cluster_keys = dist::read_curve_keys(keys);
    const dist::CurveKeys own = dist::generate_curve_keys();
    CHECK(raw_hello_answered(address, with_keys(cluster_keys, cluster_keys), 5));
    CHECK_FALSE(raw_hello_answered(address, no_keys, 1.5));
    CHECK_FALSE(raw_hello_answered(address, with_keys(cluster_keys, own), 1.5));
    CHECK_FALSE(raw_hello_answered(address, with_keys(own, own), 1.5));

    // The cluster still serves its own clients.
    ts::Client client(cluster);
    CHECK(test_array().compute().item<double>() == threads_answer());
}

TEST_CASE("traffic on the wire: plaintext without keys, none with CURVE" * doctest::timeout(60)) {
    unset_keys_env();
    test_support::TempDir dir("tessera_curve");
    const std::string keys = keygen(dir, "keys");
    // The client's Hello carries its name "client-PID"; Submit carries the constant's bytes.
    const std::string name = fmt::format("client-{}", ::getpid());
    ts::NDArray data = ts::NDArray::empty(ts::float64, {64});
    for (std::int64_t k = 0; k < 64; ++k) data.set({k}, ts::Scalar(1234.5678125 + static_cast<double>(k)));
    std::string data_bytes(8 * 4, '\0');
    for (std::int64_t k = 0; k < 4; ++k) {
        const double v = 1234.5678125 + static_cast<double>(k);
        std::memcpy(data_bytes.data() + 8 * k, &v, 8);
    }
    const ts::Array doubled = ts::from_array(data, {16}) * 2.0;
    const double expected = doubled.sum().compute({.scheduler = "sync"}).item<double>();

    for (const bool secured : {false, true}) {
        CAPTURE(secured);
        ts::LocalCluster cluster({.n_workers = 1, .curve_key_dir = secured ? keys : std::string()});
        Relay relay(port_of(cluster.address()));
        {
            ts::Client client(relay.address(), {.curve_key_dir = secured ? keys : std::string()});
            CHECK(doubled.sum().compute().item<double>() == expected);
        }
        const std::string wire = relay.captured();
        CHECK(wire.size() > 200);
        CHECK((wire.find(name) != std::string::npos) == !secured);
        CHECK((wire.find(data_bytes) != std::string::npos) == !secured);
    }
}

TEST_CASE("programs: a worker with another key never gets work; non-loopback binds need keys" * doctest::timeout(60)) {
    unset_keys_env();
    test_support::TempDir dir("tessera_curve");
    const std::string keys = keygen(dir, "keys");
    const std::string other = keygen(dir, "other");
    const int port = free_port();
    const std::string address = fmt::format("tcp://127.0.0.1:{}", port);
    const pid_t scheduler = spawn({program("tessera-scheduler"), "--port", std::to_string(port), "--dashboard-port", "0",
                                   "--curve-key-dir", keys},
                                  dir / "scheduler.err");
    std::unique_ptr<ts::Client> client;
    for (int attempt = 0; !client && attempt < 50; ++attempt) {
        try {
            client = std::make_unique<ts::Client>(address, ts::ClientOptions{.connect_timeout = 0.5, .curve_key_dir = keys});
        } catch (const ts::WorkerError&) {
        }
    }
    REQUIRE(client);

    // Another key, and no key: the worker exits with a message and never registers.
    CHECK(wait_exit(spawn({program("tessera-worker"), address, "--curve-key-dir", other, "--name", "intruder"},
                          dir / "intruder.err"),
                    10) == 1);
    CHECK(read_file(dir / "intruder.err") ==
          fmt::format("tessera intruder: the scheduler at {} refused this worker: it did not accept the CURVE key "
                      "in {} (another cluster's key, or a scheduler without keys)\n",
                      address, other));
    CHECK(wait_exit(spawn({program("tessera-worker"), address, "--name", "plain"}, dir / "plain.err"), 10) == 1);
    CHECK(read_file(dir / "plain.err") ==
          fmt::format("tessera plain: the scheduler at {} refused this worker: it requires a CURVE key and this "
                      "worker has none (pass --curve-key-dir or set TESSERA_CURVE_KEYS)\n",
                      address));
    CHECK(client->n_workers() == 0);

    // The key holder may bind its peer socket beyond loopback, and works.
    const pid_t worker = spawn({program("tessera-worker"), address, "--curve-key-dir", keys, "--host", "0.0.0.0"});
    for (int k = 0; k < 100 && client->n_workers() < 1; ++k) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(client->n_workers() == 1);
    CHECK(test_array().compute().item<double>() == threads_answer());
    client.reset();

    // Without keys, non-loopback binds are refused: the scheduler exits 2, the worker 1.
    CHECK(wait_exit(spawn({program("tessera-scheduler"), "--host", "0.0.0.0", "--port", "0"}), 10) == 2);
    CHECK(wait_exit(spawn({program("tessera-worker"), "tcp://127.0.0.1:1", "--host", "0.0.0.0", "--name", "open"},
                          dir / "open.err"),
                    10) == 1);
    CHECK(read_file(dir / "open.err") ==
          "tessera worker: refusing to bind the worker's peer socket to non-loopback host '0.0.0.0' without CURVE "
          "keys (--curve-key-dir or TESSERA_CURVE_KEYS) or --insecure-bind-all\n");
    // With keys the scheduler may listen on every interface.
    const pid_t open_scheduler = spawn({program("tessera-scheduler"), "--host", "0.0.0.0", "--port", "0",
                                        "--dashboard-port", "0", "--curve-key-dir", keys});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::kill(open_scheduler, SIGTERM);
    CHECK(wait_exit(open_scheduler, 10) == 0);

    ::kill(scheduler, SIGTERM);
    CHECK(wait_exit(scheduler, 10) == 0);
    CHECK(wait_exit(worker, 10) == 0);
    // The scheduler logged both refusals.
    const std::string scheduler_log = read_file(dir / "scheduler.err");
    CAPTURE(scheduler_log);
    const std::string line = "tessera scheduler: rejected a connection that failed the CURVE handshake (no key or "
                             "another cluster's key; event ";
    const auto first = scheduler_log.find(line);
    CHECK(first != std::string::npos);
    CHECK(scheduler_log.find(line, first + 1) != std::string::npos);
}
