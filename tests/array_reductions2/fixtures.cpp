#include "fixtures.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace red_test {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    for (char ch : s) {
        if (ch == sep) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += ch;
        }
    }
    out.push_back(cur);
    return out;
}

ts::Shape parse_shape(const std::string& s) {
    ts::Shape shape;
    if (s.empty()) return shape;
    for (const auto& e : split(s, ',')) shape.push_back(std::stoll(e));
    return shape;
}

/// "none" | "3" | "[0,2]".
std::vector<std::int64_t> parse_ints(const std::string& s) {
    std::string body = s;
    if (!body.empty() && body.front() == '[') body = body.substr(1, body.size() - 2);
    std::vector<std::int64_t> out;
    if (body.empty()) return out;
    for (const auto& e : split(body, ',')) out.push_back(std::stoll(e));
    return out;
}

std::vector<double> parse_doubles(const std::string& s) {
    std::string body = s;
    if (!body.empty() && body.front() == '[') body = body.substr(1, body.size() - 2);
    std::vector<double> out;
    if (body.empty()) return out;
    for (const auto& e : split(body, ',')) out.push_back(std::strtod(e.c_str(), nullptr));
    return out;
}

ts::Axes axes_of(const Case& c) {
    const std::string& a = c.kwargs.at("axis");
    if (a == "none") return ts::Axes();
    if (a.front() == '[') return ts::Axes(parse_ints(a));
    return ts::Axes(static_cast<std::int64_t>(std::stoll(a)));
}

std::optional<std::int64_t> axis_of(const Case& c) {
    const std::string& a = c.kwargs.at("axis");
    if (a == "none") return std::nullopt;
    return static_cast<std::int64_t>(std::stoll(a));
}

bool flag(const Case& c, const std::string& key) {
    auto it = c.kwargs.find(key);
    return it != c.kwargs.end() && it->second == "1";
}

}  // namespace

std::string Case::describe() const {
    std::string kw;
    for (const auto& [k, v] : kwargs)
        if (k != "w_values") kw += k + "=" + v + " ";
    return fmt::format("line {}: {} {}on {} {}", line, op, kw, input.dtype(), ts::shape_str(input.shape()));
}

ts::NDArray parse_array(const std::string& dtype_name, const std::string& shape_text, const std::string& values) {
    const ts::DType dtype = ts::DType::from_name(dtype_name);
    const ts::Shape shape = parse_shape(shape_text);
    const std::int64_t n = ts::shape_size(shape);
    const std::vector<std::string> items = n == 0 ? std::vector<std::string>{} : split(values, ',');
    REQUIRE(static_cast<std::int64_t>(items.size()) == n);
    ts::NDArray out = ts::NDArray::empty(dtype, shape);
    for (std::int64_t k = 0; k < n; ++k) {
        const std::string& v = items[static_cast<std::size_t>(k)];
        ts::Scalar s;
        if (dtype.is_floating()) s = ts::Scalar(std::strtod(v.c_str(), nullptr));
        else if (dtype.is_unsigned_integer()) s = ts::Scalar(static_cast<unsigned long long>(std::stoull(v)));
        else if (dtype.is_bool()) s = ts::Scalar(v == "1");
        else s = ts::Scalar(static_cast<long long>(std::stoll(v)));
        std::vector<std::int64_t> idx(shape.size());
        std::int64_t flat = k;
        for (std::size_t axis = shape.size(); axis-- > 0;) {
            idx[axis] = flat % shape[axis];
            flat /= shape[axis];
        }
        out.set(idx, s);
    }
    return out;
}

const std::vector<Case>& fixture_cases() {
    static const std::vector<Case> cases = [] {
        std::vector<Case> out;
        std::ifstream in(std::string(TESSERA_TEST_DATA) + "/reductions2_numpy124.txt");
        REQUIRE(in.good());
        std::string line;
        int number = 0;
        while (std::getline(in, line)) {
            ++number;
            if (line.empty() || line[0] == '#') continue;
            const auto f = split(line, '\t');
            REQUIRE(f.size() == 8);
            Case c;
            c.line = number;
            c.op = f[0];
            if (!f[1].empty())
                for (const auto& kv : split(f[1], ';')) {
                    const auto eq = kv.find('=');
                    c.kwargs[kv.substr(0, eq)] = kv.substr(eq + 1);
                }
            c.input = parse_array(f[2], f[3], f[4]);
            c.expected = parse_array(f[5], f[6], f[7]);
            out.push_back(std::move(c));
        }
        return out;
    }();
    return cases;
}

std::vector<std::pair<std::string, ts::ChunkSpec>> chunkings(const ts::Shape& shape) {
    if (shape.empty()) return {{"0-d", ts::ChunkSpec()}};
    std::vector<ts::AxisChunks> whole, regular, ragged, ones;
    for (const std::int64_t extent : shape) {
        whole.push_back(ts::AxisChunks::whole());
        regular.push_back(ts::AxisChunks(2));
        ts::BlockSizes sizes;
        const std::int64_t pattern[] = {2, 0, 3, 1};
        std::int64_t left = extent;
        for (std::size_t k = 0; left > 0; ++k) {
            const std::int64_t s = std::min(pattern[k % 4], left);
            sizes.push_back(s);
            left -= s;
        }
        if (sizes.empty()) sizes.push_back(0);
        ragged.push_back(ts::AxisChunks(sizes));
        ones.push_back(ts::AxisChunks(1));
    }
    return {{"single", ts::ChunkSpec(whole)},
            {"regular", ts::ChunkSpec(regular)},
            {"ragged", ts::ChunkSpec(ragged)},
            {"ones", ts::ChunkSpec(ones)}};
}

