// W4 transpose_sum (port of ../shared/bench/dask/w4_transpose_sum.py): every output chunk needs a
// non-local (transposed) chunk.
//
// x = random((10000, 10000), chunks=(1000, 1000))   (100 chunks x 7.6 MiB, Philox seed 0)
// result = (x + x.T).sum()     == 2 * x.sum(), expected ~1.0e8
//
// `--input stored` (workload "w4_transpose_sum_stored", no Dask counterpart) first persists x
// (not timed): x + x.T then reads each stored element twice (once in x, once in x.T) and writes
// nothing, bytes_touched = 16 bytes per element of x, gb_per_s = bytes_touched / seconds.

#include "bench/common.hpp"
#include "tessera/array.hpp"
#include "tessera/array_shape.hpp"

namespace ts = tessera;

int main(int argc, char** argv) {
    constexpr std::int64_t kSide = 10000, kChunk = 1000;
    bool stored = false;
    for (int k = 1; k + 1 < argc; ++k) stored = stored || (std::string(argv[k]) == "--input" && std::string(argv[k + 1]) == "stored");
    ts::bench::Bench b(argc, argv, stored ? "w4_transpose_sum_stored" : "w4_transpose_sum", {{"input", "generated"}});
    auto x = ts::random::random({kSide, kSide}, {.chunks = {kChunk, kChunk}, .seed = 0});
    if (stored) x = b.persist(x);
    auto [build_s, s] = ts::bench::timed([&] { return (x + ts::transpose(x)).sum(); });
    b.set("build_seconds", build_s, 6);
    b.set_int("n_tasks", s.graph(false).size());
    b.set_int("n_tasks_optimized", s.graph(true).size());
    b.baseline();
    auto [best, times, r] = b.best_of([&] { return s.compute(b.options()).item<double>(); });
    const double n = static_cast<double>(kSide * kSide);
    b.set("seconds", best, 4);
    b.set_times("times", times, 4);
    b.set("result", r, 6);
    b.set("throughput_melem_s", n / best / 1e6, 1);
    if (stored) {
        const double bytes = n * 16;
        b.set_int("bytes_touched", static_cast<std::int64_t>(bytes));
        b.set("gb_per_s", bytes / best / 1e9, 3);
    }
    b.finish();
    return std::fabs(r / n - 1.0) < 1e-3 ? 0 : 1;
}
