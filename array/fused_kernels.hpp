#pragma once
// Internal: the machinery shared by the fused-program evaluator (array/fused_eval.cpp) and its
// typed kernels (array/fused_kernels.cpp): affine index maps over the output block, and the
// per-instruction step with its resolved kernel.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "array/fused_program.hpp"
#include "array/philox.hpp"

namespace tessera::detail {

inline constexpr std::size_t kMaxDims = 64;

/// An affine map from the output's C-order multi-index to a linear index, with size-1 axes
/// dropped and contiguous axes merged.
struct Affine {
    std::vector<std::int64_t> shape, strides;
    std::int64_t base = 0;
};

Affine collapse(const Shape& shape, std::span<const std::int64_t> strides, std::int64_t base);

/// Calls f(position in tile, linear index, inner stride, length) for the rows of output
/// elements [t0, t0 + n).
template <class F>
void for_segments(const Affine& m, std::int64_t t0, std::int64_t n, F&& f) {
    const std::size_t dims = m.shape.size();
    if (dims == 0) {
        f(std::int64_t{0}, m.base, std::int64_t{0}, n);
        return;
    }
    std::array<std::int64_t, kMaxDims> idx{};
    std::int64_t rem = t0, lin = m.base;
    for (std::size_t axis = dims; axis-- > 0;) {
        idx[axis] = rem % m.shape[axis];
        rem /= m.shape[axis];
        lin += idx[axis] * m.strides[axis];
    }
    const std::int64_t inner = m.shape[dims - 1], step = m.strides[dims - 1];
    std::int64_t pos = 0;
    while (pos < n) {
        const std::int64_t len = std::min(inner - idx[dims - 1], n - pos);
        f(pos, lin, step, len);
        pos += len;
        idx[dims - 1] += len;
        lin += len * step;
        if (idx[dims - 1] < inner) continue;
        idx[dims - 1] = 0;
        lin -= inner * step;
        for (std::size_t axis = dims - 1; axis-- > 0;) {
            lin += m.strides[axis];
            if (++idx[axis] < m.shape[axis]) break;
            lin -= m.shape[axis] * m.strides[axis];
            idx[axis] = 0;
        }
    }
}

struct Step;
using StepFn = void (*)(const Step&, std::int64_t t0, std::int64_t n);

struct Step {
    const Instr* ins = nullptr;
    StepFn fn = nullptr;
    Affine map;                      // Load, sources
    const std::byte* src = nullptr;  // Load: the region's first element
    RandomParams random;
    // Load through a transpose (map of shape [R, C] with strides [1, s], |s| > 1): output rows are
    // gathered `band_rows` at a time into `band` (rows band_first .. + band_rows), so each cache
    // line of the input is read once for the whole band instead of once per output row.
    std::int64_t band_rows = 0;
    mutable std::vector<std::byte> band;
    mutable std::int64_t band_first = -1;
    mutable std::vector<std::byte> band_scratch;  // random bands whose dtype is not the values' own

    // set per tile
    std::byte* dst = nullptr;
    const std::byte* a = nullptr;
    const std::byte* b = nullptr;
    const std::byte* c = nullptr;
};

/// The kernel of register `reg` of `program` (nullptr for constants); ProtocolError when the
/// operation and its operand dtypes do not fit together.
StepFn resolve_kernel(const Program& program, std::int32_t reg);

/// The kernel of a binary or unary ufunc beyond the core arithmetic (array/ufunc_kernels.cpp)
/// for operands of `operand` dtype; nullptr when the operation has no loop for that dtype.
StepFn ufunc_kernel(Code code, DType operand);

[[noreturn]] void bad_program(const char* what, std::int64_t reg);

}  // namespace tessera::detail
