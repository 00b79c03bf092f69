#include "array/simd.hpp"  // first: silences GCC 12's false AVX-512 warnings in xtensor

#include "helpers.hpp"

#include <random>

namespace elem_test {

ts::NDArray sample(const ts::Shape& shape, unsigned seed, bool with_nan) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> dist(-4.0, 4.0);
    std::vector<double> v(static_cast<std::size_t>(ts::shape_size(shape)));
    for (std::size_t k = 0; k < v.size(); ++k) {
        v[k] = dist(rng);
        if (k % 7 == 3) v[k] = 0.0;
        if (with_nan && k % 11 == 5) v[k] = std::nan("");
    }
    return ts::NDArray::from_data(ts::float64, shape, v.data());
}

ts::NDArray sample_ints(const ts::Shape& shape, unsigned seed, std::int64_t low, std::int64_t high,
                        ts::DType dtype) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::int64_t> dist(low, high);
    std::vector<std::int64_t> v(static_cast<std::size_t>(ts::shape_size(shape)));
    for (auto& x : v) x = dist(rng);
    return ts::NDArray::from_data(ts::int64, shape, v.data()).astype(dtype);
}

std::vector<std::pair<std::string, ts::ChunkSpec>> chunkings(const ts::Shape& shape) {
    std::vector<std::pair<std::string, ts::ChunkSpec>> out;
    std::vector<ts::AxisChunks> whole, regular, ragged, ones;
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
        const std::int64_t n = shape[axis];
        whole.push_back(ts::AxisChunks::whole());
        regular.push_back(ts::AxisChunks(std::max<std::int64_t>(1, (n + 1) / 2)));
        // Ragged: explicit sizes 1, 2, 3, ... summing to n.
        ts::BlockSizes sizes;
        std::int64_t left = n, next = 1;
        while (left > 0) {
            sizes.push_back(std::min(left, next));
            left -= sizes.back();
            ++next;
        }
        if (sizes.empty()) sizes.push_back(0);
        ragged.push_back(ts::AxisChunks(sizes));
        ones.push_back(axis == 0 ? ts::AxisChunks(1) : ts::AxisChunks::whole());
    }
    out.emplace_back("single", ts::ChunkSpec(whole));
    out.emplace_back("regular", ts::ChunkSpec(regular));
    out.emplace_back("ragged", ts::ChunkSpec(ragged));
    out.emplace_back("size-1 along axis 0", ts::ChunkSpec(ones));
    return out;
}

ts::NDArray compute_all(const ts::Array& a) {
    ts::NDArray results[4];
    int k = 0;
    for (bool fuse : {true, false}) {
        for (const char* scheduler : {"sync", "threads"}) {
            ts::config::Scoped scoped({.scheduler = scheduler, .optimize = fuse});
            results[k++] = a.compute();
        }
    }
    for (int r = 1; r < 4; ++r) {
        INFO("run " << r << " (threads = odd, unfused = 2, 3) differs from fused sync");
        CHECK(results[r].dtype() == results[0].dtype());
        CHECK(results[r].equals(results[0], true));
    }
    return results[0];
}

bool same(const xt::xarray<double>& actual, const xt::xarray<double>& expected) {
    if (actual.shape() != expected.shape()) return false;
    for (std::size_t k = 0; k < actual.size(); ++k) {
        const double x = actual.data()[k], y = expected.data()[k];
        if (!(x == y || (std::isnan(x) && std::isnan(y)))) return false;
    }
    return true;
}

bool close(const xt::xarray<double>& actual, const xt::xarray<double>& expected, double rtol,
           double atol) {
    if (actual.shape() != expected.shape()) return false;
    for (std::size_t k = 0; k < actual.size(); ++k) {
        const double x = actual.data()[k], y = expected.data()[k];
        if (std::isnan(x) || std::isnan(y)) {
            if (std::isnan(x) != std::isnan(y)) return false;
            continue;
        }
        if (x == y) continue;  // also equal infinities
        if (!(std::abs(x - y) <= rtol * std::abs(y) + atol)) return false;
    }
    return true;
}

}  // namespace elem_test
