// The classic tutorial: the mean of 2^27 normal(1, 2) float64 values in 2^22-element chunks
// (1 GiB of data that is never held in memory at once), computed serially on one thread, with the
// thread pool, and on a local cluster (a scheduler and two worker processes talking over ZeroMQ).
// The answer is 1.0 within a few times 2 / sqrt(2^27) = 1.7e-4. The local runs are watched by the
// live dashboard, whose URL is printed first (open it in a browser; --no-dashboard turns it off).
//
//   mean_random            full size (2^27 values)
//   mean_random --small    2^22 values in 2^18-element chunks (what CTest runs)
// Writes mean_random_chunks.png: the mean of each chunk, within the ±2σ band of its size.
//   TESSERA_DASHBOARD_PORT=8787 mean_random    the dashboard on a fixed port (default: a free one)
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <iostream>

#include <fmt/format.h>
#include <tessera/tessera.hpp>

#include "example_main.hpp"

#include "plot.hpp"

namespace ts = tessera;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int run(int argc, char** argv) {
    bool small = false, dashboard = true;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--small") small = true;
        else if (arg == "--no-dashboard") dashboard = false;
        else {
            fmt::print(stderr, "usage: {} [--small] [--no-dashboard]\n", argv[0]);
            return 2;
        }
    }
    const std::int64_t n = small ? (std::int64_t{1} << 22) : (std::int64_t{1} << 27);
    const std::int64_t chunk = small ? (std::int64_t{1} << 18) : (std::int64_t{1} << 22);

    auto x = ts::random::normal(1.0, 2.0, {n}, {.chunks = {chunk}, .seed = 42});
    ts::Array m = x.mean();
    fmt::print("mean of {} normal(1, 2) values in {} chunks of {}\n", n, n / chunk, chunk);

    std::unique_ptr<ts::Dashboard> dash;
    if (dashboard) {
        const char* port = std::getenv("TESSERA_DASHBOARD_PORT");
        dash = std::make_unique<ts::Dashboard>(
            ts::DashboardOptions{.port = port ? std::atoi(port) : 0, .print_url = false});
        fmt::print("dashboard: {}\n", dash->url());
    }

    double results[3];
    const char* schedulers[3] = {"sync", "threads", "cluster"};
    for (int run = 0; run < 2; ++run) {
        ts::config::Scoped scoped({.scheduler = schedulers[run]});
        auto t0 = std::chrono::steady_clock::now();
        results[run] = m.compute().item<double>();
        fmt::print("  {:<8} {:8.3f} s   mean = {:.6f}\n", schedulers[run], seconds_since(t0),
                   results[run]);
    }
    {
        // Two worker processes with one thread each, like Dask's LocalCluster(2, 1).
        auto t0 = std::chrono::steady_clock::now();
        ts::LocalCluster cluster({.n_workers = 2, .threads_per_worker = 1});
        ts::Client client(cluster);
        double startup = seconds_since(t0);
        t0 = std::chrono::steady_clock::now();
        results[2] = m.compute().item<double>();
        fmt::print("  {:<8} {:8.3f} s   mean = {:.6f}   (2 workers x 1 thread; cluster start {:.2f} s)\n",
                   schedulers[2], seconds_since(t0), results[2], startup);
    }

    // The figure: the mean of every chunk (one more pass over the same random numbers) against
    // the ±2σ band a chunk of this size should stay in.
    {
        const std::int64_t nchunks = n / chunk;
        ts::NDArray chunk_means = ts::reshape(x, {nchunks, chunk}).mean(1).compute();
        const double band = 2 * 2.0 / std::sqrt(static_cast<double>(chunk));
        plot::Series means{"chunk mean", {}, {}}, upper{"1 + 2 sigma", {}, {}}, lower{"1 - 2 sigma", {}, {}};
        for (std::int64_t c = 0; c < nchunks; ++c) {
            means.x.push_back(static_cast<double>(c));
            means.y.push_back(chunk_means.data<double>()[c]);
            for (auto* s : {&upper, &lower}) s->x.push_back(static_cast<double>(c));
            upper.y.push_back(1 + band);
            lower.y.push_back(1 - band);
        }
        plot::line_chart("mean_random_chunks.png",
                         {.title = fmt::format("Means of the {} chunks of normal(1, 2) values", nchunks),
                          .xlabel = "chunk",
                          .ylabel = "mean",
                          .series = {means, upper, lower}});
        fmt::print("wrote mean_random_chunks.png\n");
    }

    // Counter-based random numbers: every scheduler sees exactly the same values (the cluster
    // combines the same partials in the same order).
    double sigma = 2.0 / std::sqrt(static_cast<double>(n));
    bool agree = results[0] == results[1] && results[0] == results[2];
    bool ok = agree && std::abs(results[0] - 1.0) < 6 * sigma;
    fmt::print("{}: |mean - 1| = {:.2e} ({:.1f} sigma), schedulers agree: {}\n", ok ? "OK" : "FAILED",
               std::abs(results[0] - 1.0), std::abs(results[0] - 1.0) / sigma, agree ? "yes" : "no");
    return ok ? 0 : 1;
}

int main(int argc, char** argv) { return example_main("mean_random", argc, argv, run); }
