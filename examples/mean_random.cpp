// The classic tutorial: the mean of 2^27 normal(1, 2) float64 values in 2^22-element chunks
// (1 GiB of data that is never held in memory at once), computed serially on one thread and then
// with the thread pool. The answer is 1.0 within a few times 2 / sqrt(2^27) = 1.7e-4.
//
//   mean_random            full size (2^27 values)
//   mean_random --small    2^22 values in 2^18-element chunks (what CTest runs)
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>

#include <fmt/format.h>
#include <tessera/tessera.hpp>

namespace ts = tessera;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    bool small = argc > 1 && std::strcmp(argv[1], "--small") == 0;
    const std::int64_t n = small ? (std::int64_t{1} << 22) : (std::int64_t{1} << 27);
    const std::int64_t chunk = small ? (std::int64_t{1} << 18) : (std::int64_t{1} << 22);

    auto x = ts::random::normal(1.0, 2.0, {n}, {.chunks = {chunk}, .seed = 42});
    ts::Array m = x.mean();
    fmt::print("mean of {} normal(1, 2) values in {} chunks of {}\n", n, n / chunk, chunk);

    double results[2];
    const char* schedulers[2] = {"sync", "threads"};
    for (int run = 0; run < 2; ++run) {
        ts::config::Scoped scoped({.scheduler = schedulers[run]});
        auto t0 = std::chrono::steady_clock::now();
        results[run] = m.compute().item<double>();
        fmt::print("  {:<8} {:8.3f} s   mean = {:.6f}\n", schedulers[run], seconds_since(t0),
                   results[run]);
    }

    // Counter-based random numbers: every scheduler sees exactly the same values.
    double sigma = 2.0 / std::sqrt(static_cast<double>(n));
    bool ok = results[0] == results[1] && std::abs(results[0] - 1.0) < 6 * sigma;
    fmt::print("{}: |mean - 1| = {:.2e} ({:.1f} sigma), schedulers agree: {}\n", ok ? "OK" : "FAILED",
               std::abs(results[0] - 1.0), std::abs(results[0] - 1.0) / sigma,
               results[0] == results[1] ? "yes" : "no");
    return ok ? 0 : 1;
}
