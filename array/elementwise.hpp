#pragma once
// Internal: ElementwiseNode, the node behind arithmetic, comparisons, math functions, where,
// astype and the sources (full, arange, linspace, random). It never computes anything itself:
// lowering asks build_fused_kernel (array/fused.cpp) for one program per output block, which
// inlines every fusable elementwise ancestor.
//
// Broadcasting follows NumPy; arrays with different chunkings are unified like Dask's
// unify_chunks by the common refinement of their block boundaries: every output block then lies
// inside exactly one block of every input, and the fused program reads that sub-region of the
// input block (no rechunk tasks, no copies of whole blocks).

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "array/fused_program.hpp"
#include "array/node.hpp"
#include "tessera/array.hpp"

namespace tessera::detail {

/// One operand of an elementwise operation: an input node (index into inputs()) or a scalar.
struct ElemOperand {
    std::int32_t input = -1;  // -1: the scalar
    Scalar scalar;
};

/// What an ElementwiseNode computes.
struct ElemSpec {
    /// The operation (binary, unary, Where, Cast) or, for sources, the source code.
    Code code = Code::Cast;
    /// The dtype the operands are converted to before the operation (NumPy's loop dtype).
    DType compute = float64;
    std::vector<ElemOperand> operands;
    /// Sources: the instruction template (code, dtype, parameters); its index map is filled in
    /// per block by the kernel builder.
    Instr source;
};

class ElementwiseNode final : public ArrayNode {
public:
    ElementwiseNode(std::string op, DType dtype, Chunks chunks, std::vector<NodePtr> inputs,
                    ElemSpec spec);

    bool is_elementwise() const override { return true; }
    const ElemSpec& spec() const { return spec_; }
    /// Block boundaries along `axis` of this node: nblocks + 1 cumulative offsets.
    const std::vector<std::int64_t>& bounds(std::int64_t axis) const {
        return bounds_[static_cast<std::size_t>(axis)];
    }
    /// Block boundaries of input `k`, per axis of that input.
    const std::vector<std::vector<std::int64_t>>& input_bounds(std::size_t k) const {
        return input_bounds_[k];
    }

protected:
    void lower_tasks(LowerContext& ctx) const override;

private:
    ElemSpec spec_;
    std::vector<std::vector<std::int64_t>> bounds_;
    std::vector<std::vector<std::vector<std::int64_t>>> input_bounds_;
};

/// Cumulative block boundaries of every axis of `chunks`.
std::vector<std::vector<std::int64_t>> block_bounds(const Chunks& chunks);

using Operand = std::variant<Array, Scalar>;

/// The node computing `code` over `operands` (at least one Array) with NumPy broadcasting
/// (ShapeError at build time) and unified chunks; operands are converted to `compute` and the
/// result has dtype `dtype`. NotImplemented for complex operands.
Array make_elementwise(Code code, DType dtype, DType compute, const std::vector<Operand>& operands);

/// np.result_type of the operands: arrays promote by dtype, C++ literals like Python scalars.
DType promote_operands(const std::vector<Operand>& operands);

/// The dtype of NumPy's float loop for an input of `dtype` (float16, which Tessera lacks, is
/// replaced by float32): floats unchanged, bool and 1- and 2-byte integers float32, other
/// integers float64.
DType float_loop_dtype(DType dtype);

/// A source node (no inputs) of `shape`/`chunks` evaluating `source` at every global index.
Array make_source(std::string op, const Chunks& chunks, Instr source);

/// Bits of `value` converted to `dtype` (NumPy astype rules), as stored in Instr::u0.
std::uint64_t scalar_bits(const Scalar& value, DType dtype);

/// The op id of "tessera.fused" (registered on first use and when the library loads).
OpId fused_op_id();

}  // namespace tessera::detail
