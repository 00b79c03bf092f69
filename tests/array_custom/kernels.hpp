#pragma once
// Block kernels of the custom-operation tests (registered by name in kernels.cpp) and the
// whole-array references they are checked against.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>

#include "tessera/distributed.hpp"
#include "tessera/tessera.hpp"
#include "tessera/xtensor.hpp"

namespace custom_test {

namespace ts = tessera;

/// Deterministic float64 test data of `shape` (values in [-5, 5)).
xt::xarray<double> make_data(const ts::Shape& shape, std::uint64_t seed);
ts::NDArray to_nd(const xt::xarray<double>& x);
xt::xarray<double> to_xt(const ts::NDArray& a);

/// The whole array padded by `depth` per side along every axis with a Dask boundary rule
/// (none pads with zeros, which is what the stencil kernels assume beyond a block).
xt::xarray<double> pad(const xt::xarray<double>& x, const ts::Shape& depth, const ts::Boundary& boundary);

/// Sum over `axes` (C-order loops; xtensor's reducers trip GCC 12 false-positive warnings),
/// keeping them as length 1 when `keepdims`.
xt::xarray<double> sum_axes(const xt::xarray<double>& x, const std::vector<std::int64_t>& axes, bool keepdims);
/// Stacks two arrays of one shape along a new last axis.
xt::xarray<double> stack_last(const xt::xarray<double>& a, const xt::xarray<double>& b);

/// The 5-point Laplacian of a 2-d array (missing neighbours count as 0).
xt::xarray<double> laplacian(const xt::xarray<double>& x);
/// The 3-point moving average of a 1-d array (missing neighbours count as 0).
xt::xarray<double> moving_average(const xt::xarray<double>& x);

using Chunking = std::pair<std::string, ts::ChunkSpec>;

inline std::vector<Chunking> chunkings_2d() {  // for shape (7, 5)
    return {{"single", ts::ChunkSpec{-1, -1}},
            {"regular", ts::ChunkSpec{3, 2}},
            {"ragged", ts::ChunkSpec{ts::AxisChunks(ts::BlockSizes{2, 4, 1}), ts::AxisChunks(ts::BlockSizes{1, 3, 1})}},
            {"size-1", ts::ChunkSpec{1, -1}}};
}

inline std::vector<Chunking> chunkings_1d() {  // for shape (11,)
    return {{"single", ts::ChunkSpec{-1}},
            {"regular", ts::ChunkSpec{4}},
            {"ragged", ts::ChunkSpec{ts::AxisChunks(ts::BlockSizes{3, 1, 5, 2})}},
            {"size-1", ts::ChunkSpec{1}}};
}

inline const char* const kSchedulers[] = {"sync", "threads"};

inline ts::ComputeOptions on(const char* scheduler) {
    ts::ComputeOptions options;
    options.scheduler = scheduler;
    options.num_threads = 2;
    options.progress = false;
    return options;
}

inline void check_close(const ts::NDArray& got, const xt::xarray<double>& want) {
    REQUIRE(got.shape() == ts::Shape(want.shape().begin(), want.shape().end()));
    const xt::xarray<double> g = to_xt(got);
    CHECK(xt::allclose(g, want, 1e-12, 1e-12));
}

inline const ts::Boundary kBoundaries[] = {ts::Boundary::none(), ts::Boundary::reflect(), ts::Boundary::periodic(),
                                    ts::Boundary::constant(2.5)};

inline const char* boundary_name(const ts::Boundary& b) {
    switch (b.kind) {
        case ts::Boundary::Kind::None: return "none";
        case ts::Boundary::Kind::Reflect: return "reflect";
        case ts::Boundary::Kind::Periodic: return "periodic";
        default: return "constant";
    }
}

/// Worker mode: with TESSERA_TEST_WORKER_MODE=1 the test binary runs ts::worker_main.
ts::LocalClusterOptions self_workers(int n_workers);

}  // namespace custom_test
