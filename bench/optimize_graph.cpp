// optimize_graph: the cost of the graph optimizer itself (issue #5), not of running the graph.
//
// x = random.normal over --blocks blocks of 10 elements; y = sqrt(abs(x * 2 + 1)); s = y.sum().
// fused: lowering with fusion (the chain fused into the reduction's chunk tasks) then index +
//   linear-chain fusion (graph/fuse_linear.cpp) of the library's operations, as compute_graph runs them.
// unfused: lowering without fusion (one task per node and block: long linear chains), then the
//   same index + fuse_linear, which here merges every chain.
// Fields: lower_ms, index_ms, fuse_ms (best of --repeat each), total_ms = their sum;
// n_tasks before and n_tasks_optimized after fuse_linear. Nothing is computed.

#include "bench/common.hpp"
#include "graph/optimize.hpp"
#include "tessera/tessera.hpp"

namespace ts = tessera;

namespace {

struct Phases {
    double lower = 1e300, index = 1e300, fuse = 1e300;
    std::int64_t n_tasks = 0, n_tasks_optimized = 0;
};

Phases measure(const ts::Array& s, bool fuse_on_lowering, int repeat) {
    Phases p;
    for (int k = 0; k < repeat; ++k) {
        auto [lower_s, graph] = ts::bench::timed([&] { return s.graph(fuse_on_lowering); });
        auto [index_s, index] = ts::bench::timed([&] { return ts::index_graph(graph); });
        const std::vector<ts::Key> keys = {s.block_key(std::vector<std::int64_t>{})};  // s is 0-d: one block
        ts::Graph fused;
        auto [fuse_s, removed] = ts::bench::timed([&] { return ts::detail::fuse_linear(graph, index, keys, fused, "tessera."); });
        p.lower = std::min(p.lower, lower_s);
        p.index = std::min(p.index, index_s);
        p.fuse = std::min(p.fuse, fuse_s);
        p.n_tasks = graph.size();
        p.n_tasks_optimized = graph.size() - removed;
    }
    return p;
}

}  // namespace

int main(int argc, char** argv) {
    ts::bench::Bench b(argc, argv, "optimize_graph", {{"blocks", "100000"}, {"variant", "fused"}});
    const std::int64_t blocks = b.arg_int("blocks");
    const std::string variant = b.arg("variant");
    if (variant != "fused" && variant != "unfused") {
        std::cerr << "--variant must be fused or unfused\n";
        return 2;
    }
    b.set_int("blocks", blocks);
    b.set_string("variant", variant);
    auto x = ts::random::normal(0, 1, {blocks * 10}, {.chunks = {10}, .seed = 1});
    auto s = ts::sqrt(ts::abs(x * 2 + 1)).sum();
    b.baseline();
    const Phases p = measure(s, variant == "fused", b.repeat());
    b.set("lower_ms", p.lower * 1e3, 2);
    b.set("index_ms", p.index * 1e3, 2);
    b.set("fuse_ms", p.fuse * 1e3, 2);
    b.set("total_ms", (p.lower + p.index + p.fuse) * 1e3, 2);
    b.set_int("n_tasks", p.n_tasks);
    b.set_int("n_tasks_optimized", p.n_tasks_optimized);
    b.finish();
    return 0;
}
