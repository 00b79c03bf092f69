// The hand-fused limit of W2 over a STORED x (workload "w2_elementwise_chain_stored", scheduler
// "limit"): sum of ((x+1)*2 - sqrt(x)) / (x+0.5) over 8192² float64 already in memory, --threads
// std::threads each summing its share in one vectorized loop (no framework). With
// stream_probe's read bandwidth it bounds what issue #5's "W2 >= 70 % of the measured bandwidth"
// can reach on this machine: when this loop is compute-bound (sqrt and div), no framework
// reaches the bandwidth either.
#include <cmath>
#include <thread>
#include <vector>

#include "bench/common.hpp"

namespace {

// Compiled with the limits' flags (-O3 -fno-math-errno -fno-trapping-math, bench/CMakeLists.txt)
// so sqrt and the 8 running sums vectorize.
double share_sum(const double* p, std::int64_t begin, std::int64_t end) {
    double acc[8] = {};
    for (std::int64_t i = begin; i < end; i += 8)  // shares are multiples of 8: kN is
        for (int j = 0; j < 8; ++j) {
            const double v = p[i + j];
            acc[j] += ((v + 1.0) * 2.0 - std::sqrt(v)) / (v + 0.5);
        }
    double s = 0;
    for (double a : acc) s += a;
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    constexpr std::int64_t kN = std::int64_t{8192} * 8192;
    tessera::bench::Bench b(argc, argv, "w2_elementwise_chain_stored");
    const int nt = b.n_threads();
    std::vector<double> x(static_cast<std::size_t>(kN));
    {
        std::vector<std::thread> fill;
        for (int t = 0; t < nt; ++t)
            fill.emplace_back([&, t] {  // first touch by the thread that reads it
                for (std::int64_t i = kN * t / nt; i < kN * (t + 1) / nt; ++i)
                    x[static_cast<std::size_t>(i)] = static_cast<double>((i * 2654435761u) % 1000003) / 1000003.0;
            });
        for (auto& t : fill) t.join();
    }
    b.baseline();
    auto [best, times, total] = b.best_of([&] {
        std::vector<double> part(static_cast<std::size_t>(nt), 0.0);
        std::vector<std::thread> run;
        for (int t = 0; t < nt; ++t)
            run.emplace_back([&, t] {
                const double s = share_sum(x.data(), kN * t / nt, kN * (t + 1) / nt);
                part[static_cast<std::size_t>(t)] = s;
            });
        for (auto& t : run) t.join();
        double s = 0;
        for (double v : part) s += v;
        return s;
    });
    b.set_string("scheduler", "limit");
    b.set("seconds", best, 5);
    b.set_times("times", times, 5);
    b.set("result", total, 6);
    b.set_int("bytes_touched", kN * 8);
    b.set("gb_per_s", static_cast<double>(kN * 8) / best / 1e9, 2);
    b.finish();
    return 0;
}
