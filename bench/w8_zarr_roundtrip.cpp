// W8 zarr_roundtrip (port of ../shared/bench/dask/w8_zarr_roundtrip.py): write a float32 cube to
// Zarr v2 (Blosc zstd) and read it back.
//
// cube  = random((200, 720, 1440), chunks=(10, 720, 1440)).astype(float32)   (Philox seed 0, as
//         W3's u)  -> 20 chunks x 39.6 MiB
// write = to_zarr(cube, <fresh temp dir>, compressor Blosc(zstd, clevel 3, SHUFFLE)), store chunks
//         = array chunks, mode "w"; timed incl. array creation; the store is removed before each run
// read  = from_zarr(<dir>).mean(dtype=float64) -> ~0.5 ; the page cache is warm
// seconds = write_seconds + read_seconds (best-of-N each); gen_seconds = cube.sum(dtype=float64)
// alone (the generation + cast cost contained in write_seconds). write_cpu_seconds /
// read_cpu_seconds: the least CPU time (user + system, all threads) of a write / read run.
// The store lives under $TMPDIR (or --tmpdir) and is removed at exit.

#include <stdlib.h>
#include <sys/resource.h>

#include <filesystem>

#include "bench/common.hpp"
#include "tessera/array.hpp"
#include "tessera/io.hpp"

namespace ts = tessera;
namespace fs = std::filesystem;

namespace {

std::int64_t dir_size(const std::string& path, std::int64_t* n_files) {
    std::int64_t total = 0;
    *n_files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(path)) {
        if (!entry.is_regular_file()) continue;
        total += static_cast<std::int64_t>(entry.file_size());
        ++*n_files;
    }
    return total;
}

// CPU seconds (user + system, all threads) used by the process so far: with the machine shared,
// a phase's CPU time is a steadier measure than its wall time.
double cpu_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
    return sec(u.ru_utime) + sec(u.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
    const ts::Shape shape{200, 720, 1440};
    const ts::Shape chunks{10, 720, 1440};
    constexpr double kMB = 1024.0 * 1024.0;
    ts::bench::Bench b(argc, argv, "w8_zarr_roundtrip", {{"tmpdir", ""}});
    std::string base = b.arg("tmpdir");
    if (base.empty()) base = fs::temp_directory_path().string();
    std::string tmpl = base + "/w8zarr-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
        std::cerr << "cannot create a temporary directory under " << base << "\n";
        return 2;
    }
    const std::string tmp = tmpl, path = tmp + "/cube.zarr";
    struct Cleanup {
        std::string dir;
        ~Cleanup() {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    } cleanup{tmp};

    auto [build_s, cube] = ts::bench::timed([&] {
        return ts::random::random(shape, {.chunks = chunks, .seed = 0}).astype(ts::float32);
    });
    b.set("build_seconds", build_s, 6);
    b.baseline();

    const ts::ZarrWriteOptions write_options{
        .mode = "w",
        .compressor = R"({"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 1})",
        .compute_options = b.options()};
    std::vector<double> w_times, w_cpu;
    for (int run = 0; run < b.repeat(); ++run) {
        std::error_code ec;
        fs::remove_all(path, ec);
        const double cpu0 = cpu_seconds();
        w_times.push_back(ts::bench::timed([&] { return ts::to_zarr(cube, path, write_options); }).first);
        w_cpu.push_back(cpu_seconds() - cpu0);
    }
    const double w_best = *std::min_element(w_times.begin(), w_times.end());
    std::int64_t n_files = 0;
    const std::int64_t size = dir_size(path, &n_files);

    auto [rd_build, m] = ts::bench::timed([&] { return ts::from_zarr(path).mean({}, {.dtype = ts::float64}); });
    if (ts::from_zarr(path).chunks() != ts::Chunks::regular(shape, chunks) ||
        ts::from_zarr(path).dtype() != ts::float32) {
        std::cerr << "unexpected store chunks or dtype\n";
        return 1;
    }
    std::vector<double> r_cpu;
    auto [r_best, r_times, r] = b.best_of([&] {
        const double cpu0 = cpu_seconds();
        const double mean = m.compute(b.options()).item<double>();
        r_cpu.push_back(cpu_seconds() - cpu0);
        return mean;
    });
    auto [g_best, g_times, gsum] =
        b.best_of([&] { return cube.sum({}, {.dtype = ts::float64}).compute(b.options()).item<double>(); });

    const double raw = static_cast<double>(ts::shape_size(shape)) * 4;
    b.set("seconds", w_best + r_best, 4);
    b.set("write_seconds", w_best, 4);
    b.set_times("write_times", w_times, 4);
    b.set("read_seconds", r_best, 4);
    b.set_times("read_times", r_times, 4);
    b.set("gen_seconds", g_best, 4);
    b.set("write_cpu_seconds", *std::min_element(w_cpu.begin(), w_cpu.end()), 4);
    b.set("read_cpu_seconds", *std::min_element(r_cpu.begin(), r_cpu.end()), 4);
    b.set("read_build_seconds", rd_build, 6);
    b.set("result", r, 12);
    b.set("gen_sum", gsum, 6);
    b.set("store_mb", static_cast<double>(size) / kMB, 2);
    b.set("raw_mb", raw / kMB, 2);
    b.set("compression_ratio", raw / static_cast<double>(size), 4);
    b.set_int("n_files", n_files);
    b.set("read_mb_s", raw / kMB / r_best, 1);
    b.set("write_mb_s", raw / kMB / w_best, 1);
    b.finish();
    return std::fabs(r - 0.5) < 1e-3 ? 0 : 1;
}
