// W9 larger_than_memory (port of ../shared/bench/dask/w9_larger_than_memory.py).
//
// x = normal(1, 2, size=2**32, chunks=2**24)   (256 chunks x 128 MiB: 32 GiB logical, more than
//                                              the machine's memory; Philox seed 0)
// result = x.mean()     expected ~1.0 (standard error 2/2**16 = 3.1e-5)
// The key figure is peak_rss_mb: the fused reduction streams each chunk's random numbers tile by
// tile into the reducer, so no chunk is ever materialized and memory stays at a few MiB per thread.
// Meant for --scheduler threads (like the Dask script); default --repeat 1.

#include <string>
#include <string_view>
#include <vector>

#include "bench/common.hpp"
#include "tessera/array.hpp"

namespace ts = tessera;

int main(int argc, char** argv) {
    constexpr std::int64_t kN = std::int64_t{1} << 32, kChunk = std::int64_t{1} << 24;
    bool repeat_given = false;
    for (int k = 1; k < argc; ++k) repeat_given = repeat_given || std::string_view(argv[k]) == "--repeat";
    std::vector<char*> args(argv, argv + argc);
    std::string one = "1", flag = "--repeat";
    if (!repeat_given) args.insert(args.end(), {flag.data(), one.data()});
    ts::bench::Bench b(static_cast<int>(args.size()), args.data(), "w9_larger_than_memory");
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
    b.set("logical_gib", static_cast<double>(kN) * 8 / (1u << 30), 1);
    b.set("chunk_mib", static_cast<double>(kChunk) * 8 / (1u << 20), 1);
    b.set("throughput_melem_s", static_cast<double>(kN) / best / 1e6, 1);
    b.finish();
    return std::fabs(r - 1.0) < 2e-4 ? 0 : 1;  // ~6 sigma
}
