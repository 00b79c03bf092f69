#include "helpers.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

namespace reduce_test {

const std::vector<KindInfo>& all_kinds() {
    static const std::vector<KindInfo> kinds = {
        {Kind::Sum, "sum", &ts::sum},          {Kind::Prod, "prod", &ts::prod},
        {Kind::Mean, "mean", &ts::mean},       {Kind::Var, "var", &ts::var},
        {Kind::Std, "std", &ts::std},          {Kind::Min, "min", &ts::min},
        {Kind::Max, "max", &ts::max},          {Kind::Any, "any", &ts::any},
        {Kind::All, "all", &ts::all},          {Kind::NanSum, "nansum", &ts::nansum},
        {Kind::NanMean, "nanmean", &ts::nanmean}, {Kind::NanVar, "nanvar", &ts::nanvar},
        {Kind::NanStd, "nanstd", &ts::nanstd}, {Kind::NanMin, "nanmin", &ts::nanmin},
        {Kind::NanMax, "nanmax", &ts::nanmax},
    };
    return kinds;
}

bool is_var_kind(Kind k) {
    return k == Kind::Var || k == Kind::Std || k == Kind::NanVar || k == Kind::NanStd;
}
bool is_minmax_kind(Kind k) {
    return k == Kind::Min || k == Kind::Max || k == Kind::NanMin || k == Kind::NanMax;
}

namespace {

std::uint64_t splitmix(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Multi-index of `flat` in C order.
std::vector<std::int64_t> unravel(std::int64_t flat, const ts::Shape& shape) {
    std::vector<std::int64_t> idx(shape.size());
    for (std::size_t axis = shape.size(); axis-- > 0;) {
        idx[axis] = flat % shape[axis];
        flat /= shape[axis];
    }
    return idx;
}

}  // namespace

ts::NDArray make_data(ts::DType dtype, const ts::Shape& shape, std::uint64_t seed, double nan_fraction) {
    std::int64_t n = 1;
    for (auto e : shape) n *= e;
    std::vector<double> values(static_cast<std::size_t>(n));
    std::uint64_t state = seed * 7919 + 17;
    const bool inexact = dtype.is_floating() || dtype.is_complex();
    for (auto& v : values) {
        const std::uint64_t r = splitmix(state);
        if (inexact) {
            v = static_cast<double>(static_cast<std::int64_t>(r % 128) - 64) / 16.0 +
                static_cast<double>((r >> 20) % 1000) * 1e-5;
            if (static_cast<double>((r >> 40) % 1000) < nan_fraction * 1000) v = std::nan("");
        } else if (dtype.is_bool()) {
            v = static_cast<double>((r >> 7) % 3 != 0);
        } else if (dtype.is_unsigned_integer()) {
            v = static_cast<double>(r % 200);
        } else {
            v = static_cast<double>(static_cast<std::int64_t>(r % 200) - 100);
        }
    }
    ts::NDArray f = ts::NDArray::from_data(ts::float64, shape, values.data());
    return dtype == ts::float64 ? f : f.astype(dtype);
}

Ref reference(Kind kind, const ts::NDArray& x, std::span<const std::int64_t> axes, bool keepdims,
              std::int64_t ddof) {
    const ts::Shape& shape = x.shape();
    std::vector<bool> reduced(shape.size(), false);
    for (auto a : axes) reduced[static_cast<std::size_t>(a)] = true;
    Ref ref;
    ts::Shape kept;  // shape of the output with the reduced axes kept as 1
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
        kept.push_back(reduced[axis] ? 1 : shape[axis]);
        if (!reduced[axis]) ref.shape.push_back(shape[axis]);
        else if (keepdims) ref.shape.push_back(1);
    }
    std::int64_t n_out = 1;
    for (auto e : kept) n_out *= e;
    std::vector<std::vector<long double>> lanes(static_cast<std::size_t>(n_out));
    std::int64_t n_in = 1;
    for (auto e : shape) n_in *= e;
    for (std::int64_t flat = 0; flat < n_in; ++flat) {
        auto idx = unravel(flat, shape);
        std::int64_t out = 0;
        for (std::size_t axis = 0; axis < shape.size(); ++axis)
            out = out * kept[axis] + (reduced[axis] ? 0 : idx[axis]);
        lanes[static_cast<std::size_t>(out)].push_back(x.at<double>(idx));
    }
    const long double nan = std::numeric_limits<long double>::quiet_NaN();
    for (const auto& all : lanes) {
        const bool skip = kind == Kind::NanSum || kind == Kind::NanMean || kind == Kind::NanVar ||
                          kind == Kind::NanStd || kind == Kind::NanMin || kind == Kind::NanMax;
        std::vector<long double> v;
        bool has_nan = false;
        for (long double e : all) {
            if (std::isnan(e)) has_nan = true;
            if (!(skip && std::isnan(e))) v.push_back(e);
        }
        const auto n = static_cast<long double>(v.size());
        long double sum = 0, abs_sum = 0, prod = 1;
        for (long double e : v) sum += e, abs_sum += std::fabs(e), prod *= e;
        long double value = 0, scale = 0;
        switch (kind) {
            case Kind::Sum:
            case Kind::NanSum: value = sum, scale = abs_sum; break;
            case Kind::Prod: value = prod; break;
            case Kind::Mean:
            case Kind::NanMean:
                value = v.empty() ? nan : sum / n;
                scale = v.empty() ? 0 : abs_sum / n;
                break;
            case Kind::Var:
            case Kind::Std:
            case Kind::NanVar:
            case Kind::NanStd: {
                long double mean = v.empty() ? 0 : sum / n, m2 = 0, sq = 0;
                for (long double e : v) m2 += (e - mean) * (e - mean), sq += e * e;
                const long double dof = n - static_cast<long double>(ddof);
                if (kind == Kind::Var || kind == Kind::Std) value = m2 / std::max(dof, 0.0L);
                else value = dof <= 0 ? nan : m2 / dof;
                scale = v.empty() ? 0 : sq / n;
                if (kind == Kind::Std || kind == Kind::NanStd) value = std::sqrt(value), scale = std::sqrt(scale);
                break;
            }
            case Kind::Min:
            case Kind::Max:
            case Kind::NanMin:
            case Kind::NanMax: {
                const bool is_max = kind == Kind::Max || kind == Kind::NanMax;
                if (v.empty() || (!skip && has_nan)) {
                    value = nan;
                } else {
                    value = v[0];
                    for (long double e : v) value = is_max ? std::max(value, e) : std::min(value, e);
                }
                break;
            }
            case Kind::Any:
            case Kind::All: {
                const bool is_all = kind == Kind::All;
                bool r = is_all;
                for (long double e : all) r = is_all ? (r && e != 0) : (r || e != 0);
                value = r ? 1 : 0;
                break;
            }
        }
        ref.values.push_back(value);
        ref.scale.push_back(scale);
    }
    return ref;
}

std::string compare(const ts::NDArray& got, const Ref& ref, ts::DType dtype, double rtol) {
    if (got.dtype() != dtype) return fmt::format("dtype {} != expected {}", got.dtype(), dtype);
    if (got.shape() != ref.shape)
        return fmt::format("shape {} != expected {}", ts::shape_str(got.shape()), ts::shape_str(ref.shape));
    for (std::int64_t flat = 0; flat < got.size(); ++flat) {
        auto idx = unravel(flat, got.shape());
        const long double g = got.at<double>(idx);
        const long double r = ref.values[static_cast<std::size_t>(flat)];
        bool ok;
        if (std::isnan(r) || std::isinf(r)) ok = (std::isnan(r) && std::isnan(g)) || g == r;
        else ok = std::fabs(g - r) <= rtol * (std::fabs(r) + ref.scale[static_cast<std::size_t>(flat)]);
        if (!ok)
            return fmt::format("element {} is {} but the reference is {}", ts::shape_str(idx),
                               static_cast<double>(g), static_cast<double>(r));
    }
    return "";
}

bool same_bits(const ts::NDArray& a, const ts::NDArray& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    const ts::NDArray ca = a.contiguous(), cb = b.contiguous();
    return a.nbytes() == 0 || std::memcmp(ca.raw_data(), cb.raw_data(), static_cast<std::size_t>(a.nbytes())) == 0;
}

std::vector<std::pair<std::string, ts::ChunkSpec>> chunkings(const ts::Shape& shape) {
    if (shape.empty()) return {{"0-d", ts::ChunkSpec()}};
    std::vector<ts::AxisChunks> whole, regular, ragged, ones;
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
        const std::int64_t extent = shape[axis];
        whole.push_back(ts::AxisChunks::whole());
        regular.push_back(ts::AxisChunks(2));
        // Irregular sizes including empty blocks: 2, 0, 3, 1, 2, 0, 3, ...
        ts::BlockSizes sizes;
        const std::int64_t pattern[] = {2, 0, 3, 1};
        std::int64_t left = extent;
        for (std::size_t k = 0; left > 0; ++k) {
            std::int64_t s = std::min(pattern[k % 4], left);
            sizes.push_back(s);
            left -= s;
        }
        if (sizes.empty()) sizes.push_back(0);
        ragged.push_back(ts::AxisChunks(sizes));
        ones.push_back(axis == 0 ? ts::AxisChunks(1) : ts::AxisChunks::whole());
    }
    return {{"single", ts::ChunkSpec(whole)},
            {"regular", ts::ChunkSpec(regular)},
            {"ragged", ts::ChunkSpec(ragged)},
            {"ones-axis0", ts::ChunkSpec(ones)}};
}

std::vector<AxisChoice> axis_choices(std::int64_t ndim) {
    std::vector<AxisChoice> out;
    std::vector<std::int64_t> every;
    for (std::int64_t a = 0; a < ndim; ++a) every.push_back(a);
    out.push_back({"all", ts::Axes(), every});
    out.push_back({"()", ts::Axes(std::vector<std::int64_t>{}), {}});
    for (std::int64_t a = 0; a < ndim; ++a) out.push_back({fmt::format("{}", a), ts::Axes(a), {a}});
    if (ndim >= 1) out.push_back({"-1", ts::Axes(-1), {ndim - 1}});
    if (ndim >= 2) {
        out.push_back({"(-1, 0)", ts::Axes({-1, 0}), {0, ndim - 1}});
        out.push_back({"(0, 1)", ts::Axes({0, 1}), {0, 1}});
    }
    if (ndim >= 3) {
        out.push_back({"(2, 1)", ts::Axes({2, 1}), {1, 2}});
        out.push_back({"(0, 1, 2)", ts::Axes({0, 1, 2}), {0, 1, 2}});
    }
    return out;
}

}  // namespace reduce_test
