// Registered block kernels of the custom-operation tests, the references, and the worker mode
// of the test binary (so LocalCluster workers know the same kernels).
#include "tests/support/worker_mode.hpp"
#include "kernels.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "tessera/distributed.hpp"
#include "tessera/xtensor.hpp"

namespace custom_test {

xt::xarray<double> make_data(const ts::Shape& shape, std::uint64_t seed) {
    std::vector<std::size_t> s(shape.begin(), shape.end());
    xt::xarray<double> x = xt::xarray<double>::from_shape(s);
    std::uint64_t state = seed * 6364136223846793005ull + 1442695040888963407ull;
    for (auto& v : x) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        v = static_cast<double>((state >> 33) % 1000) / 100.0 - 5.0;
    }
    return x;
}

ts::NDArray to_nd(const xt::xarray<double>& x) { return ts::from_xexpression(x); }
xt::xarray<double> to_xt(const ts::NDArray& a) { return ts::to_xarray<double>(a); }

namespace {

// The source index of padded position p (in [-d, n + d)) along an axis of length n, or -1 for
// a zero fill.
std::int64_t source(std::int64_t p, std::int64_t n, const ts::Boundary& b) {
    if (p >= 0 && p < n) return p;
    switch (b.kind) {
        case ts::Boundary::Kind::Periodic:
            return ((p % n) + n) % n;
        case ts::Boundary::Kind::Reflect:
            return p < 0 ? -p - 1 : 2 * n - p - 1;
        default:
            return -1;
    }
}

}  // namespace

xt::xarray<double> pad(const xt::xarray<double>& x, const ts::Shape& depth, const ts::Boundary& boundary) {
    const std::size_t ndim = x.dimension();
    std::vector<std::size_t> shape(ndim);
    for (std::size_t a = 0; a < ndim; ++a) shape[a] = x.shape()[a] + 2 * static_cast<std::size_t>(depth[a]);
    const double fill = boundary.kind == ts::Boundary::Kind::Constant ? boundary.value : 0.0;
    xt::xarray<double> out = xt::xarray<double>::from_shape(shape);
    std::vector<std::size_t> idx(ndim, 0), src(ndim);
    const std::size_t total = out.size();
    for (std::size_t flat = 0; flat < total; ++flat) {
        bool filled = false;
        for (std::size_t a = 0; a < ndim; ++a) {
            const std::int64_t s = source(static_cast<std::int64_t>(idx[a]) - depth[a],
                                          static_cast<std::int64_t>(x.shape()[a]), boundary);
            filled = filled || s < 0;
            src[a] = static_cast<std::size_t>(std::max<std::int64_t>(s, 0));
        }
        out.element(idx.begin(), idx.end()) = filled ? fill : x.element(src.begin(), src.end());
        for (std::size_t a = ndim; a-- > 0;) {
            if (++idx[a] < shape[a]) break;
            idx[a] = 0;
        }
    }
    return out;
}

xt::xarray<double> sum_axes(const xt::xarray<double>& x, const std::vector<std::int64_t>& axes, bool keepdims) {
    const std::size_t ndim = x.dimension();
    std::vector<std::size_t> kept_shape(x.shape().begin(), x.shape().end()), out_shape;
    for (auto a : axes) kept_shape[static_cast<std::size_t>(a)] = 1;
    for (std::size_t a = 0; a < ndim; ++a)
        if (keepdims || std::find(axes.begin(), axes.end(), static_cast<std::int64_t>(a)) == axes.end())
            out_shape.push_back(kept_shape[a]);
    xt::xarray<double> out = xt::xarray<double>::from_shape(kept_shape);
    std::fill(out.begin(), out.end(), 0.0);
    std::vector<std::size_t> idx(ndim, 0), dst(ndim);
    for (std::size_t flat = 0; flat < x.size(); ++flat) {
        for (std::size_t a = 0; a < ndim; ++a) dst[a] = kept_shape[a] == 1 ? 0 : idx[a];
        out.element(dst.begin(), dst.end()) += x.element(idx.begin(), idx.end());
        for (std::size_t a = ndim; a-- > 0;) {
            if (++idx[a] < x.shape()[a]) break;
            idx[a] = 0;
        }
    }
    out.reshape(out_shape);
    return out;
}

xt::xarray<double> stack_last(const xt::xarray<double>& a, const xt::xarray<double>& b) {
    std::vector<std::size_t> shape(a.shape().begin(), a.shape().end());
    shape.push_back(2);
    xt::xarray<double> out = xt::xarray<double>::from_shape(shape);
    for (std::size_t k = 0; k < a.size(); ++k) {
        out.data()[2 * k] = a.data()[k];
        out.data()[2 * k + 1] = b.data()[k];
    }
    return out;
}

