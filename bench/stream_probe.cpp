// STREAM-like memory-bandwidth probe (workload "stream"): measures the machine, not Tessera, so
// the fused workloads can be reported as a share of the bandwidth they could reach.
//
//   read   sum of a --read-mib MiB float64 array (default 2048 = 2 GiB), 8 bytes per element
//   triad  a = b + 3 * c over three --triad-mib MiB arrays (default 512), 3 arrays counted:
//          with non-temporal stores (no write-allocate; triad_gb_per_s) and with ordinary stores
//          (triad_cached_stores_gb_per_s, the CPU also reads a's lines before writing them)
//
// --threads N std::threads (default: all cores; --scheduler sync = 1), each owning a contiguous
// share of every array; pages are first touched by the thread that later reads them (untimed),
// 2 MiB aligned with transparent huge pages. Best of --repeat. GB = 1e9 bytes, as STREAM and
// ../shared/bench/limits/stream.cpp (the reference probe this follows).
// Exits 1 when a sum is not the closed-form value (n * 1.0, n * 7.0).

#include <sys/mman.h>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include <cstring>
#include <memory>

#include "bench/common.hpp"

namespace {

using f64x8 = double __attribute__((vector_size(64)));

constexpr std::size_t kAlign = std::size_t{2} << 20;  // huge page
constexpr std::size_t kGrain = 64;                     // share boundaries: multiples of 64 doubles

struct FreeDeleter {
    void operator()(double* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<double, FreeDeleter>;

/// Runs fn(thread) for thread = 0..n_threads-1, thread 0 on the calling thread.
template <class F>
void parallel(int n_threads, F&& fn) {
    std::vector<std::thread> threads;
    for (int t = 1; t < n_threads; ++t) threads.emplace_back(fn, t);
    fn(0);
    for (auto& thread : threads) thread.join();
}

/// Thread t's share [begin, end) of [0, n).
std::pair<std::size_t, std::size_t> share(std::size_t n, int t, int n_threads) {
    auto cut = [&](int k) { return k == n_threads ? n : n / kGrain * k / n_threads * kGrain; };
    return {cut(t), cut(t + 1)};
}

/// n doubles, 2 MiB aligned on transparent huge pages, each thread's share filled with `value`
/// by that thread (first touch places the pages near the thread that will read them).
Buffer allocate(std::size_t n, double value, int n_threads) {
    const std::size_t bytes = (n * sizeof(double) + kAlign - 1) / kAlign * kAlign;
    auto* p = static_cast<double*>(std::aligned_alloc(kAlign, bytes));
    if (p == nullptr) {
        std::cerr << fmt::format("stream_probe: cannot allocate {} MiB\n", bytes >> 20);
        std::exit(1);
    }
    madvise(p, bytes, MADV_HUGEPAGE);
    parallel(n_threads, [&](int t) {
        auto [begin, end] = share(n, t, n_threads);
        std::fill(p + begin, p + end, value);
    });
    return Buffer(p);
}

/// Sum of x[0, n) with four independent vector accumulators (n % 32 == 0): enough loads in
/// flight to be bound by memory, not by the latency of the adds.
double sum(const double* x, std::size_t n) {
    f64x8 acc[4] = {};
    for (std::size_t elem = 0; elem < n; elem += 32) {
        for (int lane = 0; lane < 4; ++lane) {
            f64x8 v;
            std::memcpy(&v, x + elem + 8 * lane, sizeof v);
            acc[lane] += v;
        }
    }
    const f64x8 total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    double s = 0;
    for (int lane = 0; lane < 8; ++lane) s += total[lane];
    return s;
}

double parallel_sum(const double* x, std::size_t n, int n_threads) {
    std::vector<double> partial(static_cast<std::size_t>(n_threads));
    parallel(n_threads, [&](int t) {
        auto [begin, end] = share(n, t, n_threads);
        partial[static_cast<std::size_t>(t)] = sum(x + begin, end - begin);
    });
    double s = 0;
    for (double v : partial) s += v;
    return s;
}

/// a[begin, end) = b + 3 c; non-temporal stores when `streaming` and the target has them.
void triad(double* a, const double* b, const double* c, std::size_t begin, std::size_t end, bool streaming) {
    if (streaming) {
#if defined(__AVX512F__)
        for (std::size_t elem = begin; elem < end; elem += 8)
            _mm512_stream_pd(a + elem, _mm512_add_pd(_mm512_load_pd(b + elem),
                                                     _mm512_mul_pd(_mm512_set1_pd(3.0), _mm512_load_pd(c + elem))));
        return;
#elif defined(__AVX__)
        for (std::size_t elem = begin; elem < end; elem += 4)
            _mm256_stream_pd(a + elem, _mm256_add_pd(_mm256_load_pd(b + elem),
                                                     _mm256_mul_pd(_mm256_set1_pd(3.0), _mm256_load_pd(c + elem))));
        return;
#elif defined(__SSE2__)
        for (std::size_t elem = begin; elem < end; elem += 2)
            _mm_stream_pd(a + elem, _mm_add_pd(_mm_load_pd(b + elem), _mm_mul_pd(_mm_set1_pd(3.0), _mm_load_pd(c + elem))));
        return;
#endif
    }
    for (std::size_t elem = begin; elem < end; ++elem) a[elem] = b[elem] + 3.0 * c[elem];
}

}  // namespace

int main(int argc, char** argv) {
    namespace bench = tessera::bench;
    bench::Bench b(argc, argv, "stream", {{"read-mib", "2048"}, {"triad-mib", "512"}});
    const std::int64_t read_mib = b.arg_int("read-mib"), triad_mib = b.arg_int("triad-mib");
    if (read_mib < 1 || triad_mib < 1) {
        std::cerr << fmt::format("stream_probe: --read-mib {} and --triad-mib {} must be >= 1\n", read_mib, triad_mib);
        return 2;
    }
    const int n_threads = b.n_threads();
    const std::size_t n_read = static_cast<std::size_t>(read_mib) << 17;  // MiB / 8 bytes
    const std::size_t n_triad = static_cast<std::size_t>(triad_mib) << 17;
    constexpr double kGB = 1e9;
    bool ok = true;

    {  // read: freed before the triad arrays are allocated, so the peak stays at max(read, 3 triad)
        Buffer x = allocate(n_read, 1.0, n_threads);
        b.baseline();
        auto [best, times, r] = b.best_of([&] { return parallel_sum(x.get(), n_read, n_threads); });
        const double bytes = static_cast<double>(n_read * sizeof(double));
        b.set_int("threads", n_threads);
        b.set("seconds", best, 6);
        b.set_times("times", times, 6);
        b.set("result", r, 1);
        b.set_int("read_bytes", static_cast<std::int64_t>(bytes));
        b.set("gb_per_s", bytes / best / kGB, 3);
        ok = ok && r == static_cast<double>(n_read);
    }
    Buffer a = allocate(n_triad, 0.0, n_threads), bb = allocate(n_triad, 1.0, n_threads),
           c = allocate(n_triad, 2.0, n_threads);
    const double triad_bytes = 3.0 * static_cast<double>(n_triad * sizeof(double));
    for (const bool streaming : {true, false}) {
        auto [best, times, r] = b.best_of([&] {
            parallel(n_threads, [&](int t) {
                auto [begin, end] = share(n_triad, t, n_threads);
                triad(a.get(), bb.get(), c.get(), begin, end, streaming);
            });
            return 0;
        });
        const std::string prefix = streaming ? "triad" : "triad_cached_stores";
        b.set(prefix + "_seconds", best, 6);
        b.set_times(prefix + "_times", times, 6);
        b.set(prefix + "_gb_per_s", triad_bytes / best / kGB, 3);
    }
    const double triad_result = parallel_sum(a.get(), n_triad, n_threads);
    b.set("triad_result", triad_result, 1);
    b.set_int("triad_bytes", static_cast<std::int64_t>(triad_bytes));
    ok = ok && triad_result == 7.0 * static_cast<double>(n_triad);
    b.finish();
    return ok ? 0 : 1;
}
