#pragma once
// Shared harness of the Tessera benchmarks, mirroring ../shared/bench/dask/_common.py:
//   --scheduler sync|threads, --threads N (default: hardware concurrency), --repeat N (best of N,
//   default 3), --out FILE (append the line);
//   build time measured once; compute timed best-of-N; peak RSS from /proc/self/status (VmHWM)
//   and getrusage; "optimize" = config::get().optimize (TESSERA_OPTIMIZE); exactly ONE JSON line
//   on stdout.
//
//     ts::bench::Bench b(argc, argv, "w7_task_overhead", {{"variant", "delayed"}, {"n", "100000"}});
//     auto [best, times, r] = b.best_of([&] { return total.compute(b.options()); });
//     b.set("seconds", best, 4);
//     b.finish();

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "tessera/config.hpp"
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

/// Python's round(x, digits) printed as json.dumps would (shortest representation).
inline std::string json_number(double value, int digits) {
    const double scale = std::pow(10.0, digits);
    const double rounded = std::round(value * scale) / scale;
    if (rounded == std::trunc(rounded) && std::fabs(rounded) < 1e15) return fmt::format("{:.1f}", rounded);
    return fmt::format("{}", rounded);
}

class Bench {
public:
    /// Parses the common flags plus `extra` flags (name → default value); prints usage and exits
    /// with status 2 on an unknown flag or a bad value.
    Bench(int argc, char** argv, std::string workload, std::map<std::string, std::string> extra = {})
        : extra_(std::move(extra)) {
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
        if ((scheduler_ != "sync" && scheduler_ != "threads") || repeat_ < 1 || threads_ < 0) usage(argv[0], 2);
        set_string("workload", std::move(workload));
        set_string("scheduler", scheduler_);
    }

    const std::string& scheduler() const { return scheduler_; }
    int repeat() const { return repeat_; }
    const std::string& arg(const std::string& name) const { return extra_.at(name); }
    std::int64_t arg_int(const std::string& name) const { return std::atoll(arg(name).c_str()); }

    /// Options for compute: the chosen scheduler and thread count, no progress bar.
    ComputeOptions options() const {
        ComputeOptions options;
        options.scheduler = scheduler_;
        options.num_threads = n_threads();
        options.progress = false;
        return options;
    }
    /// --threads N, default (0) the hardware concurrency as for Dask's threaded scheduler.
    int n_threads() const {
        if (scheduler_ == "sync") return 1;
        return threads_ > 0 ? threads_ : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
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

    /// Records the resident set right before the first compute.
    void baseline() { set("baseline_rss_mb", proc_status_mb("VmRSS"), 1); }

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
        set("peak_rss_mb", proc_status_mb("VmHWM"), 1);
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
    [[noreturn]] void usage(const char* program, int status) const {
        std::string flags;
        for (const auto& [name, value] : extra_) flags += fmt::format(" [--{} {}]", name, value);
        (status == 0 ? std::cout : std::cerr)
            << fmt::format("usage: {} [--scheduler sync|threads] [--threads N] [--repeat N] [--out FILE]{}\n",
                           program, flags);
        std::exit(status);
    }

    std::string scheduler_ = "threads";
    int repeat_ = 3;
    int threads_ = 0;
    std::string out_;
    std::map<std::string, std::string> extra_;
    std::vector<std::pair<std::string, std::string>> fields_;
};

}  // namespace tessera::bench
