#pragma once
// Shared helpers of the elementwise tests: sample data, chunkings, whole-array xtensor
// references and the verification mode (every result computed by the sync and threads
// schedulers, fused and unfused, and required to be identical).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include "tessera/tessera.hpp"
#include "tessera/xtensor.hpp"

namespace ts = tessera;

namespace elem_test {

/// Deterministic float64 data in [-4, 4) with a few NaNs, zeros and negative values.
ts::NDArray sample(const ts::Shape& shape, unsigned seed, bool with_nan = true);
/// Deterministic integer data in [low, high] stored as `dtype`.
ts::NDArray sample_ints(const ts::Shape& shape, unsigned seed, std::int64_t low, std::int64_t high,
                        ts::DType dtype);

/// Four chunkings of `shape`: single chunk, regular, ragged, size-1 chunks along axis 0.
std::vector<std::pair<std::string, ts::ChunkSpec>> chunkings(const ts::Shape& shape);

/// The verification mode: computes `a` with the sync and threads schedulers, fused and
/// unfused; CHECKs that all four agree exactly (NaN == NaN) and returns the result.
ts::NDArray compute_all(const ts::Array& a);

/// The whole array as float64 xtensor (any dtype).
inline xt::xarray<double> xd(const ts::NDArray& a) { return ts::to_xarray<double>(a); }

/// Same shape and every element equal (NaN == NaN).
bool same(const xt::xarray<double>& actual, const xt::xarray<double>& expected);
/// Same shape, NaN in the same places, |actual - expected| <= rtol * |expected| + atol.
bool close(const xt::xarray<double>& actual, const xt::xarray<double>& expected,
           double rtol = 1e-14, double atol = 0.0);

}  // namespace elem_test
