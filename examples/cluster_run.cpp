// A cluster run with the real programs: this example starts `tessera-scheduler` and two
// `tessera-worker` processes itself, connects with ts::Client("tcp://127.0.0.1:PORT"), runs the
// swath-gridding workflow of swath_gridding.cpp (L2 NetCDF granules → per-granule 0.1° grids on
// the workers → L3 nanmean → Zarr + map), and shuts everything down cleanly (SIGTERM, waitpid).
//
// The gridding kernel "swath.grid_match" is the example's own code, built as a shared library
// (libtessera_example_swath.so, examples/swath/): this program links it, and the workers load it
// with `tessera-worker ... --preload libtessera_example_swath.so`, as one would start workers on
// a real cluster for a project with its own kernels (Dask's `dask-worker --preload`). Without
// --preload the scheduler would refuse the submit ("operation 'swath.grid_match' is not
// registered on any worker"). The programs are the build tree's (TESSERA_EXAMPLE_SCHEDULER_PROGRAM,
// TESSERA_EXAMPLE_WORKER_PROGRAM, TESSERA_EXAMPLE_SWATH_LIBRARY from examples/CMakeLists.txt;
// $TESSERA_SCHEDULER_PROGRAM and $TESSERA_WORKER_PROGRAM override the first two).
//
// Dashboard: tessera-scheduler serves the cluster's dashboard on --dashboard-port (here a free
// port; it prints "tessera scheduler: dashboard at URL" on stderr) and this program prints the
// URL too: open it while the example runs to see the workers, the task stream of their threads
// and the progress of the array computations (the L3 reduction and the Zarr write).
//
//   cluster_run [--out DIR]            30 full-size granules
//   cluster_run --small [--out DIR]    6 small granules; checked against a direct loop
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <tessera/tessera.hpp>

#include "example_main.hpp"

#include "swath/swath.hpp"

extern char** environ;

namespace ts = tessera;

namespace {

// A child process, stopped with SIGTERM (then SIGKILL after 5 s) when the handle goes away.
class Process {
public:
    Process(std::string name, std::vector<std::string> args) : name_(std::move(name)) {
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        if (int rc = ::posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ); rc != 0)
            throw ts::IOError("cannot start {} ('{}'): {}", name_, args[0], std::strerror(rc));
    }
    ~Process() { stop(); }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    int pid() const { return pid_; }
    /// SIGTERM (unless `signal` is false: wait for the process to end by itself), wait up to
    /// 5 s, then SIGKILL; returns how it ended.
    std::string stop(bool signal = true) {
        if (pid_ <= 0) return "not running";
        if (signal) ::kill(pid_, SIGTERM);
        int status = 0;
        for (int waited = 0; waited < 500; ++waited) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = 0;
                return WIFEXITED(status) ? fmt::format("exit code {}", WEXITSTATUS(status))
                                         : fmt::format("signal {}", WTERMSIG(status));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = 0;
        return "killed after 5 s";
    }

private:
    std::string name_;
    pid_t pid_ = 0;
};

// A free loopback TCP port (bound and released; the scheduler binds it right after).
int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        if (fd >= 0) ::close(fd);
        throw ts::IOError("cannot find a free TCP port: {}", std::strerror(errno));
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