xt::xarray<double> laplacian(const xt::xarray<double>& x) {
    const auto n0 = static_cast<std::int64_t>(x.shape()[0]), n1 = static_cast<std::int64_t>(x.shape()[1]);
    xt::xarray<double> out = xt::zeros<double>(x.shape());
    auto at = [&](std::int64_t i, std::int64_t j) {
        return i < 0 || j < 0 || i >= n0 || j >= n1 ? 0.0
                                                     : x(static_cast<std::size_t>(i), static_cast<std::size_t>(j));
    };
    for (std::int64_t i = 0; i < n0; ++i)
        for (std::int64_t j = 0; j < n1; ++j)
            out(static_cast<std::size_t>(i), static_cast<std::size_t>(j)) =
                at(i - 1, j) + at(i + 1, j) + at(i, j - 1) + at(i, j + 1) - 4 * at(i, j);
    return out;
}

xt::xarray<double> moving_average(const xt::xarray<double>& x) {
    const auto n = static_cast<std::int64_t>(x.size());
    xt::xarray<double> out = xt::zeros<double>(x.shape());
    auto at = [&](std::int64_t i) { return i < 0 || i >= n ? 0.0 : x(static_cast<std::size_t>(i)); };
    for (std::int64_t i = 0; i < n; ++i) out(static_cast<std::size_t>(i)) = (at(i - 1) + at(i) + at(i + 1)) / 3.0;
    return out;
}

