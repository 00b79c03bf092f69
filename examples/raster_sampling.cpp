// Sampling a raster stack at moving points, as in plate reconstructions: a (time, lat, lon)
// float32 cube on a global 0.1° grid is stored as Zarr (one blosc-zstd chunk per time step),
// and the value under each of 10,000 points is extracted for every time step while the points
// rotate about a fixed Euler pole by a fixed angle per step.
//
//   cube    map_blocks("raster.field") over (200, 1801, 3601): every chunk is computed from
//           the formula when its write task runs, so the 5 GB cube is never in memory
//   local   ts::vindex(from_zarr(cube), {time, row, col}): ONE pointwise index over all
//           (time step, point) pairs; only the chunks holding points are read
//   cluster the point coordinates are computed once and scattered to both workers
//           (client.scatter with broadcast); one task per time step ("raster.sample_step")
//           runs the same vindex on its worker for its time step
//
// Writes raster_samples.csv (time, point, lon, lat, value) and raster_series.png (a few
// points' time series). The kernels are registered in this program, so it is its own worker
// program: the cluster starts it again with `--worker`.
//
//   raster_sampling            (200, 1801, 3601) cube, 10,000 points
//   raster_sampling --small    (20, 181, 361) cube on a 1° grid, 1,000 points; every sampled
//                              value must equal the formula at the nearest grid cell, exactly
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <tessera/tessera.hpp>

#include "example_main.hpp"

#include "plot.hpp"

namespace ts = tessera;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

constexpr double kDeg = ts::pi / 180;

struct Cube {
    std::int64_t n_time, n_lat, n_lon;
    double res;  // degrees; row 0 at -90, column 0 at -180
};

// A smooth "surface temperature" with a drifting wave pattern, computed in double and stored
// as float32.
float field(std::int64_t t, double lat, double lon, std::int64_t n_time) {
    double phase = 2 * ts::pi * static_cast<double>(t) / static_cast<double>(n_time);
    return static_cast<float>(28 * std::cos(lat * kDeg) - 4 +
                              5 * std::sin(2 * lon * kDeg + phase) * std::cos(lat * kDeg) +
                              3 * std::cos(3 * lat * kDeg - lon * kDeg + 2 * phase));
}

// Block kernel: fills one (1, n_lat, n_lon) chunk from the formula. params: [res, n_time].
ts::NDArray field_block(std::span<const ts::NDArray>, const ts::BlockInfo& info, const ts::Value& params) {
    ts::NDArray p = params.array().contiguous();
    double res = p.data<double>()[0];
    auto n_time = static_cast<std::int64_t>(p.data<double>()[1]);
    ts::NDArray out = ts::NDArray::empty(ts::float32, info.chunk_shape);
    float* v = out.data<float>();
    const auto& start = info.output.start;
    const auto& stop = info.output.stop;
    std::int64_t k = 0;
    for (std::int64_t t = start[0]; t < stop[0]; ++t)
        for (std::int64_t row = start[1]; row < stop[1]; ++row)
            for (std::int64_t col = start[2]; col < stop[2]; ++col)
                v[k++] = field(t, -90 + static_cast<double>(row) * res, -180 + static_cast<double>(col) * res, n_time);
    return out;
}
TESSERA_REGISTER_BLOCK_KERNEL("raster.field", field_block);

// The points at every time step: (n_time, n_points) lon and lat in degrees. Random start
// positions (fixed seed), rotated by `step_deg` per time step about an Euler pole.
struct Tracks {
    std::int64_t n_time = 0, n_points = 0;
    std::vector<double> lon, lat;  // [t * n_points + point]
};

Tracks rotate_points(std::int64_t n_time, std::int64_t n_points, double step_deg) {
    std::mt19937_64 rng(20240601);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const double pole_lat = 55 * kDeg, pole_lon = -40 * kDeg;
    const double k[3] = {std::cos(pole_lat) * std::cos(pole_lon), std::cos(pole_lat) * std::sin(pole_lon),
                         std::sin(pole_lat)};
    Tracks tr{n_time, n_points, std::vector<double>(static_cast<std::size_t>(n_time * n_points)),
              std::vector<double>(static_cast<std::size_t>(n_time * n_points))};
    for (std::int64_t point = 0; point < n_points; ++point) {
        double lon0 = (u(rng) * 360 - 180) * kDeg, lat0 = std::asin(u(rng) * 1.9 - 0.95);  // uniform on the sphere, |lat| < 72°
        double v[3] = {std::cos(lat0) * std::cos(lon0), std::cos(lat0) * std::sin(lon0), std::sin(lat0)};
        for (std::int64_t t = 0; t < n_time; ++t) {
            // Rodrigues' rotation of v about k by t * step.
            double a = static_cast<double>(t) * step_deg * kDeg, c = std::cos(a), s = std::sin(a);
            double kxv[3] = {k[1] * v[2] - k[2] * v[1], k[2] * v[0] - k[0] * v[2], k[0] * v[1] - k[1] * v[0]};
            double kv = k[0] * v[0] + k[1] * v[1] + k[2] * v[2];
            double r[3];
            for (int axis = 0; axis < 3; ++axis) r[axis] = v[axis] * c + kxv[axis] * s + k[axis] * kv * (1 - c);
            auto at = static_cast<std::size_t>(t * n_points + point);
            tr.lat[at] = std::asin(std::clamp(r[2], -1.0, 1.0)) / kDeg;
            tr.lon[at] = std::atan2(r[1], r[0]) / kDeg;
        }
    }
    return tr;
}

