#pragma once
// Figures of the examples, drawn with PLplot (Debian libplplot-dev, cairo PNG driver).
// Small on purpose: a line chart and a colour-mapped image with a colour bar are all the
// examples need. Every function writes one PNG and throws std::runtime_error when it cannot.
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace plot {

struct Series {
    std::string label;
    std::vector<double> x, y;  // NaN y values leave gaps
};

struct LineChart {
    std::string title, xlabel, ylabel;
    std::vector<Series> series;
    int width = 1000, height = 600;
};
void line_chart(const std::string& path, const LineChart& chart);

/// A 2-d field (row-major, ny rows of nx values, row 0 at y_min) mapped to colours; NaN cells
/// stay white. Axes span [x_min, x_max] × [y_min, y_max].
struct ImageMap {
    std::string title, xlabel, ylabel, colorbar_label;
    std::int64_t ny = 0, nx = 0;
    std::span<const double> values;
    double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
    /// Colour range; NaN = the data's finite min/max.
    double v_min = std::numeric_limits<double>::quiet_NaN();
    double v_max = std::numeric_limits<double>::quiet_NaN();
    int width = 1000, height = 600;
};
void image_map(const std::string& path, const ImageMap& map);

}  // namespace plot
