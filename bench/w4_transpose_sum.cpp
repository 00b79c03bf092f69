// W4 transpose_sum (port of ../shared/bench/dask/w4_transpose_sum.py): every output chunk needs a
// non-local (transposed) chunk.
//
// x = random((10000, 10000), chunks=(1000, 1000))   (100 chunks x 7.6 MiB, Philox seed 0)
// result = (x + x.T).sum()     == 2 * x.sum(), expected ~1.0e8

#include "bench/common.hpp"
#include "tessera/array.hpp"
#include "tessera/array_shape.hpp"

namespace ts = tessera;

int main(int argc, char** argv) {
    constexpr std::int64_t kSide = 10000, kChunk = 1000;
    ts::bench::Bench b(argc, argv, "w4_transpose_sum");
    auto [build_s, s] = ts::bench::timed([] {
        auto x = ts::random::random({kSide, kSide}, {.chunks = {kChunk, kChunk}, .seed = 0});
        return (x + ts::transpose(x)).sum();
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
    b.set("throughput_melem_s", n / best / 1e6, 1);
    b.finish();
    return std::fabs(r / n - 1.0) < 1e-3 ? 0 : 1;
}
