#pragma once
// Shared code of the swath-gridding examples (swath_gridding.cpp, cluster_run.cpp): a generator
// of synthetic ocean-colour L2 granules (NetCDF-4, laid out like NASA OBPG files), the registered
// kernel "swath.grid_match" that bins one granule onto the common L3 grid, and the L3 steps
// after the gather (stack over time, nanmean, Zarr, PNG).
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <tessera/tessera.hpp>

namespace swath {

/// The common L3 grid: cell (row, col) covers [lat0 + row*res, lat0 + (row+1)*res) x
/// [lon0 + col*res, ...); row 0 is the southernmost.
struct Grid {
    double lat0 = 30, lon0 = -75, res = 0.1;
    std::int64_t n_lat = 200, n_lon = 300;
};

struct GranuleConfig {
    std::int64_t n_granules = 30;
    std::int64_t min_lines = 900, max_lines = 1300;  // number_of_lines varies per granule
    std::int64_t pixels_per_line = 1000;
    Grid grid;
};

GranuleConfig full_config();
GranuleConfig small_config();

/// Writes the granules as `dir`/granule_NNN.nc (creating `dir`) and returns their paths.
/// Throws tessera::IOError when a file cannot be written.
std::vector<std::string> write_granules(const std::string& dir, const GranuleConfig& config);

/// A path as a Value that crosses processes (a uint8 array of its bytes), and back.
tessera::Value path_value(const std::string& path);
std::string path_from(const tessera::Value& value);
/// The grid as a Value (float64 [lat0, lon0, res, n_lat, n_lon]).
tessera::Value grid_value(const Grid& grid);
Grid grid_from(const tessera::Value& value);

/// Name of the registered kernel: inputs (path, grid) → list [sum (float64 n_lat x n_lon),
/// count (int64 n_lat x n_lon)] of the granule's valid chlor_a pixels per cell.
inline constexpr const char* kGridMatch = "swath.grid_match";

/// The per-granule mean (NaN where a cell got no pixel) from a gathered [sum, count] pair.
tessera::NDArray granule_mean(const tessera::Value& sum_count);

/// Stacks the per-granule means over time (from_array + stack) and takes the nanmean over
/// time: the L3 composite (float64, n_lat x n_lon, NaN where no granule saw the cell).
tessera::NDArray l3_composite(const std::vector<tessera::NDArray>& means);

/// Writes the L3 product as float32 Zarr with dims (lat, lon) and CF-like attributes.
void write_l3_zarr(const tessera::NDArray& l3, const Grid& grid, const std::string& path);

/// Draws the L3 map with a colour bar (log10 of chlor_a) to `png`.
void draw_l3_map(const tessera::NDArray& l3, const Grid& grid, const std::string& png,
                 const std::string& title);

/// The L3 mean again, by plain loops over every pixel of every granule read through open_netcdf
/// in this process (nothing of the kernel or the futures path); prints and returns whether `l3`
/// matches it (same empty cells, relative error < 1e-12).
bool check_against_loop(const std::vector<std::string>& paths, const Grid& grid,
                        const tessera::NDArray& l3);

double seconds_since(std::chrono::steady_clock::time_point t0);

}  // namespace swath
