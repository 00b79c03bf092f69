#pragma once
// Shared helpers of the reduction tests: deterministic data, chunkings and axis choices, and an
// independent whole-array reference (plain loops in long double, NumPy semantics).

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tessera/tessera.hpp"

namespace reduce_test {

namespace ts = tessera;

enum class Kind { Sum, Prod, Mean, Var, Std, Min, Max, Any, All, NanSum, NanMean, NanVar, NanStd, NanMin, NanMax };

using ReduceFn = ts::Array (*)(const ts::Array&, const ts::Axes&, const ts::ReduceOptions&);

struct KindInfo {
    Kind kind;
    const char* name;
    ReduceFn fn;
};

/// The 15 reductions.
const std::vector<KindInfo>& all_kinds();
bool is_var_kind(Kind k);
bool is_minmax_kind(Kind k);

/// Deterministic values (float: multiples of 1/16 in [-4, 4); integers: small) converted to
/// `dtype`; float dtypes get NaN with probability `nan_fraction`.
ts::NDArray make_data(ts::DType dtype, const ts::Shape& shape, std::uint64_t seed,
                      double nan_fraction = 0.0);

/// The reference result: values in C order of the output shape, plus a per-element error scale
/// (sum of magnitudes) for tolerances.
struct Ref {
    ts::Shape shape;
    std::vector<long double> values;
    std::vector<long double> scale;
};
/// `axes` normalized and sorted.
Ref reference(Kind kind, const ts::NDArray& x, std::span<const std::int64_t> axes, bool keepdims,
              std::int64_t ddof = 0);

/// Empty when `got` has `dtype`, the reference's shape and values within
/// |got - ref| <= rtol * (|ref| + scale) (NaN equals NaN, infinities must match); otherwise a
/// description of the first mismatch.
std::string compare(const ts::NDArray& got, const Ref& ref, ts::DType dtype, double rtol);

/// Same dtype, shape and bytes.
bool same_bits(const ts::NDArray& a, const ts::NDArray& b);

/// Single chunk, regular (2), ragged with empty blocks, and 1-element blocks along axis 0.
std::vector<std::pair<std::string, ts::ChunkSpec>> chunkings(const ts::Shape& shape);

struct AxisChoice {
    std::string label;
    ts::Axes axes;
    std::vector<std::int64_t> normalized;  // sorted
};
/// All axes, every single axis (positive and negative), pairs, the full list and ().
std::vector<AxisChoice> axis_choices(std::int64_t ndim);

}  // namespace reduce_test
