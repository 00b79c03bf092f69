// What watching costs: the same computation with and without a live ts::Dashboard observing it
// (issue: the dashboard must cost < 2% of a run's time at 10^5 tasks).
//
// --workload tiny   W7's tree of 100,000 trivial delayed tasks (+ 14,289 sums): ~1 µs of work
//                   per task, the worst case for any per-event cost.
// --workload array  the sum of a random array in 100,000 chunks of 2,048 float64 (+ the combine
//                   tree): ~10 µs per task, closer to real arrays (still tiny chunks).
// Runs alternate (off, on, off, on, ...) so machine noise hits both; best of --repeat each.
// JSON fields: seconds_off, seconds_on, overhead_pct, n_tasks.

#include <optional>

#include "bench/common.hpp"
#include "tessera/array.hpp"
#include "tessera/dashboard.hpp"
#include "tessera/delayed.hpp"

namespace ts = tessera;

namespace {

std::int64_t inc(std::int64_t i) { return i + 1; }
std::int64_t add_all(const std::vector<std::int64_t>& xs) {
    std::int64_t total = 0;
    for (std::int64_t x : xs) total += x;
    return total;
}

ts::Delayed build_tree(std::int64_t n) {
    auto d_inc = ts::delayed(inc, {.name = "inc"});
    auto d_add = ts::delayed(add_all, {.name = "add_all"});
    std::vector<ts::Delayed> level;
    for (std::int64_t i = 0; i < n; ++i) level.push_back(d_inc(i));
    while (level.size() > 1) {
        std::vector<ts::Delayed> next;
        for (std::size_t j = 0; j < level.size(); j += 8) {
            const auto end = std::min(level.size(), j + 8);
            next.push_back(d_add(std::vector<ts::Delayed>(level.begin() + static_cast<std::ptrdiff_t>(j),
                                                          level.begin() + static_cast<std::ptrdiff_t>(end))));
        }
        level = std::move(next);
    }
    return level[0];
}

}  // namespace

int main(int argc, char** argv) {
    ts::bench::Bench b(argc, argv, "dashboard_overhead", {{"workload", "tiny"}, {"n", "100000"}});
    const std::string workload = b.arg("workload");
    const std::int64_t n = b.arg_int("n");
    if (workload != "tiny" && workload != "array") {
        std::fprintf(stderr, "--workload must be tiny or array\n");
        return 2;
    }
    std::optional<ts::Delayed> tree;
    std::optional<ts::Array> total;
    if (workload == "tiny") tree = build_tree(n);
    else total = ts::random::random({n * 2048}, {.chunks = {2048}, .seed = 1}).sum();

    auto run = [&] {
        if (tree) return static_cast<double>(tree->compute(b.options()).as<std::int64_t>());
        return total->compute(b.options()).item<double>();
    };
    std::vector<double> off, on;
    double check_off = 0, check_on = 0;
    run();  // warm up allocators and the thread pool
    for (int k = 0; k < b.repeat(); ++k) {
        auto [t_off, r_off] = ts::bench::timed(run);
        off.push_back(t_off);
        check_off = r_off;
        ts::Dashboard dash({.port = 0, .print_url = false});
        auto [t_on, r_on] = ts::bench::timed(run);
        on.push_back(t_on);
        check_on = r_on;
    }
    if (check_off != check_on) {
        std::fprintf(stderr, "results differ with the dashboard: %.17g vs %.17g\n", check_off, check_on);
        return 1;
    }
    const double best_off = *std::min_element(off.begin(), off.end());
    const double best_on = *std::min_element(on.begin(), on.end());
    b.set_string("workload_variant", workload);
    b.set("seconds_off", best_off, 4);
    b.set("seconds_on", best_on, 4);
    b.set("overhead_pct", 100.0 * (best_on - best_off) / best_off, 2);
    b.set_times("times_off", off, 4);
    b.set_times("times_on", on, 4);
    b.finish();
    return 0;
}
