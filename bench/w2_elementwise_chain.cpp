// W2 elementwise_chain (port of ../shared/bench/dask/w2_elementwise_chain.py).
//
// x = random((8192, 8192), chunks=(1024, 1024))   (U[0,1) f64, 64 chunks x 8 MiB, Philox seed 0)
// y = ((x + 1) * 2 - sqrt(x)) / (x + 0.5)
// result = y.sum()     expected 8192**2 * 2.449634 = 1.64392e8 (relative sd ~1e-4)
//
// `--input stored` (workload "w2_elementwise_chain_stored", no Dask counterpart) first persists x
// (not timed), so the fused chain reads 512 MiB of stored blocks and writes nothing (the sum
// consumes it): bytes_touched = 8 bytes per element, gb_per_s = bytes_touched / seconds, to set
// against stream_probe's read bandwidth. The default `--input generated` draws x inside the fused
// kernel and touches no input memory.

#include "bench/common.hpp"
#include "tessera/array.hpp"

namespace ts = tessera;

int main(int argc, char** argv) {
    constexpr std::int64_t kSide = 8192, kChunk = 1024;
    bool stored = false;
    for (int k = 1; k + 1 < argc; ++k) stored = stored || (std::string(argv[k]) == "--input" && std::string(argv[k + 1]) == "stored");
    ts::bench::Bench b(argc, argv, stored ? "w2_elementwise_chain_stored" : "w2_elementwise_chain", {{"input", "generated"}});
    auto x = ts::random::random({kSide, kSide}, {.chunks = {kChunk, kChunk}, .seed = 0});
    if (stored) x = b.persist(x);
    auto [build_s, s] = ts::bench::timed([&] {
        auto y = ((x + 1) * 2 - ts::sqrt(x)) / (x + 0.5);
        return y.sum();
    });
    b.set("build_seconds", build_s, 6);
    b.set_int("n_tasks", s.graph(false).size());
    b.set_int("n_tasks_optimized", s.graph(true).size());
    b.baseline();
    auto [best, times, r] = b.best_of([&] { return s.compute(b.options()).item<double>(); });
    const double n = static_cast<double>(kSide * kSide);
    b.set("seconds", best, 4);
    b.set_times("times", times, 4);
    b.set("result", r, 6);
    b.set("result_mean", r / n, 9);
    b.set("throughput_melem_s", n / best / 1e6, 1);
    if (stored) {
        const double bytes = n * 8;
        b.set_int("bytes_touched", static_cast<std::int64_t>(bytes));
        b.set("gb_per_s", bytes / best / 1e9, 3);
    }
    b.finish();
    return std::fabs(r / n - 2.449634) < 1e-3 ? 0 : 1;
}
