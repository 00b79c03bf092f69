#pragma once
// Helpers of the NetCDF tests: temporary directories and deterministic data of every dtype.

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "tests/support/temp_dir.hpp"
#include "tessera/tessera.hpp"

namespace nctest {

namespace ts = tessera;

/// A fresh directory "/tmp/tessera_nc_XXXXXX", removed with everything in it.
class TempDir : public test_support::TempDir {
public:
    TempDir() : test_support::TempDir("tessera_nc") {}
};

/// Deterministic values of `dtype` (a multiplicative hash of the flat index), covering negative
/// values, large magnitudes and, for floats, fractions.
inline ts::NDArray pattern(ts::DType dtype, const ts::Shape& shape, std::uint64_t seed = 1) {
    ts::NDArray out = ts::NDArray::empty(dtype, shape);
    ts::NDArray flat = out.reshape({out.size()});
    for (std::int64_t k = 0; k < out.size(); ++k) {
        const std::uint64_t h = (static_cast<std::uint64_t>(k) + seed) * 0x9E3779B97F4A7C15ull;
        const std::int64_t idx[1] = {k};
        if (dtype.is_floating()) {
            const double v = static_cast<double>(static_cast<std::int64_t>(h >> 11) % 2000001 - 1000000) / 64.0;
            flat.set(idx, ts::Scalar(v));
        } else if (dtype.is_unsigned_integer()) {
            flat.set(idx, ts::Scalar(ts::Scalar::Storage(std::uint64_t{h}), ts::uint64));  // wraps
        } else {
            flat.set(idx, ts::Scalar(ts::Scalar::Storage(static_cast<std::int64_t>(h)), ts::int64));
        }
    }
    return out;
}

}  // namespace nctest