// Connects once the scheduler listens (it needs a moment after the spawn).
std::unique_ptr<ts::Client> connect(const std::string& address, double timeout_seconds) {
    auto t0 = std::chrono::steady_clock::now();
    for (;;) {
        try {
            return std::make_unique<ts::Client>(address, ts::ClientOptions{.connect_timeout = 2});
        } catch (const ts::WorkerError&) {
            if (swath::seconds_since(t0) > timeout_seconds) throw;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
}

int run(int argc, char** argv) {
    bool small = false;
    std::string out = "granules_cluster";
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--small") small = true;
        else if (arg == "--out" && i + 1 < argc) out = argv[++i];
        else {
            fmt::print(stderr, "usage: {} [--small] [--out DIR]\n", argv[0]);
            return 2;
        }
    }
    swath::GranuleConfig config = small ? swath::small_config() : swath::full_config();
    const swath::Grid& grid = config.grid;
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> paths = swath::write_granules(std::filesystem::absolute(out).string(), config);
    fmt::print("wrote {} L2 granules to {}/ in {:.2f} s\n", paths.size(), out, swath::seconds_since(t0));

    t0 = std::chrono::steady_clock::now();
    const char* env_scheduler = std::getenv("TESSERA_SCHEDULER_PROGRAM");
    std::string scheduler_program = env_scheduler && *env_scheduler ? env_scheduler : TESSERA_EXAMPLE_SCHEDULER_PROGRAM;
    const char* env_worker = std::getenv("TESSERA_WORKER_PROGRAM");
    const std::string worker_program = env_worker && *env_worker ? env_worker : TESSERA_EXAMPLE_WORKER_PROGRAM;
    int port = free_port(), dashboard_port = free_port();
    std::string address = fmt::format("tcp://127.0.0.1:{}", port);
    auto scheduler = std::make_unique<Process>(
        "tessera-scheduler", std::vector<std::string>{scheduler_program, "--port", std::to_string(port),
                                                      "--dashboard-port", std::to_string(dashboard_port)});
    std::vector<std::unique_ptr<Process>> workers;
    for (int w = 0; w < 2; ++w)
        workers.push_back(std::make_unique<Process>(
            "worker", std::vector<std::string>{worker_program, address, "--nthreads", "1", "--name",
                                               fmt::format("swath-{}", w), "--preload",
                                               TESSERA_EXAMPLE_SWATH_LIBRARY}));
    std::unique_ptr<ts::Client> client = connect(address, 30);
    while (client->n_workers() < 2) {
        if (swath::seconds_since(t0) > 30) throw ts::WorkerError("the workers did not connect to {} within 30 s", address);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    fmt::print("scheduler {} (pid {}), workers pids {} and {}: ready in {:.2f} s\n", address,
               scheduler->pid(), workers[0]->pid(), workers[1]->pid(), swath::seconds_since(t0));
    fmt::print("dashboard: http://127.0.0.1:{}/ (served by tessera-scheduler)\n", dashboard_port);

    t0 = std::chrono::steady_clock::now();
    std::vector<ts::Future> futures;
    for (const auto& p : paths)
        futures.push_back(client->submit(swath::kGridMatch, {swath::path_value(p), swath::grid_value(grid)}));
    std::int64_t done = 0;
    for (ts::Future f : ts::as_completed(futures)) {
        (void)f;
        ++done;
    }
    std::vector<ts::Value> binned = client->gather(futures);
    fmt::print("gridded {} granules on the cluster in {:.2f} s\n", done, swath::seconds_since(t0));

    t0 = std::chrono::steady_clock::now();
    std::vector<ts::NDArray> means;
    for (const auto& b : binned) means.push_back(swath::granule_mean(b));
    ts::NDArray l3 = swath::l3_composite(means);  // runs on the cluster: the Client is the default
    const std::string zarr = std::filesystem::absolute("chlor_a_l3_cluster.zarr").string();
    swath::write_l3_zarr(l3, grid, zarr);
    swath::draw_l3_map(l3, grid, "chlor_a_l3_cluster.png",
                       fmt::format("L3 chlorophyll-a on a tessera-scheduler cluster ({} granules)", paths.size()));
    fmt::print("L3 composite, chlor_a_l3_cluster.zarr and chlor_a_l3_cluster.png in {:.2f} s\n",
               swath::seconds_since(t0));

    bool ok = true;
    if (small) {
        ok = swath::check_against_loop(paths, grid, l3);
        ts::NDArray back = ts::from_zarr(zarr).compute();
        bool same = back.equals(l3.astype(ts::float32), true);
        fmt::print("{}: Zarr read back {}\n", same ? "OK" : "FAILED", same ? "identical" : "DIFFERS");
        ok = ok && same;
    }

    // Shut down: the client first, then the scheduler (SIGTERM), which tells its workers to shut
    // down; they exit by themselves (SIGTERM only if they do not within 5 s).
    t0 = std::chrono::steady_clock::now();
    futures.clear();
    client.reset();
    fmt::print("scheduler stopped: {}\n", scheduler->stop());
    for (std::size_t w = 0; w < workers.size(); ++w)
        fmt::print("worker {} stopped: {}\n", w, workers[w]->stop(/*signal=*/false));
    fmt::print("shutdown took {:.2f} s\n", swath::seconds_since(t0));
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return example_main("cluster_run", argc, argv, run); }
