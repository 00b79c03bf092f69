// W5 matmul (port of ../shared/bench/dask/w5_matmul.py).
//
// x = random((4096, 4096), chunks=(1024, 1024))   (16 chunks x 8 MiB, Philox seed 0)
// result = (x @ x).sum()   expected ~ 4096**3 / 4 = 1.718e10; 2 * 4096**3 = 137.4 GFLOP
// Chunk products: OpenBLAS dgemm, one BLAS thread per task under the threads scheduler, OpenBLAS's
// default under sync (see include/tessera/linalg.hpp).

#include <cblas.h>

#include "bench/common.hpp"
#include "tessera/array.hpp"
#include "tessera/linalg.hpp"

namespace ts = tessera;

int main(int argc, char** argv) {
    constexpr std::int64_t kN = 4096, kChunk = 1024;
    ts::bench::Bench b(argc, argv, "w5_matmul");
    auto [build_s, s] = ts::bench::timed([] {
        const auto x = ts::random::random({kN, kN}, {.chunks = kChunk, .seed = 0});
        return ts::matmul(x, x).sum();
    });
    b.set("build_seconds", build_s, 6);
    b.set_int("n_tasks", s.graph(false).size());
    b.set_int("n_tasks_optimized", s.graph(true).size());
    b.baseline();
    auto [best, times, r] = b.best_of([&] { return s.compute(b.options()).item<double>(); });
    b.set("seconds", best, 4);
    b.set_times("times", times, 4);
    b.set("result", r, 6);
    const double n = static_cast<double>(kN);
    b.set("gflops", 2.0 * n * n * n / best / 1e9, 2);
    b.set_int("n", kN);
    b.set_int("chunk", kChunk);
    b.set_string("blas", openblas_get_config());
    b.set_string("openblas_core", openblas_get_corename());
    b.finish();
    const double expected = n * n * n / 4.0;  // relative standard error ~1e-4
    return std::fabs(r / expected - 1.0) < 2e-3 ? 0 : 1;
}
