#pragma once
// Helpers of tests/test_array_reductions2.cpp: the NumPy 1.24 fixture cases
// (tests/data/reductions2_numpy124.txt, written by tests/data/gen_reductions2_fixtures.py),
// chunkings, running an operation by name and comparing with a tolerance.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tessera/tessera.hpp"

namespace red_test {

namespace ts = tessera;

struct Case {
    int line = 0;
    std::string op;
    std::map<std::string, std::string> kwargs;
    ts::NDArray input;
    ts::NDArray expected;
    std::string describe() const;
};

/// Every case of the fixture file (REQUIREs that it can be read).
const std::vector<Case>& fixture_cases();

/// Parses comma-separated values of `dtype` into an array of `shape`.
ts::NDArray parse_array(const std::string& dtype, const std::string& shape, const std::string& values);

/// Single chunk, regular (2), ragged with empty blocks (2, 0, 3, 1, ...), size-1 blocks.
std::vector<std::pair<std::string, ts::ChunkSpec>> chunkings(const ts::Shape& shape);

/// Runs `c.op` with its kwargs on `x` (ReduceOptions::split_every = split_every where the op
/// takes it).
ts::Array run_case(const Case& c, const ts::Array& x, int split_every);

/// Empty when `got` matches `want` (dtype, shape, values within atol + rtol·|want|, NaN == NaN,
/// infinities exact); otherwise the first mismatch.
std::string compare(const ts::NDArray& got, const ts::NDArray& want, double rtol, double atol);

/// Tolerances of a case: exact for indices, counts, integer results and float sums of the
/// fixtures' multiples of 1/16; relative otherwise.
std::pair<double, double> tolerance(const Case& c);

}  // namespace red_test
