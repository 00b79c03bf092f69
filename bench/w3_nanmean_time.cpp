// W3 nanmean_time (port of ../shared/bench/dask/w3_nanmean_time.py): NaN-aware reductions along
// time of a float32 cube.
//
// u    = random((200, 720, 1440), chunks=(10, 720, 1440))                    (f64, Philox seed 0)
// v    = random(same, seed 1).astype(float32)
// cube = where(u < 0.3, nan, v)                     float32, ~30 % NaN; 20 chunks x 39.6 MiB
// m, s = nanmean(cube, 0), nanstd(cube, 0) in ONE graph (shared input, like dask.compute(m, s)):
//        the two reductions share their chunk stage (array/reduction_share.hpp), so each chunk
//        task evaluates the cube's fused program once and accumulates both in one pass
// result = nansum(m) ~ 518400 ; result_std = nansum(s) ~ 2.98e5 ; all_nan_pixels = 0
// n_tasks / n_tasks_optimized count the joint graph of both outputs (raw / fused).

#include <cmath>

#include "array/node.hpp"
#include "bench/common.hpp"
#include "tessera/array.hpp"
#include "tessera/config.hpp"

namespace ts = tessera;

namespace {

ts::Graph joint_graph(const ts::Array& m, const ts::Array& s, bool fuse, std::vector<ts::Key>* keys = nullptr) {
    const std::vector<ts::detail::NodePtr> nodes{m.node(), s.node()};
    ts::Graph graph;
    std::vector<ts::Key> out = ts::detail::lower_arrays(nodes, graph, fuse);
    if (keys) *keys = std::move(out);
    return graph;
}

}  // namespace

int main(int argc, char** argv) {
    const ts::Shape shape{200, 720, 1440};
    const ts::Shape chunks{10, 720, 1440};
    ts::bench::Bench b(argc, argv, "w3_nanmean_time");
    auto [build_s, ms] = ts::bench::timed([&] {
        auto u = ts::random::random(shape, {.chunks = chunks, .seed = 0});
        auto v = ts::random::random(shape, {.chunks = chunks, .seed = 1}).astype(ts::float32);
        auto cube = ts::where(u < 0.3, ts::nan, v);
        return std::pair{ts::nanmean(cube, 0), ts::nanstd(cube, 0)};
    });
    const auto& [m, s] = ms;
    b.set("build_seconds", build_s, 6);
    b.set_string("dtype", fmt::format("{}", m.dtype()));
    b.set_int("n_tasks", joint_graph(m, s, false).size());
    b.set_int("n_tasks_optimized", joint_graph(m, s, ts::config::get().optimize).size());
    b.baseline();
    auto [best, times, r] = b.best_of([&] {
        std::vector<ts::Value> values;
        {
            std::vector<ts::Key> keys;
            ts::Graph graph = joint_graph(m, s, ts::config::get().optimize, &keys);
            values = ts::compute_graph(graph, keys, b.options());
        }
        const std::size_t nm = m.n_keys();
        return std::pair{m.finalize(std::span(values.data(), nm)),
                         s.finalize(std::span(values.data() + nm, values.size() - nm))};
    });
    const auto& [mr, sr] = r;
    double sum_m = 0, sum_s = 0;
    std::int64_t valid = 0, all_nan = 0;
    const float* pm = mr.data<float>();
    const float* ps = sr.data<float>();
    for (std::int64_t k = 0; k < mr.size(); ++k) {
        if (std::isnan(pm[k])) {
            ++all_nan;
            continue;
        }
        sum_m += pm[k];
        ++valid;
        if (!std::isnan(ps[k])) sum_s += ps[k];
    }
    const double n = static_cast<double>(shape[0] * shape[1] * shape[2]);
    b.set("seconds", best, 4);
    b.set_times("times", times, 4);
    b.set("result", sum_m, 6);
    b.set("result_std", sum_s, 6);
    b.set("mean_of_mean", valid ? sum_m / static_cast<double>(valid) : ts::nan, 9);
    b.set_int("all_nan_pixels", all_nan);
    b.set("throughput_melem_s", n / best / 1e6, 1);
    b.finish();
    return std::fabs(sum_m / 518400.0 - 1.0) < 1e-3 && all_nan == 0 ? 0 : 1;
}
