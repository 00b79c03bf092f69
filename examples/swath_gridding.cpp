// Satellite swath gridding, L2 → L3: the daily work of an ocean-colour processing chain.
// Synthetic NetCDF-4 "granules" stand in for a month of L2 files: each holds a 2-d swath of
// latitude/longitude (group navigation_data, a different number_of_lines per granule) and
// chlor_a packed as int16 with scale_factor/add_offset/_FillValue (group geophysical_data),
// with clouds and land as fill. Then, with the futures API on a local cluster:
//
//   client.submit("swath.grid_match", {file, grid})   one task per file: bin its valid pixels
//                                             onto the common 0.1° grid (sum and count per cell)
//   client.gather(...)                         the per-granule grids, mean = sum / count
//   nanmean(stack(from_array(mean_g)), time)   the L3 composite
//   to_zarr(l3, "chlor_a_l3.zarr")             dims (lat, lon), CF-like attributes
//
// The kernel is registered in this program, which plain tessera-worker processes do not know;
// so the program is its own worker program: the cluster starts it again with `--worker`, and
// then it calls ts::worker_main. Writes chlor_a_l3.png (map with a colour bar).
//
//   swath_gridding [--out DIR]            30 granules of 900-1300 lines x 1000 pixels (33 M pixels)
//   swath_gridding --small [--out DIR]    6 small granules, checked against a direct loop over
//                                         every pixel and against the Zarr read back
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <tessera/tessera.hpp>

#include "example_main.hpp"

#include "swath/swath.hpp"

namespace ts = tessera;

namespace {

bool check_zarr(const std::string& path, const ts::NDArray& l3) {
    ts::Array back = ts::from_zarr(path);
    ts::NDArray stored = back.compute();
    bool ok = back.dims() == std::vector<std::string>{"lat", "lon"} &&
              stored.equals(l3.astype(ts::float32), /*equal_nan=*/true);
    fmt::print("{}: {} read back with from_zarr: dims ({}), values {}\n", ok ? "OK" : "FAILED", path,
               fmt::join(back.dims(), ", "), ok ? "identical to the float32 L3" : "DIFFER");
    return ok;
}

int run(int argc, char** argv) {
    bool small = false;
    std::string out = "granules";
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--small") small = true;
        else if (arg == "--out" && i + 1 < argc) out = argv[++i];
        else {
            fmt::print(stderr, "usage: {} [--small] [--out DIR]\n", argv[0]);
            return 2;
        }
    }
    swath::GranuleConfig config = small ? swath::small_config() : swath::full_config();
    const swath::Grid& grid = config.grid;

    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> paths = swath::write_granules(out, config);
    fmt::print("wrote {} L2 granules ({}..{} lines x {} pixels) to {}/ in {:.2f} s\n", paths.size(),
               config.min_lines, config.max_lines, config.pixels_per_line, out, swath::seconds_since(t0));

    t0 = std::chrono::steady_clock::now();
    // This very program, started again with --worker (see main).
    ts::LocalCluster cluster({.n_workers = 2,
                              .threads_per_worker = 1,
                              .worker_program = std::filesystem::read_symlink("/proc/self/exe").string(),
                              .worker_args = {"--worker"}});
    ts::Client client(cluster);
    fmt::print("local cluster at {} with {} workers (started in {:.2f} s)\n", cluster.address(),
               client.n_workers(), swath::seconds_since(t0));

    t0 = std::chrono::steady_clock::now();
    // One task per granule (Client::map passes a single argument; the kernel takes two).
    std::vector<ts::Future> futures;
    for (const auto& p : paths)
        futures.push_back(client.submit(swath::kGridMatch, {swath::path_value(p), swath::grid_value(grid)}));
    std::vector<ts::Value> binned = client.gather(futures);
    fmt::print("gridded {} granules on the cluster in {:.2f} s\n", binned.size(), swath::seconds_since(t0));

    t0 = std::chrono::steady_clock::now();
    std::vector<ts::NDArray> means;
    for (const auto& b : binned) means.push_back(swath::granule_mean(b));
    ts::NDArray l3 = swath::l3_composite(means);
    std::int64_t filled = 0;
    for (std::int64_t k = 0; k < l3.size(); ++k) filled += !std::isnan(l3.data<double>()[k]);
    fmt::print("L3 composite ({} x {} cells of {}°): {} cells with data, in {:.2f} s\n", grid.n_lat,
               grid.n_lon, grid.res, filled, swath::seconds_since(t0));

    const std::string zarr = "chlor_a_l3.zarr";
    t0 = std::chrono::steady_clock::now();
    swath::write_l3_zarr(l3, grid, zarr);
    swath::draw_l3_map(l3, grid, "chlor_a_l3.png",
                       fmt::format("L3 chlorophyll-a, mean of {} granules", paths.size()));
    fmt::print("wrote {} and chlor_a_l3.png in {:.2f} s\n", zarr, swath::seconds_since(t0));

    if (!small) return 0;
    bool ok = swath::check_against_loop(paths, grid, l3);
    ok = check_zarr(zarr, l3) && ok;
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return example_main("swath_gridding", argc, argv, run); }
