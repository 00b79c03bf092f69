#pragma once
// Shared harness of the Tessera benchmarks, mirroring ../shared/bench/dask/_common.py:
//   --scheduler sync|threads|distributed, --threads N (threads: default hardware concurrency;
//   distributed: N workers of 1 thread, default 2), --repeat N (best of N, default 3), --out FILE
//   (append the line);
//   build time measured once; compute timed best-of-N; peak RSS from /proc/self/status (VmHWM)
//   and getrusage; "optimize" = config::get().optimize (TESSERA_OPTIMIZE); exactly ONE JSON line
//   on stdout.
// distributed: like the Dask suite's LocalCluster(n_workers=2, threads_per_worker=1), a
//   ts::LocalCluster and a ts::Client for the whole run, started in the constructor (not timed:
//   cluster_start_seconds), so every compute() of the workload runs on it unchanged. Workers get
//   OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1 as Dask's nanny gives its workers. peak_rss_mb is then
//   the peak of the RSS summed over this process and all its descendants (the workers), sampled
//   every 20 ms as the Dask suite does (peak_rss_self_mb = VmHWM of this process); the cluster is
//   stopped before the getrusage fields are read, so maxrss_children_mb = the largest worker.
//   Workloads with their own kernels pass {.workers_run_this_program = true}: the workers are then
//   this executable, started with TESSERA_BENCH_WORKER=1, and the constructor runs worker_main().
//
//     ts::bench::Bench b(argc, argv, "w7_task_overhead", {{"variant", "delayed"}, {"n", "100000"}});
//     auto [best, times, r] = b.best_of([&] { return total.compute(b.options()); });
//     b.set("seconds", best, 4);
//     b.finish();

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "tessera/config.hpp"
#include "tessera/distributed.hpp"
#include "tessera/scheduler.hpp"
#include "tessera/version.hpp"

namespace tessera::bench {

/// Seconds since the epoch of the steady clock.
inline double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Wall time of fn() and its result.
template <class F>
auto timed(F&& fn) {
    const double start = now();
    auto result = fn();
    return std::pair{now() - start, std::move(result)};
}

/// A value from /proc/self/status ("VmRSS", "VmHWM") in MiB; 0 when unavailable.
inline double proc_status_mb(const std::string& field) {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(field + ":", 0) == 0) return std::strtod(line.c_str() + field.size() + 1, nullptr) / 1024.0;
    }
    return 0.0;
}

inline double maxrss_mb(int who) {
    rusage usage{};
    getrusage(who, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

/// Children of `pid` (over all its threads: a child belongs to the thread that forked it).
inline std::vector<int> child_pids(int pid) {
    std::vector<int> children;
    const std::string task_dir = fmt::format("/proc/{}/task", pid);
    DIR* dir = ::opendir(task_dir.c_str());
    if (dir == nullptr) return children;
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
        std::ifstream in(task_dir + "/" + entry->d_name + "/children");
        for (int child = 0; in >> child;) children.push_back(child);
    }
    ::closedir(dir);
    return children;
}

/// Resident bytes of `pid` (second field of /proc/PID/statm, as psutil's memory_info().rss);
/// 0 when the process is gone.
inline double rss_bytes(int pid) {
    static const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    std::ifstream in(fmt::format("/proc/{}/statm", pid));
    double size = 0, resident = 0;
    if (!(in >> size >> resident)) return 0.0;
    return resident * page;
}

/// RSS of this process plus all its descendants, in MiB.
inline double tree_rss_mb() {
    double total = 0;
    std::vector<int> pending{static_cast<int>(::getpid())};
    while (!pending.empty()) {
        const int pid = pending.back();
        pending.pop_back();
        total += rss_bytes(pid);
        for (int child : child_pids(pid)) pending.push_back(child);
    }
    return total / (1024.0 * 1024.0);
}

/// A background thread sampling tree_rss_mb() every `interval` and keeping the maximum (the
/// Dask suite's TreeRSSMonitor).
class TreeRssMonitor {
public:
    explicit TreeRssMonitor(std::chrono::milliseconds interval = std::chrono::milliseconds(20))
        : interval_(interval), thread_([this] { loop(); }) {}
    ~TreeRssMonitor() { stop(); }
    TreeRssMonitor(const TreeRssMonitor&) = delete;
    TreeRssMonitor& operator=(const TreeRssMonitor&) = delete;

    /// One sample now (also counted in the peak); MiB.
    double sample() {
        const double mb = tree_rss_mb();
        double peak = peak_mb_.load();
        while (mb > peak && !peak_mb_.compare_exchange_weak(peak, mb)) {}
        return mb;
    }
    /// Stops the thread after a last sample.
    void stop() {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
            stopping_ = true;
        }
        wake_.notify_all();
        thread_.join();
        sample();
    }
    double peak_mb() const { return peak_mb_.load(); }

private:
    void loop() {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            lock.unlock();
            sample();
            lock.lock();
            wake_.wait_for(lock, interval_, [this] { return stopping_; });
        }
    }

    std::chrono::milliseconds interval_;
    std::atomic<double> peak_mb_{0.0};
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;  // last: starts after the members it uses
};

