// W1 mean_random (port of ../shared/bench/dask/w1_mean_random.py).
//
// x = normal(1, 2, size=2**27, chunks=2**22)   (32 chunks x 32 MiB, Philox seed 0)
// result = x.mean()     expected ~1.0 (standard error 2/sqrt(2**27) = 1.7e-4)

#include "bench/common.hpp"
#include "tessera/array.hpp"

namespace ts = tessera;

int main(int argc, char** argv) {
    constexpr std::int64_t kN = std::int64_t{1} << 27, kChunk = std::int64_t{1} << 22;
    ts::bench::Bench b(argc, argv, "w1_mean_random");
    auto [build_s, m] = ts::bench::timed([] {
        return ts::random::normal(1.0, 2.0, {kN}, {.chunks = kChunk, .seed = 0}).mean();
    });
    b.set("build_seconds", build_s, 6);
    b.set_int("n_tasks", m.graph(false).size());
    b.set_int("n_tasks_optimized", m.graph(true).size());
    b.baseline();
    auto [best, times, r] = b.best_of([&] { return m.compute(b.options()).item<double>(); });
    b.set("seconds", best, 4);
    b.set_times("times", times, 4);
    b.set("result", r, 12);
    b.set_int("n_elements", kN);
    b.set_int("chunk_elements", kChunk);
    b.set("throughput_melem_s", static_cast<double>(kN) / best / 1e6, 1);
    b.finish();
    return std::fabs(r - 1.0) < 1e-3 ? 0 : 1;  // ~6 sigma
}
