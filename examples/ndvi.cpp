// NDVI time series from red and near-infrared reflectance stacks, the bread and butter of
// vegetation monitoring. Synthetic (time, y, x) float32 stacks stand in for a year of satellite
// scenes: a seasonal vegetation pattern plus sensor noise, with clouds masked out as NaN (more
// clouds in winter). From them:
//
//   ndvi       = (nir - red) / (nir + red)          per pixel, NaN under clouds
//   series     = nanmean(ndvi, over y and x)        one value per time step
//   composite  = nanmax(ndvi, over time)            the classic maximum-value composite
//
// Both results come from ONE pass over the data (ts::compute shares the inputs), and no full
// stack is ever in memory: each chunk is generated, masked and reduced inside one fused kernel.
// Writes ndvi_series.png (line chart) and ndvi_composite.png (map) to the current directory.
//
//   ndvi            full size: 96 scenes of 2048 x 2048 (3 GiB of float32 inputs, lazily)
//   ndvi --small    24 scenes of 192 x 256, checked against a direct loop over the pixels
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <tessera/tessera.hpp>

#include "example_main.hpp"

#include "plot.hpp"

namespace ts = tessera;

namespace {

struct Scene {
    std::int64_t t, y, x;     // stack shape
    std::int64_t ct, cy, cx;  // chunk shape
};

// Coordinates as broadcastable (T,1,1), (1,Y,1), (1,1,X) arrays, chunked like the stack.
ts::Array axis_coordinate(const Scene& s, int axis) {
    std::int64_t n = axis == 0 ? s.t : axis == 1 ? s.y : s.x;
    std::int64_t c = axis == 0 ? s.ct : axis == 1 ? s.cy : s.cx;
    ts::Shape shape{1, 1, 1};
    shape[static_cast<std::size_t>(axis)] = n;
    return ts::reshape(ts::arange(0.0, static_cast<double>(n), 1.0, {.chunks = {c}}), shape);
}

struct Stacks {
    ts::Array red, nir;
};

// Reflectances of a landscape whose vegetation follows the season; clouds hide pixels.
Stacks synthetic_stacks(const Scene& s) {
    ts::Shape shape{s.t, s.y, s.x};
    ts::ChunkSpec chunks{s.ct, s.cy, s.cx};
    auto t = axis_coordinate(s, 0), y = axis_coordinate(s, 1), x = axis_coordinate(s, 2);
    double two_pi = 2 * ts::pi;
    auto season = 0.5 - 0.5 * ts::cos(t * (two_pi / static_cast<double>(s.t)));  // 0 winter, 1 summer
    auto fields = 0.5 + 0.5 * ts::cos(x * (3 * two_pi / static_cast<double>(s.x))) *
                            ts::sin(y * (2 * two_pi / static_cast<double>(s.y)));
    auto vegetation = fields * (0.3 + 0.7 * season);  // fraction in [0, 1]

    auto noise_red = ts::random::normal(0, 0.005, shape, {.chunks = chunks, .seed = 1});
    auto noise_nir = ts::random::normal(0, 0.01, shape, {.chunks = chunks, .seed = 2});
    auto red = 0.10 - 0.06 * vegetation + noise_red;
    auto nir = 0.20 + 0.30 * vegetation + noise_nir;

    auto cloud_fraction = 0.15 + 0.35 * (1.0 - season);
    auto cloudy = ts::random::random(shape, {.chunks = chunks, .seed = 3}) < cloud_fraction;
    return {ts::where(cloudy, ts::nan, red).astype(ts::float32),
            ts::where(cloudy, ts::nan, nir).astype(ts::float32)};
}

// The same statistics by a plain loop over the computed stacks (float32 NDVI, double sums).
bool check_against_loop(const Stacks& stacks, const ts::NDArray& series, const ts::NDArray& composite) {
    ts::NDArray red = stacks.red.compute(), nir = stacks.nir.compute();
    const float* r = red.data<float>();
    const float* n = nir.data<float>();
    std::int64_t nt = red.shape()[0], npix = red.shape()[1] * red.shape()[2];
    std::vector<float> best(static_cast<std::size_t>(npix), std::nanf(""));
    double worst_series = 0;
    bool composite_ok = true;
    for (std::int64_t t = 0; t < nt; ++t) {
        double sum = 0;
        std::int64_t count = 0;
        for (std::int64_t p = 0; p < npix; ++p) {
            std::int64_t i = t * npix + p;
            float v = (n[i] - r[i]) / (n[i] + r[i]);
            if (std::isnan(v)) continue;
            sum += v;
            ++count;
            float& b = best[static_cast<std::size_t>(p)];
            if (std::isnan(b) || v > b) b = v;
        }
        double expected = count ? sum / static_cast<double>(count) : std::nan("");
        double got = series.data<float>()[t];
        worst_series = std::max(worst_series, std::abs(got - expected) / std::abs(expected));
    }
    for (std::int64_t p = 0; p < npix; ++p) {
        float got = composite.data<float>()[p], want = best[static_cast<std::size_t>(p)];
        if (!(got == want || (std::isnan(got) && std::isnan(want)))) composite_ok = false;
    }
    bool ok = worst_series < 1e-5 && composite_ok;
    fmt::print("{}: check against a direct loop: series max relative error {:.1e}, composite {}\n",
               ok ? "OK" : "FAILED", worst_series, composite_ok ? "identical" : "DIFFERS");
    return ok;
}

}  // namespace

