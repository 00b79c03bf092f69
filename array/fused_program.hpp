#pragma once
// Internal: the fused elementwise program, what a "tessera.fused" task carries in Task::params.
//
// A program computes one output block (C order, shape `shape`). It is a list of SSA
// instructions; instruction r defines register r, a tile of values of dtype instrs[r].dtype.
// The evaluator (array/fused_eval.cpp) runs the whole list once per tile of kTileElems
// consecutive output elements, so every temporary is cache-sized and no operation ever
// materializes a full-block intermediate.
//
// Leaves address the elements of the output block through affine maps over the output's
// multi-index `idx`:
//   Load    input block `slot` (a dep of the task) at element
//           start[a] + idx[r] along input axis a = axis_of[r] (axes with axis_of[r] == -1 are
//           broadcast: stride 0). The input block's own strides are applied at run time.
//   sources (Arange, Linspace, Random) the source's global C-order flat index
//           base + sum_r idx[r] * strides[r] (strides[r] == 0 on broadcast axes).
//   Const   one value (bits of the dtype's representation in u0).
// Operations take registers a, b, c of the dtypes the builder arranged (explicit Casts).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tessera/dtype.hpp"
#include "tessera/shape.hpp"
#include "tessera/value.hpp"

namespace tessera::detail {

/// Elements per tile: 8 KiB of float64 per register, so a dozen live registers stay in L1/L2.
inline constexpr std::int64_t kTileElems = 1024;

enum class Code : std::uint8_t {
    // leaves
    Load,
    Const,
    Arange,
    Linspace,
    Random,
    // binary, operands of one dtype, result of that dtype
    Add,
    Sub,
    Mul,
    Div,
    Mod,       // NumPy remainder: the sign of the divisor
    FloorDiv,
    Pow,
    FMod,      // C fmod: the sign of the dividend
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    Arctan2,
    Hypot,
    Minimum,   // NaN-propagating
    Maximum,
    FMin,      // NaN-ignoring
    FMax,
    Copysign,
    LogAddExp,
    // binary, operands of one dtype, bool result
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    LogicalAnd,
    LogicalOr,
    LogicalXor,
    // unary, result of the operand's dtype
    Neg,
    Abs,
    Sqrt,
    Exp,
    Log,
    Sin,
    Cos,
    Sign,
    Cbrt,
    Expm1,
    Log1p,
    Log2,
    Log10,
    Tan,
    Arcsin,
    Arccos,
    Arctan,
    Sinh,
    Cosh,
    Tanh,
    Arcsinh,
    Arccosh,
    Arctanh,
    Floor,
    Ceil,
    Trunc,
    Rint,      // round half to even
    Square,
    Reciprocal,
    Deg2Rad,
    Rad2Deg,
    Invert,    // bitwise not (logical not for bool)
    // unary, bool result
    IsNan,
    IsInf,
    IsFinite,
    Signbit,
    LogicalNot,
    // others
    Where,  // a: bool condition, b / c: values
    Cast,   // a converted to dtype (NumPy astype rules)
};

/// The text NumPy uses for the operation ("add", "sqrt", ...), also the key prefix.
std::string_view code_name(Code code);
constexpr bool is_binary(Code c) { return c >= Code::Add && c <= Code::LogicalXor; }
/// Binary and unary operations whose result is bool whatever the operand dtype.
constexpr bool is_comparison(Code c) {
    return (c >= Code::Lt && c <= Code::LogicalXor) || (c >= Code::IsNan && c <= Code::LogicalNot);
}
constexpr bool is_unary(Code c) { return c >= Code::Neg && c <= Code::LogicalNot; }
constexpr bool is_source(Code c) { return c == Code::Arange || c == Code::Linspace || c == Code::Random; }

struct Instr {
    Code code = Code::Const;
    DTypeId dtype = DTypeId::Float64;
    std::int32_t a = -1, b = -1, c = -1;
    // Load
    std::int32_t slot = -1;
    std::vector<std::int32_t> axis_of;  // input axis per output axis, -1 = broadcast
    std::vector<std::int64_t> start;    // start inside the input block, per input axis
    // sources
    std::int64_t base = 0;
    std::vector<std::int64_t> strides;  // per output axis
    // parameters (meaning per code)
    //   Const:    u0 = value bits
    //   Arange:   u0 / u1 = bits of the first / second value (NumPy's fill rule)
    //   Linspace: f0 start, f1 stop, f2 step, f3 delta, i0 div, i1 num, flag bit 0 = step is 0
    //   Random:   u0 seed, u1 integer range, f0 loc/low, f1 scale/(high - low), i0 kind,
    //             i1 integer low, flag = mantissa bits of uniform (53 or 24)
    std::uint64_t u0 = 0, u1 = 0;
    double f0 = 0, f1 = 0, f2 = 0, f3 = 0;
    std::int64_t i0 = 0, i1 = 0;
    std::uint8_t flag = 0;

    DType type() const { return DType(dtype); }

    template <class Archive>
    void serialize(Archive& ar) {
        ar(code, dtype, a, b, c, slot, axis_of, start, base, strides, u0, u1, f0, f1, f2, f3, i0,
           i1, flag);
    }
};

struct Program {
    Shape shape;  // the output block's shape
    std::vector<Instr> instrs;
    std::int32_t result = -1;

    DType dtype() const { return instrs.at(static_cast<std::size_t>(result)).type(); }

    template <class Archive>
    void serialize(Archive& ar) {
        ar(shape, instrs, result);
    }
};

/// cereal binary encoding of a program (what Task::params holds).
std::string encode_program(const Program& program);
/// Decodes; ProtocolError when the bytes are not a program.
Program decode_program(std::string_view bytes);
/// The decoding alone (array/program_codec.cpp), without decode_program's checks of the
/// registers; ProtocolError for truncated or malformed bytes.
Program read_program(std::string_view bytes);

/// Runs `program` on its input blocks; returns the output block (C-contiguous).
/// Throws Error when an input is missing, not an array, or of the wrong dtype or shape.
NDArray run_program(const Program& program, std::span<const Value* const> inputs);
/// Receives the result tiles of a streamed program: elements [t0, t0 + n) of the block in C
/// order (n <= kTileElems), valid during the call only.
using TileSink = std::function<void(std::int64_t t0, std::int64_t n, const std::byte* tile)>;
/// Evaluates `program` like run_program but hands each result tile to `sink` instead of
/// assembling the block: a reduction consuming the program never holds a full block.
/// `tiles` ((start, count) pairs, count <= kTileElems) sets the order and extent of the tiles;
/// empty = the whole block in C order.
void stream_program(const Program& program, std::span<const Value* const> inputs, const TileSink& sink,
                    std::span<const std::pair<std::int64_t, std::int64_t>> tiles = {});

}  // namespace tessera::detail
