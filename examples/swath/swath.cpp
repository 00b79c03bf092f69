#include "swath.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "plot.hpp"

namespace ts = tessera;

namespace swath {

GranuleConfig full_config() { return {}; }

GranuleConfig small_config() {
    return {.n_granules = 6,
            .min_lines = 40,
            .max_lines = 64,
            .pixels_per_line = 48,
            .grid = {.lat0 = 30, .lon0 = -75, .res = 0.1, .n_lat = 40, .n_lon = 60}};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

namespace {

// Chlorophyll-a (mg m^-3) of a smooth ocean: fronts and eddies, slowly changing by granule.
float chlorophyll(double lat, double lon, std::int64_t granule) {
    double g = static_cast<double>(granule);
    double eddies = std::sin(lat * 1.3 + 0.1 * g) * std::cos(lon * 0.9 - 0.05 * g);
    return static_cast<float>(0.25 * std::exp(1.8 * eddies + 0.04 * (lat - 30)));
}

ts::NDArray make_granule(const GranuleConfig& c, std::int64_t g, ts::NDArray& lat_out,
                         ts::NDArray& lon_out) {
    const Grid& grid = c.grid;
    std::int64_t lines = c.min_lines + (g * 37) % (c.max_lines - c.min_lines + 1);
    std::int64_t pixels = c.pixels_per_line;
    double height = static_cast<double>(grid.n_lat) * grid.res;
    double width = static_cast<double>(grid.n_lon) * grid.res;
    // Swaths 40% of the region wide whose tracks sweep across it from granule to granule; the
    // along-track extent overshoots the region by 10% each side (pixels outside are dropped).
    double swath_width = 0.4 * width;
    double centre = grid.lon0 + 0.15 * width + std::fmod(static_cast<double>(g) * 0.37, 1.0) * 0.7 * width;
    double lat_start = grid.lat0 - 0.1 * height, lat_span = 1.2 * height;
    lat_out = ts::NDArray::empty(ts::float32, {lines, pixels});
    lon_out = ts::NDArray::empty(ts::float32, {lines, pixels});
    ts::NDArray chl = ts::NDArray::empty(ts::float32, {lines, pixels});
    float* la = lat_out.data<float>();
    float* lo = lon_out.data<float>();
    float* ch = chl.data<float>();
    for (std::int64_t line = 0; line < lines; ++line) {
        double along = static_cast<double>(line) / static_cast<double>(lines - 1);
        for (std::int64_t pix = 0; pix < pixels; ++pix) {
            double across = static_cast<double>(pix) / static_cast<double>(pixels - 1) - 0.5;
            double lat = lat_start + lat_span * along - 0.05 * height * across;  // slight skew
            double lon = centre + swath_width * across + 0.1 * width * (along - 0.5);
            std::int64_t k = line * pixels + pix;
            la[k] = static_cast<float>(lat);
            lo[k] = static_cast<float>(lon);
            double cloud = std::sin(0.11 * static_cast<double>(line) * 48.0 / static_cast<double>(pixels) + static_cast<double>(g)) *
                           std::cos(0.13 * static_cast<double>(pix) * 48.0 / static_cast<double>(pixels) - 0.7 * static_cast<double>(g));
            bool land = lat > grid.lat0 + 0.75 * height && lon > grid.lon0 + 0.7 * width;
            ch[k] = cloud > 0.5 || land ? std::numeric_limits<float>::quiet_NaN()
                                        : chlorophyll(lat, lon, g);
        }
    }
    return chl;
}

ts::Value grid_match(const ts::TaskContext& ctx) {
    std::string path = path_from(*ctx.inputs[0]);
    Grid grid = grid_from(*ctx.inputs[1]);
    ts::NetcdfDataset ds = ts::open_netcdf(path);
    // The reads are tasks themselves; inside this task they run right here (sync).
    ts::ComputeOptions here{.scheduler = "sync", .progress = false};
    ts::NDArray lat = ds.group("navigation_data").variable("latitude").astype(ts::float64).compute(here);
    ts::NDArray lon = ds.group("navigation_data").variable("longitude").astype(ts::float64).compute(here);
    ts::NDArray chl = ds.group("geophysical_data").variable("chlor_a").astype(ts::float64).compute(here);
    ts::NDArray sum = ts::NDArray::zeros(ts::float64, {grid.n_lat, grid.n_lon});
    ts::NDArray count = ts::NDArray::zeros(ts::int64, {grid.n_lat, grid.n_lon});
    const double* la = lat.data<double>();
    const double* lo = lon.data<double>();
    const double* ch = chl.data<double>();
    double* s = sum.data<double>();
    std::int64_t* n = count.data<std::int64_t>();
    for (std::int64_t p = 0; p < chl.size(); ++p) {
        if (std::isnan(ch[p])) continue;
        double row = std::floor((la[p] - grid.lat0) / grid.res);
        double col = std::floor((lo[p] - grid.lon0) / grid.res);
        if (!(row >= 0 && row < static_cast<double>(grid.n_lat) && col >= 0 &&
              col < static_cast<double>(grid.n_lon)))
            continue;
        std::int64_t cell = static_cast<std::int64_t>(row) * grid.n_lon + static_cast<std::int64_t>(col);
        s[cell] += ch[p];
        ++n[cell];
    }
    return ts::Value(ts::ValueList{ts::Value(sum), ts::Value(count)});
}
TESSERA_REGISTER_KERNEL(kGridMatch, grid_match);

}  // namespace

std::vector<std::string> write_granules(const std::string& dir, const GranuleConfig& config) {
    std::filesystem::create_directories(dir);
    std::vector<std::string> paths;
    for (std::int64_t g = 0; g < config.n_granules; ++g) {
        ts::NDArray lat, lon;
        ts::NDArray chl = make_granule(config, g, lat, lon);
        std::int64_t lines = chl.shape()[0];
        std::vector<std::string> dims{"number_of_lines", "pixels_per_line"};
        ts::NetcdfGroupSpec root{
            .name = "",
            .dims = {{"number_of_lines", lines}, {"pixels_per_line", config.pixels_per_line}},
            .attrs = {{"title", "Synthetic ocean-colour L2 granule"},
                      {"processing_level", "L2"},
                      {"granule", std::int32_t(g)}}};
        root.groups.push_back(
            {.name = "navigation_data",
             .variables = {{.name = "latitude", .dims = dims, .data = lat,
                            .attrs = {{"units", "degrees_north"}}},
                           {.name = "longitude", .dims = dims, .data = lon,
                            .attrs = {{"units", "degrees_east"}}}}});
        root.groups.push_back(
            {.name = "geophysical_data",
             .variables = {{.name = "chlor_a", .dims = dims, .data = chl,
                            .attrs = {{"long_name", "Chlorophyll Concentration, OCI Algorithm"},
                                      {"units", "mg m^-3"},
                                      {"scale_factor", 0.001f},
                                      {"add_offset", 0.0f},
                                      {"_FillValue", std::int16_t{-32767}}},
                            .dtype = ts::int16}}});
        paths.push_back(fmt::format("{}/granule_{:03d}.nc", dir, g));
        ts::to_netcdf(paths.back(), root);
    }
    return paths;
}

ts::Value path_value(const std::string& path) {
    std::vector<std::uint8_t> bytes(path.begin(), path.end());
    return ts::Value(ts::NDArray::from_vector(bytes));
}

std::string path_from(const ts::Value& value) {
    const ts::NDArray& a = value.array();
    const auto* p = a.contiguous().data<std::uint8_t>();
    return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(a.size()));
}

ts::Value grid_value(const Grid& grid) {
    return ts::Value(ts::NDArray::from_vector(std::vector<double>{
        grid.lat0, grid.lon0, grid.res, static_cast<double>(grid.n_lat), static_cast<double>(grid.n_lon)}));
}

Grid grid_from(const ts::Value& value) {
    ts::NDArray a = value.array().contiguous();
    const double* v = a.data<double>();
    return {.lat0 = v[0], .lon0 = v[1], .res = v[2], .n_lat = static_cast<std::int64_t>(v[3]),
            .n_lon = static_cast<std::int64_t>(v[4])};
}

ts::NDArray granule_mean(const ts::Value& sum_count) {
    const auto& pair = sum_count.list();
    ts::NDArray sum = pair.at(0).array().contiguous(), count = pair.at(1).array().contiguous();
    ts::NDArray mean = ts::NDArray::empty(ts::float64, sum.shape());
    for (std::int64_t k = 0; k < sum.size(); ++k) {
        std::int64_t n = count.data<std::int64_t>()[k];
        mean.data<double>()[k] = n ? sum.data<double>()[k] / static_cast<double>(n) : ts::nan;
    }
    return mean;
}

ts::NDArray l3_composite(const std::vector<ts::NDArray>& means) {
    std::vector<ts::Array> layers;
    for (const auto& m : means) layers.push_back(ts::from_array(m));
    return ts::nanmean(ts::stack(layers, 0), 0).compute();
}

void write_l3_zarr(const ts::NDArray& l3, const Grid& grid, const std::string& path) {
    std::string attrs = fmt::format(
        R"({{"long_name": "Chlorophyll Concentration, L3 mean", "units": "mg m^-3", )"
        R"("lat_min": {}, "lon_min": {}, "resolution_deg": {}, "grid_convention": "cell lower-left corners"}})",
        grid.lat0, grid.lon0, grid.res);
    ts::to_zarr(ts::from_array(l3.astype(ts::float32)), path,
                {.mode = "w",
                 .compressor = R"({"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 1})",
                 .dims = {"lat", "lon"},
                 .attrs = attrs,
                 .fill_value = ts::nan});
}

