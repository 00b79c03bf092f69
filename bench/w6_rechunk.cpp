// W6 rechunk (port of ../shared/bench/dask/w6_rechunk.py): all-to-all rechunk from column slabs
// to row slabs, then sum.
//
// x = random((4096, 16384), chunks=(4096, 256))   (64 chunks x 8 MiB, Philox seed 0)
// y = rechunk(x, (256, 16384))                     (16 chunks x 32 MiB)
// result = y.sum()     expected ~ 4096 * 16384 * 0.5 = 3.355e7
//
// `--input stored` (workload "w6_rechunk_stored", no Dask counterpart) first persists x (not
// timed), so the rechunk moves stored blocks: with the default `--input generated` the optimizer
// computes each output block's pieces of the random array in place and no block of x exists.

#include "bench/common.hpp"
#include "tessera/array.hpp"
#include "tessera/array_shape.hpp"

namespace ts = tessera;

int main(int argc, char** argv) {
    constexpr std::int64_t kRows = 4096, kCols = 4096 * 4;
    bool stored = false;
    for (int k = 1; k + 1 < argc; ++k) stored = stored || (std::string(argv[k]) == "--input" && std::string(argv[k + 1]) == "stored");
    ts::bench::Bench b(argc, argv, stored ? "w6_rechunk_stored" : "w6_rechunk", {{"input", "generated"}});
    auto x = ts::random::random({kRows, kCols}, {.chunks = {kRows, 256}, .seed = 0});
    if (stored) x = b.persist(x);
    auto [build_s, s] = ts::bench::timed([&] { return ts::rechunk(x, {256, kCols}).sum(); });
    b.set("build_seconds", build_s, 6);
    b.set_int("n_tasks", s.graph(false).size());
    b.set_int("n_tasks_optimized", s.graph(true).size());
    b.baseline();
    auto [best, times, r] = b.best_of([&] { return s.compute(b.options()).item<double>(); });
    const double n = static_cast<double>(kRows * kCols);
    b.set("seconds", best, 4);
    b.set_times("times", times, 4);
    b.set("result", r, 6);
    b.set("throughput_mb_s", n * 8 / (1 << 20) / best, 1);
    b.finish();
    return std::fabs(r / n - 0.5) < 1e-3 ? 0 : 1;
}