namespace {

using Blocks = std::span<const ts::NDArray>;

// Sum of the (broadcast) blocks times params (default 1).
ts::NDArray add_scaled(Blocks blocks, const ts::BlockInfo&, const ts::Value& params) {
    const double k = params.is_none() ? 1.0 : params.as<double>();
    xt::xarray<double> total = to_xt(blocks[0]);
    for (std::size_t b = 1; b < blocks.size(); ++b) total = total + to_xt(blocks[b]);
    return to_nd(total * k);
}
TESSERA_REGISTER_BLOCK_KERNEL("tests.add_scaled", add_scaled);

// Every element's C-order position in the whole output, from info.output (tests BlockInfo).
ts::NDArray global_index(Blocks, const ts::BlockInfo& info, const ts::Value&) {
    ts::NDArray out = ts::NDArray::empty(ts::int64, info.chunk_shape);
    const auto strides = ts::c_strides(info.output.shape);
    std::vector<std::int64_t> idx(info.chunk_shape.size(), 0);
    for (std::int64_t flat = 0; flat < out.size(); ++flat) {
        std::int64_t g = 0;
        for (std::size_t a = 0; a < idx.size(); ++a) g += (info.output.start[a] + idx[a]) * strides[a];
        out.set(idx, ts::Scalar(g));
        for (std::size_t a = idx.size(); a-- > 0;) {
            if (++idx[a] < info.chunk_shape[a]) break;
            idx[a] = 0;
        }
    }
    return out;
}
TESSERA_REGISTER_BLOCK_KERNEL("tests.global_index", global_index);

ts::NDArray row_sums(Blocks blocks, const ts::BlockInfo&, const ts::Value&) {
    return to_nd(sum_axes(to_xt(blocks[0]), {1}, false));
}
TESSERA_REGISTER_BLOCK_KERNEL("tests.row_sums", row_sums);

// Each row repeated twice (blocks change shape along axis 0).
ts::NDArray repeat_rows(Blocks blocks, const ts::BlockInfo&, const ts::Value&) {
    const xt::xarray<double> x = to_xt(blocks[0]);
    xt::xarray<double> out = xt::zeros<double>({2 * x.shape()[0], x.shape()[1]});
    for (std::size_t i = 0; i < out.shape()[0]; ++i) xt::row(out, static_cast<std::ptrdiff_t>(i)) = xt::row(x, static_cast<std::ptrdiff_t>(i / 2));
    return to_nd(out);
}
TESSERA_REGISTER_BLOCK_KERNEL("tests.repeat_rows", repeat_rows);

// A new last axis of 2: (x, -x).
ts::NDArray with_negation(Blocks blocks, const ts::BlockInfo&, const ts::Value&) {
    const xt::xarray<double> x = to_xt(blocks[0]);
    return to_nd(stack_last(x, -x));
}
TESSERA_REGISTER_BLOCK_KERNEL("tests.with_negation", with_negation);

ts::NDArray to_float32(Blocks blocks, const ts::BlockInfo&, const ts::Value&) { return blocks[0].astype(ts::float32); }
TESSERA_REGISTER_BLOCK_KERNEL("tests.to_float32", to_float32);

ts::NDArray first_row(Blocks blocks, const ts::BlockInfo&, const ts::Value&) { return blocks[0].slice(0, 0, 1).copy(); }
TESSERA_REGISTER_BLOCK_KERNEL("tests.first_row", first_row);

ts::NDArray identity(Blocks blocks, const ts::BlockInfo&, const ts::Value&) { return blocks[0]; }
TESSERA_REGISTER_BLOCK_KERNEL("tests.identity", identity);

ts::NDArray laplacian_kernel(Blocks blocks, const ts::BlockInfo&, const ts::Value&) {
    return to_nd(laplacian(to_xt(blocks[0])));
}
TESSERA_REGISTER_BLOCK_KERNEL("tests.laplacian", laplacian_kernel);

ts::NDArray moving_average_kernel(Blocks blocks, const ts::BlockInfo&, const ts::Value&) {
    return to_nd(moving_average(to_xt(blocks[0])));
}
TESSERA_REGISTER_BLOCK_KERNEL("tests.moving_average", moving_average_kernel);

ts::NDArray matmul(Blocks blocks, const ts::BlockInfo&, const ts::Value&) {
    const xt::xarray<double> a = to_xt(blocks[0]), b = to_xt(blocks[1]);
    xt::xarray<double> out = xt::zeros<double>({a.shape()[0], b.shape()[1]});
    for (std::size_t i = 0; i < a.shape()[0]; ++i)
        for (std::size_t k = 0; k < a.shape()[1]; ++k)
            for (std::size_t j = 0; j < b.shape()[1]; ++j) out(i, j) += a(i, k) * b(k, j);
    return to_nd(out);
}
TESSERA_REGISTER_BLOCK_KERNEL("tests.matmul", matmul);

ts::NDArray outer(Blocks blocks, const ts::BlockInfo&, const ts::Value&) {
    const xt::xarray<double> a = to_xt(blocks[0]), b = to_xt(blocks[1]);
    xt::xarray<double> out = xt::zeros<double>({a.size(), b.size()});
    for (std::size_t i = 0; i < a.size(); ++i)
        for (std::size_t j = 0; j < b.size(); ++j) out(i, j) = a(i) * b(j);
    return to_nd(out);
}
TESSERA_REGISTER_BLOCK_KERNEL("tests.outer", outer);

ts::NDArray transpose2(Blocks blocks, const ts::BlockInfo&, const ts::Value&) {
    return blocks[0].transpose().copy();
}
TESSERA_REGISTER_BLOCK_KERNEL("tests.transpose", transpose2);

// Reductions: sum of squares (chunk), sum (combine) and sqrt of the sum (aggregate) along
// info.axis, keeping the axes.
ts::NDArray sum_squares(Blocks blocks, const ts::BlockInfo& info, const ts::Value&) {
    const xt::xarray<double> x = to_xt(blocks[0]);
    return to_nd(sum_axes(x * x, info.axis, true));
}
TESSERA_REGISTER_BLOCK_KERNEL("tests.sum_squares", sum_squares);

ts::NDArray sum_keep(Blocks blocks, const ts::BlockInfo& info, const ts::Value&) {
    return to_nd(sum_axes(to_xt(blocks[0]), info.axis, true));
}
TESSERA_REGISTER_BLOCK_KERNEL("tests.sum_keep", sum_keep);

ts::NDArray sqrt_sum(Blocks blocks, const ts::BlockInfo& info, const ts::Value&) {
    xt::xarray<double> s = sum_axes(to_xt(blocks[0]), info.axis, true);
    for (auto& v : s) v = std::sqrt(v);
    return to_nd(s);
}
TESSERA_REGISTER_BLOCK_KERNEL("tests.sqrt_sum", sqrt_sum);

// apply_along_axis kernels on one 1-d slice.
ts::NDArray cumsum_1d(Blocks blocks, const ts::BlockInfo&, const ts::Value&) {
    return to_nd(xt::cumsum(to_xt(blocks[0])));
}
TESSERA_REGISTER_BLOCK_KERNEL("tests.cumsum", cumsum_1d);

ts::NDArray min_max_1d(Blocks blocks, const ts::BlockInfo&, const ts::Value&) {
    const xt::xarray<double> x = to_xt(blocks[0]);
    return to_nd(xt::xarray<double>{xt::amin(x)(), xt::amax(x)()});
}
TESSERA_REGISTER_BLOCK_KERNEL("tests.min_max", min_max_1d);

ts::NDArray sum_1d(Blocks blocks, const ts::BlockInfo&, const ts::Value&) {
    return ts::NDArray::scalar(ts::Scalar(xt::sum(to_xt(blocks[0]))()));
}
TESSERA_REGISTER_BLOCK_KERNEL("tests.sum_1d", sum_1d);

ts::Value not_a_block_kernel(const ts::TaskContext&) { return ts::Value(); }
TESSERA_REGISTER_KERNEL("tests.raw_op", not_a_block_kernel);

// After the kernels (same translation unit: initialized in order).
const struct WorkerMode {
    WorkerMode() { test_support::become_worker_if_asked(); }
} g_worker_mode;

}  // namespace

ts::LocalClusterOptions self_workers(int n_workers) {
    ts::LocalClusterOptions options;
    options.n_workers = n_workers;
    options.threads_per_worker = 1;
    char path[4096] = {};
    const auto n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    options.worker_program = std::string(path, n > 0 ? static_cast<std::size_t>(n) : 0);
    options.worker_env = {{"TESSERA_TEST_WORKER_MODE", "1"}};
    return options;
}

}  // namespace custom_test
