#include "helpers.hpp"

#include <algorithm>
#include <cmath>

#include <xtensor/xarray.hpp>

#include "tessera/xtensor.hpp"

namespace linalg_test {

ts::NDArray sample(ts::DType dtype, const ts::Shape& shape, std::uint64_t seed) {
    const std::int64_t n = ts::shape_size(shape);
    std::vector<double> v(static_cast<std::size_t>(n));
    std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 12345;
    for (auto& x : v) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        const double u = static_cast<double>(state >> 11) * 0x1.0p-53;  // [0, 1)
        if (dtype.is_floating()) x = 0.5 + u;
        else if (dtype.is_bool()) x = u < 0.5 ? 1.0 : 0.0;
        else x = std::floor(u * 8.0) - 3.0;
    }
    return ts::NDArray::from_data(ts::float64, shape, v.data()).astype(dtype);
}

ts::NDArray reference_einsum(std::string_view subscripts, const std::vector<ts::NDArray>& operands,
                             ts::DType dtype) {
    const std::string text(subscripts);
    const auto arrow = text.find("->");
    REQUIRE(arrow != std::string::npos);
    std::vector<std::string> terms;
    for (std::size_t start = 0;;) {
        const auto comma = text.find(',', start);
        terms.push_back(text.substr(start, std::min(comma, arrow) - start));
        if (comma == std::string::npos || comma > arrow) break;
        start = comma + 1;
    }
    const std::string out_letters = text.substr(arrow + 2);
    REQUIRE(terms.size() == operands.size());
    std::string letters;
    std::vector<std::int64_t> sizes;
    std::vector<xt::xarray<double>> values;
    for (std::size_t k = 0; k < operands.size(); ++k) {
        values.push_back(ts::to_xarray<double>(operands[k]));
        for (std::size_t axis = 0; axis < terms[k].size(); ++axis)
            if (letters.find(terms[k][axis]) == std::string::npos) {
                letters.push_back(terms[k][axis]);
                sizes.push_back(operands[k].shape(static_cast<std::int64_t>(axis)));
            }
    }
    ts::Shape out_shape;
    for (char ch : out_letters) out_shape.push_back(sizes[letters.find(ch)]);
    std::vector<std::size_t> xshape(out_shape.begin(), out_shape.end());
    xt::xarray<double> out = xt::zeros<double>(xshape);
    const std::int64_t total = ts::shape_size(sizes);
    std::vector<std::int64_t> idx(letters.size(), 0);
    std::vector<std::size_t> at;
    for (std::int64_t flat = 0; flat < total; ++flat) {
        double product = 1.0;
        for (std::size_t k = 0; k < operands.size(); ++k) {
            at.clear();
            for (char ch : terms[k]) at.push_back(static_cast<std::size_t>(idx[letters.find(ch)]));
            product *= values[k].element(at.begin(), at.end());
        }
        at.clear();
        for (char ch : out_letters) at.push_back(static_cast<std::size_t>(idx[letters.find(ch)]));
        out.element(at.begin(), at.end()) += product;
        for (std::size_t pos = letters.size(); pos-- > 0;) {
            if (++idx[pos] < sizes[pos]) break;
            idx[pos] = 0;
        }
    }
    if (dtype.is_bool())
        for (auto& v : out) v = v != 0.0 ? 1.0 : 0.0;
    return ts::from_xexpression(out).reshape(out_shape).astype(dtype);
}

double tolerance(ts::DType dtype) {
    if (dtype == ts::float64 || dtype == ts::complex128) return 1e-12;
    if (dtype == ts::float32 || dtype == ts::complex64) return 1e-5;
    return 0.0;
}

void check_close(const ts::NDArray& actual, const ts::NDArray& expected) {
    REQUIRE(actual.dtype() == expected.dtype());
    REQUIRE(ts::shape_str(actual.shape()) == ts::shape_str(expected.shape()));
    const double tol = tolerance(expected.dtype());
    const auto a = ts::to_xarray<double>(actual), e = ts::to_xarray<double>(expected);
    std::int64_t bad = 0;
    for (std::size_t k = 0; k < e.size(); ++k) {
        const double diff = std::fabs(a.flat(k) - e.flat(k));
        if (!(diff <= tol * std::fabs(e.flat(k)))) {
            if (bad++ < 3) INFO("element " << k << ": " << a.flat(k) << " vs " << e.flat(k));
            CHECK(diff <= tol * std::fabs(e.flat(k)));
        }
    }
    CHECK(bad == 0);
}

ts::NDArray check_both(const ts::Array& a, const ts::NDArray& expected) {
    const ts::NDArray sync = a.compute({.scheduler = "sync"});
    {
        INFO("sync scheduler");
        check_close(sync, expected);
    }
    const ts::NDArray threads = a.compute({.scheduler = "threads", .num_threads = 2});
    {
        INFO("threads scheduler");
        check_close(threads, expected);
    }
    return sync;
}

std::int64_t count_op(const ts::Graph& graph, std::string_view op) {
    std::int64_t n = 0;
    for (const auto& t : graph.tasks()) n += ts::op_name(t.op) == op ? 1 : 0;
    return n;
}

ts::BlockSizes ragged(std::int64_t n) {
    ts::BlockSizes sizes;
    for (std::int64_t left = n, next = 1; left > 0; ++next) {
        sizes.push_back(std::min(left, next));
        left -= sizes.back();
    }
    if (sizes.empty()) sizes.push_back(0);
    return sizes;
}

std::vector<MatmulChunking> matmul_chunkings(std::int64_t n, std::int64_t k, std::int64_t m) {
    auto half = [](std::int64_t x) { return ts::AxisChunks(std::max<std::int64_t>(1, (x + 1) / 2)); };
    const auto whole = ts::AxisChunks::whole();
    return {{"single", ts::ChunkSpec{whole, whole}, ts::ChunkSpec{whole, whole}},
            {"regular", ts::ChunkSpec{half(n), half(k)}, ts::ChunkSpec{half(k), half(m)}},
            {"ragged", ts::ChunkSpec{ts::AxisChunks(ragged(n)), ts::AxisChunks(ragged(k))},
             ts::ChunkSpec{ts::AxisChunks(ragged(k)), ts::AxisChunks(ragged(m))}},
            {"size-1 contracted", ts::ChunkSpec{whole, ts::AxisChunks(1)}, ts::ChunkSpec{ts::AxisChunks(1), whole}}};
}

}  // namespace linalg_test