/// Python's round(x, digits) printed as json.dumps would (shortest representation).
inline std::string json_number(double value, int digits) {
    const double scale = std::pow(10.0, digits);
    const double rounded = std::round(value * scale) / scale;
    if (rounded == std::trunc(rounded) && std::fabs(rounded) < 1e15) return fmt::format("{:.1f}", rounded);
    return fmt::format("{}", rounded);
}

struct BenchSetup {
    /// --scheduler distributed: the workers are this executable (for workloads registering their
    /// own kernels) instead of tessera-worker.
    bool workers_run_this_program = false;
};

class Bench {
public:
    /// Parses the common flags plus `extra` flags (name → default value); prints usage and exits
    /// with status 2 on an unknown flag or a bad value. With --scheduler distributed starts the
    /// cluster and its client (exits with status 1 when that fails). In a worker started by
    /// such a cluster (setup.workers_run_this_program) runs the worker and exits.
    Bench(int argc, char** argv, std::string workload, std::map<std::string, std::string> extra = {},
          BenchSetup setup = {})
        : extra_(std::move(extra)) {
        if (const char* worker = std::getenv("TESSERA_BENCH_WORKER"); worker && *worker)
            std::exit(tessera::worker_main(argc, argv));
        for (int k = 1; k < argc; ++k) {
            const std::string arg = argv[k];
            if (arg == "--help" || arg == "-h") usage(argv[0], 0);
            if (arg.rfind("--", 0) != 0 || k + 1 >= argc) usage(argv[0], 2);
            const std::string name = arg.substr(2), value = argv[++k];
            if (name == "scheduler") scheduler_ = value;
            else if (name == "repeat") repeat_ = std::atoi(value.c_str());
            else if (name == "out") out_ = value;
            else if (name == "threads") threads_ = std::atoi(value.c_str());
            else if (extra_.count(name)) extra_[name] = value;
            else usage(argv[0], 2);
        }
        if ((scheduler_ != "sync" && scheduler_ != "threads" && scheduler_ != "distributed") || repeat_ < 1 ||
            threads_ < 0)
            usage(argv[0], 2);
        set_string("workload", std::move(workload));
        set_string("scheduler", scheduler_);
        if (scheduler_ == "distributed") start_cluster(setup);
    }
    ~Bench() { stop_cluster(); }
    Bench(const Bench&) = delete;
    Bench& operator=(const Bench&) = delete;

    const std::string& scheduler() const { return scheduler_; }
    int repeat() const { return repeat_; }
    const std::string& arg(const std::string& name) const { return extra_.at(name); }
    std::int64_t arg_int(const std::string& name) const { return std::atoll(arg(name).c_str()); }

    /// Options for compute: the chosen scheduler and thread count, no progress bar. With
    /// distributed the installed client runs every compute (it takes precedence over options).
    ComputeOptions options() const {
        ComputeOptions options;
        if (!client_) {
            options.scheduler = scheduler_;
            options.num_threads = n_threads();
        }
        options.progress = false;
        return options;
    }
    /// --threads N, default (0) the hardware concurrency as for Dask's threaded scheduler;
    /// distributed: the number of workers (1 thread each), default 2.
    int n_threads() const {
        if (scheduler_ == "sync") return 1;
        if (scheduler_ == "distributed") return threads_ > 0 ? threads_ : 2;
        return threads_ > 0 ? threads_ : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    }
    /// The distributed client (nullptr for sync and threads).
    Client* client() const { return client_.get(); }
    /// Computes `array` and keeps its blocks: on the workers with distributed (Client::persist,
    /// as Dask's client.persist), else in this process (Array::persist with options()).
    /// Returns when every block is computed: Client::persist returns at once, so an untimed sum
    /// over the stored blocks waits for them (as distributed.wait would).
    template <class A>
    A persist(const A& array) const {
        if (!client_) return array.persist(options());
        A stored = client_->persist(array);
        (void)stored.sum().compute(options());
        return stored;
    }
    /// A scheduler for the chosen flags: the client for distributed, else a new local one.
    std::shared_ptr<Scheduler> make_scheduler() const {
        if (client_) return std::shared_ptr<Scheduler>(client_.get(), [](Scheduler*) {});
        return scheduler_ == "sync" ? make_sync_scheduler() : make_thread_scheduler(n_threads());
    }

    /// Runs fn() repeat() times; returns (best seconds, all seconds, last result).
    template <class F>
    auto best_of(F&& fn) {
        std::vector<double> times;
        decltype(fn()) result{};
        for (int k = 0; k < repeat_; ++k) {
            result = decltype(fn()){};
            const double start = now();
            result = fn();
            times.push_back(now() - start);
        }
        return std::tuple{*std::min_element(times.begin(), times.end()), times, std::move(result)};
    }

