// ts::LocalCluster: an in-process scheduler thread and worker processes, restarted when they
// die (see distributed.hpp).

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "scheduler/dist/curve_keys.hpp"
#include "scheduler/dist/protocol.hpp"
#include "scheduler/dist/scheduler_server.hpp"
#include "tessera/distributed.hpp"

extern char** environ;

namespace tessera {

namespace {

bool is_executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// The worker program: option, $TESSERA_WORKER_PROGRAM, the build tree, the install prefix, PATH.
std::string find_worker_program(const std::string& configured) {
    if (!configured.empty()) {
        if (!is_executable(configured)) throw IOError("worker program '{}' is not an executable file", configured);
        return configured;
    }
    if (const char* env = std::getenv("TESSERA_WORKER_PROGRAM"); env && *env) {
        if (!is_executable(env)) throw IOError("TESSERA_WORKER_PROGRAM='{}' is not an executable file", env);
        return env;
    }
    for (const std::string& dir : {std::string(TESSERA_BUILD_BINDIR), std::string(TESSERA_INSTALL_BINDIR)})
        if (is_executable(dir + "/tessera-worker")) return dir + "/tessera-worker";
    if (const char* path = std::getenv("PATH")) {
        std::string_view rest = path;
        while (!rest.empty()) {
            const auto colon = rest.find(':');
            const std::string dir(rest.substr(0, colon));
            if (!dir.empty() && is_executable(dir + "/tessera-worker")) return dir + "/tessera-worker";
            if (colon == std::string_view::npos) break;
            rest.remove_prefix(colon + 1);
        }
    }
    throw IOError("cannot find the tessera-worker program: set TESSERA_WORKER_PROGRAM or "
                  "LocalClusterOptions::worker_program");
}

}  // namespace

struct LocalCluster::Impl {
    LocalClusterOptions options;
    std::string program;
    std::string curve_key_dir;  // resolved against TESSERA_CURVE_KEYS; "" = plain
    std::unique_ptr<dist::SchedulerServer> scheduler;
    mutable std::mutex mutex;
    std::vector<int> pids;
    std::atomic<bool> stopping{false};
    std::string spawn_error;
    std::thread monitor;
    int spawned = 0;

    // Forks and execs one worker; called on the monitor thread only (PR_SET_PDEATHSIG follows
    // the thread that forked).
    int spawn(int slot) {
        std::vector<std::string> args{program, scheduler->address(), "--nthreads",
                                      std::to_string(options.threads_per_worker), "--name",
                                      fmt::format("local-{}-{}", slot, spawned++)};
        if (!options.memory_limit.empty()) {
            args.emplace_back("--memory-limit");
            args.push_back(options.memory_limit);
        }
        if (!options.local_directory.empty()) {
            args.emplace_back("--local-directory");
            args.push_back(options.local_directory);
        }
        if (!curve_key_dir.empty()) {
            args.emplace_back("--curve-key-dir");
            args.push_back(curve_key_dir);
        }
        args.insert(args.end(), options.worker_args.begin(), options.worker_args.end());
        std::vector<std::string> env;
        for (char** e = environ; *e; ++e) env.emplace_back(*e);
        for (const auto& [name, value] : options.worker_env) env.push_back(name + "=" + value);
        std::vector<char*> argv, envp;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        for (auto& e : env) envp.push_back(e.data());
        envp.push_back(nullptr);
        const pid_t parent = ::getpid();
        const pid_t pid = ::fork();
        if (pid < 0) throw IOError("cannot start a worker: fork failed");
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(1);
            ::execve(argv[0], argv.data(), envp.data());
            ::_exit(127);
        }
        return pid;
    }

    void monitor_loop() {
        try {
            std::lock_guard lock(mutex);
            for (int slot = 0; slot < options.n_workers; ++slot) pids.push_back(spawn(slot));
        } catch (const std::exception& e) {
            std::lock_guard lock(mutex);
            spawn_error = e.what();
        }
        while (!stopping.load()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            std::lock_guard lock(mutex);
            for (std::size_t slot = 0; slot < pids.size(); ++slot) {
                int status = 0;
                if (pids[slot] <= 0 || ::waitpid(pids[slot], &status, WNOHANG) != pids[slot]) continue;
                pids[slot] = 0;
                if (options.restart_workers && !stopping.load()) {
                    try {
                        pids[slot] = spawn(static_cast<int>(slot));
                    } catch (const std::exception& e) {
                        dist::log("local cluster", e.what());
                    }
                }
            }
        }
        // Stop the workers: SIGTERM, then SIGKILL after 2 s.
        std::lock_guard lock(mutex);
        for (int pid : pids)
            if (pid > 0) ::kill(pid, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        for (int& pid : pids) {
            while (pid > 0) {
                int status = 0;
                if (::waitpid(pid, &status, WNOHANG) == pid) {
                    pid = 0;
                } else if (std::chrono::steady_clock::now() > deadline) {
                    ::kill(pid, SIGKILL);
                    ::waitpid(pid, &status, 0);
                    pid = 0;
                } else {
                    std::this_thread::sleep_for(std::chrono::milliseconds(10));
                }
            }
        }
    }
};

LocalCluster::LocalCluster(LocalClusterOptions options) : impl_(std::make_unique<Impl>()) {
    if (options.n_workers < 1) throw ConfigError("n_workers must be >= 1, got {}", options.n_workers);
    if (options.threads_per_worker < 1)
        throw ConfigError("threads_per_worker must be >= 1, got {}", options.threads_per_worker);
    impl_->options = std::move(options);
    impl_->program = find_worker_program(impl_->options.worker_program);
    impl_->curve_key_dir = dist::resolve_curve_key_dir(impl_->options.curve_key_dir);
    impl_->scheduler = std::make_unique<dist::SchedulerServer>(
        dist::SchedulerOptions{.host = "127.0.0.1", .port = 0, .curve_key_dir = impl_->curve_key_dir});
    impl_->scheduler->start_thread();
    impl_->monitor = std::thread([impl = impl_.get()] { impl->monitor_loop(); });
    if (!wait_for_workers(impl_->options.n_workers, impl_->options.startup_timeout)) {
        std::string error;
        {
            std::lock_guard lock(impl_->mutex);
            error = impl_->spawn_error;
        }
        const int connected = n_connected_workers();
        impl_->stopping = true;
        impl_->monitor.join();
        if (!error.empty()) throw IOError("{}", error);
        throw WorkerError("{} of {} workers connected within {} s (program {})", connected,
                          impl_->options.n_workers, impl_->options.startup_timeout, impl_->program);
    }
}

LocalCluster::~LocalCluster() {
    impl_->stopping = true;
    if (impl_->monitor.joinable()) impl_->monitor.join();
    impl_->scheduler.reset();
}

std::string LocalCluster::address() const { return impl_->scheduler->address(); }

const std::string& LocalCluster::curve_key_dir() const { return impl_->curve_key_dir; }

std::vector<int> LocalCluster::worker_pids() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->pids;
}

int LocalCluster::n_connected_workers() const { return impl_->scheduler->n_workers(); }

bool LocalCluster::wait_for_workers(int n, double timeout_seconds) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
    while (n_connected_workers() < n) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

void LocalCluster::signal_worker(int slot, int signal) {
    std::lock_guard lock(impl_->mutex);
    if (slot < 0 || slot >= static_cast<int>(impl_->pids.size()) || impl_->pids[static_cast<std::size_t>(slot)] <= 0)
        throw ValueError("no worker in slot {}", slot);
    ::kill(impl_->pids[static_cast<std::size_t>(slot)], signal);
}

}  // namespace tessera
