#include "plot.hpp"

#include <plplot.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace plot {
namespace {

// One PLplot stream per figure; PLplot's state is global, so figures are drawn one at a time.
class Figure {
public:
    Figure(const std::string& path, int width, int height) {
        plsdev("pngcairo");
        plsfnam(path.c_str());
        plspage(0, 0, width, height, 0, 0);
        plscolbg(255, 255, 255);
        plscol0(1, 0, 0, 0);  // axes and labels in black
        plinit();
    }
    ~Figure() { plend(); }
    Figure(const Figure&) = delete;
    Figure& operator=(const Figure&) = delete;
};

const int kPalette[][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},
                           {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127}};

void finite_range(std::span<const double> v, double& lo, double& hi) {
    lo = std::numeric_limits<double>::infinity();
    hi = -lo;
    for (double x : v)
        if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
    if (!(lo <= hi)) lo = 0, hi = 1;
    if (lo == hi) lo -= 0.5, hi += 0.5;
}

}  // namespace

void line_chart(const std::string& path, const LineChart& chart) {
    if (chart.series.empty()) throw std::runtime_error("line_chart: no series for " + path);
    double x_lo, x_hi, y_lo, y_hi;
    std::vector<double> xs, ys;
    for (const auto& s : chart.series) {
        if (s.x.size() != s.y.size())
            throw std::runtime_error("line_chart: series '" + s.label + "' has x and y of different lengths");
        xs.insert(xs.end(), s.x.begin(), s.x.end());
        ys.insert(ys.end(), s.y.begin(), s.y.end());
    }
    finite_range(xs, x_lo, x_hi);
    finite_range(ys, y_lo, y_hi);
    double pad = 0.05 * (y_hi - y_lo);
    Figure fig(path, chart.width, chart.height);
    plcol0(1);
    // Room for the legend above the data: about 1.5 pads per legend line.
    double headroom = std::max(4.0, 2.0 + 2.0 * static_cast<double>(chart.series.size()));
    plenv(x_lo, x_hi, y_lo - pad, y_hi + headroom * pad, 0, 0);
    pllab(chart.xlabel.c_str(), chart.ylabel.c_str(), chart.title.c_str());
    std::vector<PLINT> opts, colors, line_styles;
    std::vector<PLFLT> widths;
    std::vector<const char*> texts;
    for (std::size_t k = 0; k < chart.series.size(); ++k) {
        const auto& c = kPalette[k % std::size(kPalette)];
        plscol0(2 + static_cast<PLINT>(k % 8), c[0], c[1], c[2]);
        plcol0(2 + static_cast<PLINT>(k % 8));
        plwidth(2);
        // Draw runs of finite points (NaN = gap).
        const auto& s = chart.series[k];
        std::size_t i = 0;
        while (i < s.y.size()) {
            while (i < s.y.size() && !std::isfinite(s.y[i])) ++i;
            std::size_t j = i;
            while (j < s.y.size() && std::isfinite(s.y[j])) ++j;
            if (j - i >= 2) plline(static_cast<PLINT>(j - i), s.x.data() + i, s.y.data() + i);
            else if (j - i == 1) plpoin(1, s.x.data() + i, s.y.data() + i, 17);
            i = j;
        }
        opts.push_back(PL_LEGEND_LINE);
        colors.push_back(2 + static_cast<PLINT>(k % 8));
        line_styles.push_back(1);
        widths.push_back(2);
        texts.push_back(s.label.c_str());
    }
    if (chart.series.size() > 1 || !chart.series[0].label.empty()) {
        PLFLT legend_w, legend_h;
        PLINT n = static_cast<PLINT>(texts.size());
        std::vector<PLINT> zeros(texts.size(), 0), text_colors(texts.size(), 1);
        std::vector<PLFLT> fzeros(texts.size(), 0.0);
        plwidth(1);
        pllegend(&legend_w, &legend_h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, PL_POSITION_TOP | PL_POSITION_RIGHT | PL_POSITION_INSIDE, 0.02, 0.02, 0.1, 0, 1, 1, 0, 0, n, opts.data(), 1.0, 1.0, 2.0, 1.0,
                 text_colors.data(), texts.data(), nullptr, nullptr, nullptr, nullptr,
                 colors.data(), line_styles.data(), widths.data(), zeros.data(), fzeros.data(),
                 zeros.data(), nullptr);
    }
}