    /// Records the resident set right before the first compute (distributed: of the process tree).
    void baseline() { set("baseline_rss_mb", monitor_ ? monitor_->sample() : proc_status_mb("VmRSS"), 1); }

    void set_raw(const std::string& key, std::string json) {
        for (auto& [k, v] : fields_) {
            if (k == key) {
                v = std::move(json);
                return;
            }
        }
        fields_.emplace_back(key, std::move(json));
    }
    void set(const std::string& key, double value, int digits) { set_raw(key, json_number(value, digits)); }
    void set_int(const std::string& key, std::int64_t value) { set_raw(key, std::to_string(value)); }
    void set_string(const std::string& key, const std::string& value) { set_raw(key, fmt::format("\"{}\"", value)); }
    void set_times(const std::string& key, const std::vector<double>& times, int digits) {
        std::string text = "[";
        for (std::size_t k = 0; k < times.size(); ++k)
            text += (k ? ", " : "") + json_number(times[k], digits);
        set_raw(key, text + "]");
    }

    /// Adds optimizer, memory, version and host fields; prints the line (and appends it to --out).
    void finish() {
        // TESSERA_OPTIMIZE=0 turns the optimizer off: fused and unfused lines tell themselves apart.
        set_raw("optimize", config::get().optimize ? "true" : "false");
        if (scheduler_ == "threads") set_int("num_workers", n_threads());
        if (monitor_) {
            set_int("num_workers", n_threads());
            set_int("threads_per_worker", 1);
            set_string("worker_program", worker_program_);
            stop_cluster();  // workers reaped: RUSAGE_CHILDREN then holds the largest one
            monitor_->stop();
            set("peak_rss_mb", monitor_->peak_mb(), 1);
            set("peak_rss_self_mb", proc_status_mb("VmHWM"), 1);
        } else {
            set("peak_rss_mb", proc_status_mb("VmHWM"), 1);
        }
        set("maxrss_self_mb", maxrss_mb(RUSAGE_SELF), 1);
        set("maxrss_children_mb", maxrss_mb(RUSAGE_CHILDREN), 1);
        set_string("tessera", version());
        char host[256] = {};
        gethostname(host, sizeof host - 1);
        set_string("host", host);
        set_int("cpus", static_cast<std::int64_t>(std::thread::hardware_concurrency()));
        std::string line = "{";
        for (std::size_t k = 0; k < fields_.size(); ++k)
            line += fmt::format("{}\"{}\": {}", k ? ", " : "", fields_[k].first, fields_[k].second);
        line += "}";
        std::cout << line << std::endl;
        if (!out_.empty()) std::ofstream(out_, std::ios::app) << line << '\n';
    }

private:
    void start_cluster(const BenchSetup& setup) {
        monitor_ = std::make_unique<TreeRssMonitor>();
        LocalClusterOptions cluster_options;
        cluster_options.n_workers = n_threads();
        cluster_options.threads_per_worker = 1;
        cluster_options.worker_env = {{"OMP_NUM_THREADS", "1"}, {"OPENBLAS_NUM_THREADS", "1"}};
        if (setup.workers_run_this_program) {
            // The real path, so that the workers show up under this program's name.
            std::error_code error;
            const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
            cluster_options.worker_program = error ? "/proc/self/exe" : self.string();
            cluster_options.worker_env.emplace_back("TESSERA_BENCH_WORKER", "1");
        }
        try {
            const double start = now();
            cluster_ = std::make_unique<LocalCluster>(cluster_options);
            client_ = std::make_unique<Client>(*cluster_);
            set("cluster_start_seconds", now() - start, 4);
        } catch (const std::exception& e) {
            std::cerr << "cannot start the distributed cluster: " << e.what() << '\n';
            std::exit(1);
        }
        worker_program_ = setup.workers_run_this_program ? "self" : "tessera-worker";
    }
    void stop_cluster() {
        client_.reset();
        cluster_.reset();
    }

    [[noreturn]] void usage(const char* program, int status) const {
        std::string flags;
        for (const auto& [name, value] : extra_) flags += fmt::format(" [--{} {}]", name, value);
        (status == 0 ? std::cout : std::cerr)
            << fmt::format("usage: {} [--scheduler sync|threads|distributed] [--threads N] [--repeat N] [--out FILE]{}\n",
                           program, flags);
        std::exit(status);
    }

    std::string scheduler_ = "threads";
    int repeat_ = 3;
    int threads_ = 0;
    std::string out_;
    std::map<std::string, std::string> extra_;
    std::vector<std::pair<std::string, std::string>> fields_;
    std::unique_ptr<TreeRssMonitor> monitor_;
    std::unique_ptr<LocalCluster> cluster_;
    std::unique_ptr<Client> client_;
    std::string worker_program_;
};

}  // namespace tessera::bench