int run(int argc, char** argv) {
    bool small = argc > 1 && std::string_view(argv[1]) == "--small";
    Scene s = small ? Scene{24, 192, 256, 4, 96, 128} : Scene{96, 2048, 2048, 4, 1024, 1024};

    Stacks stacks = synthetic_stacks(s);
    auto ndvi = (stacks.nir - stacks.red) / (stacks.nir + stacks.red);
    auto series = ts::nanmean(ndvi, {1, 2});
    auto composite = ts::nanmax(ndvi, {0});
    fmt::print("NDVI of {} scenes of {} x {} (float32, chunks {} x {} x {}): {:.2f} GiB per band\n",
               s.t, s.y, s.x, s.ct, s.cy, s.cx,
               static_cast<double>(stacks.red.nbytes()) / (1 << 30));

    auto t0 = std::chrono::steady_clock::now();
    auto [series_values, composite_values] = ts::compute(series, composite);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fmt::print("computed the time series and the composite in {:.2f} s ({:.2f} GB/s of input)\n",
               seconds, 2.0 * static_cast<double>(stacks.red.nbytes()) / seconds / 1e9);

    plot::Series line{"mean NDVI (cloud-free pixels)", {}, {}};
    for (std::int64_t t = 0; t < s.t; ++t) {
        line.x.push_back(static_cast<double>(t));
        line.y.push_back(series_values.data<float>()[t]);
    }
    fmt::print("NDVI by scene: min {:.3f}, max {:.3f}\n",
               *std::min_element(line.y.begin(), line.y.end()),
               *std::max_element(line.y.begin(), line.y.end()));
    plot::line_chart("ndvi_series.png", {.title = "Scene-mean NDVI through the season",
                                         .xlabel = "scene (time step)",
                                         .ylabel = "NDVI",
                                         .series = {line}});
    std::vector<double> map(static_cast<std::size_t>(s.y * s.x));
    for (std::size_t k = 0; k < map.size(); ++k) map[k] = composite_values.data<float>()[k];
    plot::image_map("ndvi_composite.png", {.title = "Maximum-value NDVI composite",
                                           .xlabel = "x (pixel)",
                                           .ylabel = "y (pixel)",
                                           .colorbar_label = "NDVI",
                                           .ny = s.y,
                                           .nx = s.x,
                                           .values = map,
                                           .x_min = 0,
                                           .x_max = static_cast<double>(s.x),
                                           .y_min = 0,
                                           .y_max = static_cast<double>(s.y)});
    fmt::print("wrote ndvi_series.png and ndvi_composite.png\n");

    if (small) return check_against_loop(stacks, series_values, composite_values) ? 0 : 1;
    return 0;
}

int main(int argc, char** argv) { return example_main("ndvi", argc, argv, run); }