// Grid indices of the nearest cells: rows and columns (n_points) of time step t.
void nearest_cells(const Cube& cube, const double* lon, const double* lat, std::int64_t n,
                   std::vector<std::int64_t>& rows, std::vector<std::int64_t>& cols) {
    for (std::int64_t p = 0; p < n; ++p) {
        rows.push_back(std::clamp<std::int64_t>(std::llround((lat[p] + 90) / cube.res), 0, cube.n_lat - 1));
        cols.push_back(std::clamp<std::int64_t>(std::llround((lon[p] + 180) / cube.res), 0, cube.n_lon - 1));
    }
}

// Task: samples one time step on a worker. inputs: the scattered tracks ([lon, lat] float64
// (n_time, n_points)), the Zarr path (uint8 bytes), the time step, the cube's resolution.
ts::Value sample_step(const ts::TaskContext& ctx) {
    const auto& tracks = ctx.inputs[0]->list();
    ts::NDArray lon = tracks.at(0).array().contiguous(), lat = tracks.at(1).array().contiguous();
    ts::NDArray path_bytes = ctx.inputs[1]->array().contiguous();
    std::string path(reinterpret_cast<const char*>(path_bytes.data<std::uint8_t>()),
                     static_cast<std::size_t>(path_bytes.size()));
    auto t = ctx.inputs[2]->as<std::int64_t>();
    double res = ctx.inputs[3]->as<double>();
    ts::Array cube = ts::from_zarr(path);
    Cube c{cube.shape(0), cube.shape(1), cube.shape(2), res};
    std::int64_t n = lon.shape(1);
    std::vector<std::int64_t> rows, cols;
    nearest_cells(c, lon.data<double>() + t * n, lat.data<double>() + t * n, n, rows, cols);
    std::vector<std::int64_t> times(static_cast<std::size_t>(n), t);
    return ts::Value(ts::vindex(cube, {times, rows, cols}).compute({.scheduler = "sync", .progress = false}));
}
TESSERA_REGISTER_KERNEL("raster.sample_step", sample_step);

bool check_exact(const Cube& cube, const Tracks& tr, const ts::NDArray& values, const char* what) {
    std::int64_t wrong = 0;
    for (std::int64_t t = 0; t < tr.n_time; ++t)
        for (std::int64_t p = 0; p < tr.n_points; ++p) {
            auto at = static_cast<std::size_t>(t * tr.n_points + p);
            // Nearest cell of the grid, by its own arithmetic (cell centres at -90 + row * res).
            double row = std::round((tr.lat[at] + 90) / cube.res), col = std::round((tr.lon[at] + 180) / cube.res);
            float want = field(t, -90 + row * cube.res, -180 + col * cube.res, cube.n_time);
            if (values.data<float>()[at] != want) ++wrong;
        }
    fmt::print("{}: {} samples ({}) equal the formula at the nearest grid cell: {} differ\n",
               wrong ? "FAILED" : "OK", values.size(), what, wrong);
    return wrong == 0;
}