void image_map(const std::string& path, const ImageMap& map) {
    if (map.ny < 1 || map.nx < 1 || static_cast<std::int64_t>(map.values.size()) != map.ny * map.nx)
        throw std::runtime_error("image_map: values do not match ny x nx for " + path);
    double lo = map.v_min, hi = map.v_max, dlo, dhi;
    finite_range(map.values, dlo, dhi);
    if (std::isnan(lo)) lo = dlo;
    if (std::isnan(hi)) hi = dhi;

    // PLplot wants z[ix][iy]; NaN cells are drawn below the colour range, in white.
    std::vector<PLFLT> cells(static_cast<std::size_t>(map.nx * map.ny));
    std::vector<PLFLT*> columns(static_cast<std::size_t>(map.nx));
    for (std::int64_t ix = 0; ix < map.nx; ++ix) {
        columns[static_cast<std::size_t>(ix)] = cells.data() + ix * map.ny;
        for (std::int64_t iy = 0; iy < map.ny; ++iy) {
            double v = map.values[static_cast<std::size_t>(iy * map.nx + ix)];
            columns[static_cast<std::size_t>(ix)][iy] = std::isfinite(v) ? std::clamp(v, lo, hi) : lo - (hi - lo);
        }
    }
    Figure fig(path, map.width, map.height);
    // Viridis-like colour map: 5 control points in RGB.
    PLFLT pos[] = {0.0, 0.25, 0.5, 0.75, 1.0};
    PLFLT r[] = {0.267, 0.230, 0.128, 0.369, 0.993};
    PLFLT g[] = {0.005, 0.322, 0.567, 0.789, 0.906};
    PLFLT b[] = {0.329, 0.546, 0.551, 0.383, 0.144};
    plscmap1n(256);
    plscmap1l(1, 5, pos, r, g, b, nullptr);
    pladv(0);
    plcol0(1);
    plvpor(0.1, 0.78, 0.12, 0.9);  // room for the colour bar, its ticks and label
    plwind(map.x_min, map.x_max, map.y_min, map.y_max);
    plbox("bcnst", 0, 0, "bcnstv", 0, 0);
    pllab(map.xlabel.c_str(), map.ylabel.c_str(), map.title.c_str());
    // Only cells within [zmin, zmax] = [lo, hi] are drawn: the NaN cells (below lo) stay white.
    plimagefr(columns.data(), static_cast<PLINT>(map.nx), static_cast<PLINT>(map.ny), map.x_min,
              map.x_max, map.y_min, map.y_max, lo, hi, lo, hi, nullptr, nullptr);
    plcol0(1);
    plbox("bc", 0, 0, "bc", 0, 0);

    PLFLT cb_w, cb_h;
    const char* labels[] = {map.colorbar_label.c_str()};
    PLINT label_opts[] = {PL_COLORBAR_LABEL_RIGHT};
    const char* axis_opts[] = {"bcvtm"};
    PLFLT ticks[] = {0.0};
    PLINT sub_ticks[] = {0};
    PLINT n_values[] = {8};
    std::vector<PLFLT> levels(8);
    for (int k = 0; k < 8; ++k) levels[static_cast<std::size_t>(k)] = lo + (hi - lo) * k / 7.0;
    const PLFLT* values[] = {levels.data()};
    plcolorbar(&cb_w, &cb_h, PL_COLORBAR_GRADIENT,
               PL_POSITION_RIGHT | PL_POSITION_OUTSIDE | PL_POSITION_VIEWPORT, 0.03, 0.0, 0.04, 0.8,
               0, 1, 1, 0, 0, 0, 0, 1, label_opts, labels, 1, axis_opts, ticks, sub_ticks, n_values,
               const_cast<const PLFLT* const*>(values));
}

}  // namespace plot