void draw_l3_map(const ts::NDArray& l3, const Grid& grid, const std::string& png,
                 const std::string& title) {
    std::vector<double> values(static_cast<std::size_t>(l3.size()));
    ts::NDArray c = l3.contiguous();
    for (std::size_t k = 0; k < values.size(); ++k) values[k] = std::log10(c.data<double>()[k]);
    plot::image_map(png, {.title = title,
                          .xlabel = "longitude (degrees east)",
                          .ylabel = "latitude (degrees north)",
                          .colorbar_label = "log10 chlor_a (mg m^-3)",
                          .ny = grid.n_lat,
                          .nx = grid.n_lon,
                          .values = values,
                          .x_min = grid.lon0,
                          .x_max = grid.lon0 + static_cast<double>(grid.n_lon) * grid.res,
                          .y_min = grid.lat0,
                          .y_max = grid.lat0 + static_cast<double>(grid.n_lat) * grid.res,
                          .width = 1000,
                          .height = 700});
}

// The L3 mean again, by plain loops over every pixel of every granule, read back through
// open_netcdf in this process: nothing of the futures or kernel code path is used.
bool check_against_loop(const std::vector<std::string>& paths, const Grid& grid,
                        const ts::NDArray& l3) {
    std::int64_t cells = grid.n_lat * grid.n_lon;
    std::vector<double> total(static_cast<std::size_t>(cells), 0.0);
    std::vector<std::int64_t> seen(static_cast<std::size_t>(cells), 0);
    for (const auto& path : paths) {
        auto ds = ts::open_netcdf(path);
        ts::NDArray lat = ds.group("navigation_data").variable("latitude").compute();
        ts::NDArray lon = ds.group("navigation_data").variable("longitude").compute();
        ts::NDArray chl = ds.group("geophysical_data").variable("chlor_a").astype(ts::float64).compute();
        std::vector<double> sum(static_cast<std::size_t>(cells), 0.0);
        std::vector<std::int64_t> count(static_cast<std::size_t>(cells), 0);
        for (std::int64_t p = 0; p < chl.size(); ++p) {
            double v = chl.data<double>()[p];
            if (std::isnan(v)) continue;
            double row = std::floor((static_cast<double>(lat.data<float>()[p]) - grid.lat0) / grid.res);
            double col = std::floor((static_cast<double>(lon.data<float>()[p]) - grid.lon0) / grid.res);
            if (row < 0 || col < 0 || row >= static_cast<double>(grid.n_lat) ||
                col >= static_cast<double>(grid.n_lon))
                continue;
            auto cell = static_cast<std::size_t>(static_cast<std::int64_t>(row) * grid.n_lon +
                                                 static_cast<std::int64_t>(col));
            sum[cell] += v;
            ++count[cell];
        }
        for (std::size_t cell = 0; cell < sum.size(); ++cell)
            if (count[cell]) total[cell] += sum[cell] / static_cast<double>(count[cell]), ++seen[cell];
    }
    double worst = 0;
    std::int64_t mismatched_nan = 0, filled = 0;
    for (std::int64_t cell = 0; cell < cells; ++cell) {
        double want = seen[static_cast<std::size_t>(cell)]
                          ? total[static_cast<std::size_t>(cell)] / static_cast<double>(seen[static_cast<std::size_t>(cell)])
                          : ts::nan;
        double got = l3.data<double>()[cell];
        if (std::isnan(want) != std::isnan(got)) ++mismatched_nan;
        else if (!std::isnan(want)) worst = std::max(worst, std::abs(got - want) / std::abs(want)), ++filled;
    }
    bool ok = mismatched_nan == 0 && worst < 1e-12 && filled > 0;
    fmt::print("{}: check against a direct loop over all pixels: {} filled cells, max relative "
               "error {:.1e}, {} cells empty in one but not the other\n",
               ok ? "OK" : "FAILED", filled, worst, mismatched_nan);
    return ok;
}

}  // namespace swath