ts::Array run_case(const Case& c, const ts::Array& x, int split_every) {
    const std::string& op = c.op;
    const bool keepdims = flag(c, "keepdims");
    const ts::ReduceOptions ro{.keepdims = keepdims, .split_every = split_every};
    if (op == "argmin") return ts::argmin(x, axis_of(c), ro);
    if (op == "argmax") return ts::argmax(x, axis_of(c), ro);
    if (op == "nanargmin") return ts::nanargmin(x, axis_of(c), ro);
    if (op == "nanargmax") return ts::nanargmax(x, axis_of(c), ro);
    if (op == "cumsum" || op == "cumprod" || op == "nancumsum" || op == "nancumprod") {
        std::optional<ts::DType> dtype;
        if (c.kwargs.count("dtype")) dtype = ts::DType::from_name(c.kwargs.at("dtype"));
        if (op == "cumsum") return ts::cumsum(x, axis_of(c), dtype);
        if (op == "cumprod") return ts::cumprod(x, axis_of(c), dtype);
        if (op == "nancumsum") return ts::nancumsum(x, axis_of(c), dtype);
        return ts::nancumprod(x, axis_of(c), dtype);
    }
    const ts::QuantileOptions qo{.keepdims = keepdims};
    if (op == "median") return ts::median(x, axes_of(c), qo);
    if (op == "nanmedian") return ts::nanmedian(x, axes_of(c), qo);
    if (op == "quantile" || op == "percentile" || op == "nanquantile" || op == "nanpercentile") {
        const std::string& q = c.kwargs.at("q");
        const std::vector<double> qs = parse_doubles(q);
        const bool list = q.front() == '[';
        if (op == "quantile") return list ? ts::quantile(x, qs, axes_of(c), qo) : ts::quantile(x, qs[0], axes_of(c), qo);
        if (op == "percentile")
            return list ? ts::percentile(x, qs, axes_of(c), qo) : ts::percentile(x, qs[0], axes_of(c), qo);
        if (op == "nanquantile")
            return list ? ts::nanquantile(x, qs, axes_of(c), qo) : ts::nanquantile(x, qs[0], axes_of(c), qo);
        return list ? ts::nanpercentile(x, qs, axes_of(c), qo) : ts::nanpercentile(x, qs[0], axes_of(c), qo);
    }
    if (op == "count_nonzero") return ts::count_nonzero(x, axes_of(c), ro);
    if (op == "nanprod") return ts::nanprod(x, axes_of(c), ro);
    if (op == "ptp") return ts::ptp(x, axes_of(c), ro);
    if (op == "moment") {
        ts::ReduceOptions mo = ro;
        mo.ddof = std::stoll(c.kwargs.at("ddof"));
        return ts::moment(x, std::stoll(c.kwargs.at("order")), axes_of(c), mo);
    }
    if (op == "average") {
        std::optional<ts::Array> w;
        if (c.kwargs.count("w_dtype")) {
            const ts::NDArray wv = parse_array(c.kwargs.at("w_dtype"), c.kwargs.at("w_shape"), c.kwargs.at("w_values"));
            w = ts::from_array(wv, wv.ndim() == x.ndim() ? ts::ChunkSpec(x.chunks()) : ts::ChunkSpec(2));
        }
        return ts::average(x, axes_of(c), w, keepdims);
    }
    FAIL("unknown fixture op " << op);
    return x;
}

std::string compare(const ts::NDArray& got, const ts::NDArray& want, double rtol, double atol) {
    if (got.dtype() != want.dtype()) return fmt::format("dtype {} instead of {}", got.dtype(), want.dtype());
    if (got.shape() != want.shape())
        return fmt::format("shape {} instead of {}", ts::shape_str(got.shape()), ts::shape_str(want.shape()));
    if (!want.dtype().is_floating()) {
        if (got.equals(want)) return "";
        return fmt::format("values differ:\n got {}\nwant {}", got.repr(), want.repr());
    }
    const ts::NDArray g = got.astype(ts::float64), w = want.astype(ts::float64);
    const double* gp = g.data<double>();
    const double* wp = w.data<double>();
    for (std::int64_t k = 0; k < g.size(); ++k) {
        const double a = gp[k], b = wp[k];
        if (std::isnan(b) && std::isnan(a)) continue;
        if (std::isinf(b) && a == b) continue;
        if (!(std::abs(a - b) <= atol + rtol * std::abs(b)))
            return fmt::format("element {}: got {} want {}\n got {}\nwant {}", k, a, b, got.repr(), want.repr());
    }
    return "";
}

std::pair<double, double> tolerance(const Case& c) {
    const bool f32 = c.input.dtype() == ts::float32 || c.expected.dtype() == ts::float32;
    if (c.op == "cumsum" || c.op == "nancumsum" || c.op == "count_nonzero" || c.op == "ptp" ||
        c.op.find("arg") != std::string::npos || c.op == "median" || c.op == "nanmedian")
        return {0.0, 0.0};
    if (c.op == "moment") return f32 ? std::pair{1e-5, 1e-5} : std::pair{1e-11, 1e-11};
    return f32 ? std::pair{2e-6, 1e-6} : std::pair{1e-13, 1e-13};
}

}  // namespace red_test