int run(int argc, char** argv) {
    bool small = false;
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--small") small = true;
        else {
            fmt::print(stderr, "usage: {} [--small]\n", argv[0]);
            return 2;
        }
    }
    Cube cube = small ? Cube{20, 181, 361, 1.0} : Cube{200, 1801, 3601, 0.1};
    std::int64_t n_points = small ? 1000 : 10000;
    const std::string path = "raster_cube.zarr";

    auto t0 = std::chrono::steady_clock::now();
    ts::Array base = ts::zeros({cube.n_time, cube.n_lat, cube.n_lon},
                               {.chunks = {1, cube.n_lat, cube.n_lon}, .dtype = ts::float32});
    ts::Array lazy = ts::map_blocks("raster.field", {base},
                                    {.params = ts::Value(ts::NDArray::from_vector(std::vector<double>{
                                         cube.res, static_cast<double>(cube.n_time)}))});
    ts::to_zarr(lazy, path,
                {.mode = "w",
                 .compressor = R"({"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 1})",
                 .dims = {"time", "lat", "lon"},
                 .attrs = fmt::format(R"({{"units": "degC", "resolution_deg": {}}})", cube.res)});
    fmt::print("wrote the ({}, {}, {}) float32 cube ({:.2f} GB) to {} in {:.2f} s\n", cube.n_time,
               cube.n_lat, cube.n_lon, static_cast<double>(lazy.nbytes()) / 1e9, path, seconds_since(t0));

    t0 = std::chrono::steady_clock::now();
    Tracks tracks = rotate_points(cube.n_time, n_points, 0.5);
    std::vector<std::int64_t> times, rows, cols;
    for (std::int64_t t = 0; t < cube.n_time; ++t) {
        times.insert(times.end(), static_cast<std::size_t>(n_points), t);
        nearest_cells(cube, tracks.lon.data() + t * n_points, tracks.lat.data() + t * n_points, n_points, rows, cols);
    }
    ts::NDArray local = ts::vindex(ts::from_zarr(path), {times, rows, cols}).compute();
    fmt::print("local: sampled {} points x {} time steps with one vindex in {:.2f} s\n", n_points,
               cube.n_time, seconds_since(t0));

    ts::NDArray remote = ts::NDArray::empty(ts::float32, {cube.n_time * n_points});
    {
        t0 = std::chrono::steady_clock::now();
        ts::LocalCluster cluster({.n_workers = 2,
                                  .threads_per_worker = 1,
                                  .worker_program = std::filesystem::read_symlink("/proc/self/exe").string(),
                                  .worker_args = {"--worker"}});
        ts::Client client(cluster);
        ts::Shape shape{cube.n_time, n_points};
        ts::Value shared(ts::ValueList{ts::Value(ts::NDArray::from_vector(tracks.lon, shape)),
                                       ts::Value(ts::NDArray::from_vector(tracks.lat, shape))});
        ts::Future points = client.scatter({shared}, {.broadcast = true}).at(0);
        std::string abs_path = std::filesystem::absolute(path).string();
        ts::NDArray path_bytes = ts::NDArray::from_vector(std::vector<std::uint8_t>(abs_path.begin(), abs_path.end()));
        std::vector<ts::Future> steps;
        for (std::int64_t t = 0; t < cube.n_time; ++t)
            steps.push_back(client.submit("raster.sample_step", {points, path_bytes, t, cube.res}));
        std::vector<ts::Value> got = client.gather(steps);
        for (std::int64_t t = 0; t < cube.n_time; ++t) {
            ts::NDArray v = got[static_cast<std::size_t>(t)].array().contiguous();
            std::copy_n(v.data<float>(), n_points, remote.data<float>() + t * n_points);
        }
        fmt::print("cluster: points scattered to {} workers, {} tasks (one per time step) in {:.2f} s\n",
                   client.n_workers(), cube.n_time, seconds_since(t0));
    }

    t0 = std::chrono::steady_clock::now();
    std::FILE* csv = std::fopen("raster_samples.csv", "w");
    if (!csv) throw ts::IOError("cannot write raster_samples.csv");
    fmt::print(csv, "time,point,lon,lat,value\n");
    for (std::int64_t t = 0; t < cube.n_time; ++t)
        for (std::int64_t p = 0; p < n_points; ++p) {
            auto at = static_cast<std::size_t>(t * n_points + p);
            fmt::print(csv, "{},{},{:.4f},{:.4f},{}\n", t, p, tracks.lon[at], tracks.lat[at],
                       local.data<float>()[at]);
        }
    std::fclose(csv);
    plot::LineChart chart{.title = "Values under moving points (rotation 0.5° per step)",
                          .xlabel = "time step",
                          .ylabel = "value (degC)",
                          .series = {}};
    for (std::int64_t p : {0, 1, 2, 3}) {
        auto start = static_cast<std::size_t>(p);
        double lon = tracks.lon[start], lat = tracks.lat[start];
        plot::Series s{fmt::format("point {} from {:.1f}°{} {:.1f}°{}", p, std::abs(lon), lon < 0 ? 'W' : 'E',
                                   std::abs(lat), lat < 0 ? 'S' : 'N'),
                       {},
                       {}};
        for (std::int64_t t = 0; t < cube.n_time; ++t) {
            s.x.push_back(static_cast<double>(t));
            s.y.push_back(local.data<float>()[t * n_points + p]);
        }
        chart.series.push_back(std::move(s));
    }
    plot::line_chart("raster_series.png", chart);
    fmt::print("wrote raster_samples.csv and raster_series.png in {:.2f} s\n", seconds_since(t0));

    bool same = local.equals(remote);
    fmt::print("{}: local and cluster samples {}\n", same ? "OK" : "FAILED", same ? "identical" : "DIFFER");
    if (!small) return same ? 0 : 1;
    bool ok = check_exact(cube, tracks, local, "local vindex");
    return ok && same ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return example_main("raster_sampling", argc, argv, run); }
