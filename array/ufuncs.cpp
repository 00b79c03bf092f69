// The NumPy ufuncs of include/tessera/elementwise.hpp: each picks NumPy 1.24's loop dtype for its
// operands and becomes an ElementwiseNode (round and clip compose several), so every one fuses
// with its neighbours. Also the operation names (code_name).
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "array/elementwise.hpp"
#include "tessera/elementwise.hpp"
#include "tessera/error.hpp"

namespace tessera {
namespace detail {

std::string_view code_name(Code code) {
    switch (code) {
        case Code::Load: return "load";
        case Code::Const: return "full";
        case Code::Arange: return "arange";
        case Code::Linspace: return "linspace";
        case Code::Random: return "random";
        case Code::Add: return "add";
        case Code::Sub: return "sub";
        case Code::Mul: return "mul";
        case Code::Div: return "truediv";
        case Code::Mod: return "remainder";
        case Code::FloorDiv: return "floor_divide";
        case Code::Pow: return "power";
        case Code::FMod: return "fmod";
        case Code::BitAnd: return "bitwise_and";
        case Code::BitOr: return "bitwise_or";
        case Code::BitXor: return "bitwise_xor";
        case Code::Shl: return "left_shift";
        case Code::Shr: return "right_shift";
        case Code::Arctan2: return "arctan2";
        case Code::Hypot: return "hypot";
        case Code::Minimum: return "minimum";
        case Code::Maximum: return "maximum";
        case Code::FMin: return "fmin";
        case Code::FMax: return "fmax";
        case Code::Copysign: return "copysign";
        case Code::LogAddExp: return "logaddexp";
        case Code::Lt: return "lt";
        case Code::Le: return "le";
        case Code::Gt: return "gt";
        case Code::Ge: return "ge";
        case Code::Eq: return "eq";
        case Code::Ne: return "ne";
        case Code::LogicalAnd: return "logical_and";
        case Code::LogicalOr: return "logical_or";
        case Code::LogicalXor: return "logical_xor";
        case Code::Neg: return "neg";
        case Code::Abs: return "absolute";
        case Code::Sqrt: return "sqrt";
        case Code::Exp: return "exp";
        case Code::Log: return "log";
        case Code::Sin: return "sin";
        case Code::Cos: return "cos";
        case Code::Sign: return "sign";
        case Code::Cbrt: return "cbrt";
        case Code::Expm1: return "expm1";
        case Code::Log1p: return "log1p";
        case Code::Log2: return "log2";
        case Code::Log10: return "log10";
        case Code::Tan: return "tan";
        case Code::Arcsin: return "arcsin";
        case Code::Arccos: return "arccos";
        case Code::Arctan: return "arctan";
        case Code::Sinh: return "sinh";
        case Code::Cosh: return "cosh";
        case Code::Tanh: return "tanh";
        case Code::Arcsinh: return "arcsinh";
        case Code::Arccosh: return "arccosh";
        case Code::Arctanh: return "arctanh";
        case Code::Floor: return "floor";
        case Code::Ceil: return "ceil";
        case Code::Trunc: return "trunc";
        case Code::Rint: return "rint";
        case Code::Square: return "square";
        case Code::Reciprocal: return "reciprocal";
        case Code::Deg2Rad: return "deg2rad";
        case Code::Rad2Deg: return "rad2deg";
        case Code::Invert: return "invert";
        case Code::IsNan: return "isnan";
        case Code::IsInf: return "isinf";
        case Code::IsFinite: return "isfinite";
        case Code::Signbit: return "signbit";
        case Code::LogicalNot: return "logical_not";
        case Code::Where: return "where";
        case Code::Cast: return "astype";
    }
    return "unknown";
}

namespace {

DType operand_dtype(const Operand& op) {
    if (const auto* a = std::get_if<Array>(&op)) return a->dtype();
    return std::get<Scalar>(op).dtype();
}

void check_no_complex(DType dtype, Code code) {
    if (dtype.is_complex())
        throw NotImplemented("{}: complex dtype {} is not supported by elementwise operations",
                             code_name(code), dtype);
}

int category(DType dtype) { return dtype.is_bool() ? 0 : dtype.is_floating() ? 2 : 1; }

// NumPy's float loop (e, f or d; e becomes f here) of a float function: the first loop every
// operand casts to safely, where a weak scalar of a category no higher than the arrays' counts
// as np.min_scalar_type(value) (value-based casting) and one of a higher category as its default
// dtype. So arctan2(int8, int16 array) is float32, arctan2(int8 array, 2) float32 and
// arctan2(int8 array, 2.0) float64.
DType float_loop_of(const std::vector<Operand>& ops) {
    int array_category = 0;
    for (const auto& op : ops)
        if (const auto* a = std::get_if<Array>(&op))
            array_category = std::max(array_category, category(a->dtype()));
    DType loop = float32;
    for (const auto& op : ops) {
        DType effective = operand_dtype(op);
        if (const auto* s = std::get_if<Scalar>(&op); s != nullptr && s->is_weak()) {
            if (category(s->dtype()) <= array_category) {
                if (s->dtype().is_floating()) effective = result_type(float32, *s);
                else if (s->dtype().is_bool()) effective = bool_;
                else effective = result_type(s->as<double>() < 0 ? int8 : uint8, *s);
            }
        }
        loop = result_type(loop, float_loop_dtype(effective));
    }
    return loop;
}

// NumPy's loop dtype of a binary ufunc for operands whose common dtype is `common`.
DType binary_loop_dtype(Code code, DType common, const std::vector<Operand>& ops) {
    const Operand& a = ops[0];
    const Operand& b = ops[1];
    switch (code) {
        case Code::BitAnd:
        case Code::BitOr:
        case Code::BitXor:
        case Code::Shl:
        case Code::Shr:
            if (common.is_floating())
                throw DTypeError("ufunc '{}' not supported for the input types {} and {}",
                                 code_name(code), operand_dtype(a), operand_dtype(b));
            if (common.is_bool() && (code == Code::Shl || code == Code::Shr)) return int8;
            return common;
        case Code::Mod:
        case Code::FloorDiv:
        case Code::Pow:
        case Code::FMod:
            return common.is_bool() ? int8 : common;
        case Code::Arctan2:
        case Code::Hypot:
        case Code::Copysign:
        case Code::LogAddExp:
            return float_loop_of(ops);
        case Code::LogicalAnd:
        case Code::LogicalOr:
        case Code::LogicalXor:
            return bool_;  // the operands' truth values
        default:
            return common;  // minimum, maximum, fmin, fmax
    }
}

bool negative_scalar(const Operand& op) {
    const auto* s = std::get_if<Scalar>(&op);
    return s != nullptr && s->as<double>() < 0;
}

Array ufunc2(Code code, Operand a, Operand b) {
    std::vector<Operand> ops{std::move(a), std::move(b)};
    const DType common = promote_operands(ops);
    check_no_complex(common, code);
    const DType loop = binary_loop_dtype(code, common, ops);
    if (code == Code::Pow && loop.is_integer() && negative_scalar(ops[1]))
        throw ValueError("Integers to negative integer powers are not allowed.");
    return make_elementwise(code, is_comparison(code) ? bool_ : loop, loop, ops);
}

[[noreturn]] void no_loop(std::string_view name, DType dtype) {
    throw DTypeError("ufunc '{}' not supported for the input type {}", name, dtype);
}

Array ufunc1(Code code, const Array& a) {
    const DType dtype = a.dtype();
    check_no_complex(dtype, code);
    switch (code) {
        case Code::Sign:
            if (dtype.is_bool()) no_loop(code_name(code), dtype);
            return make_elementwise(code, dtype, dtype, {a});
        case Code::Square:
        case Code::Reciprocal: {
            const DType loop = dtype.is_bool() ? int8 : dtype;
            return make_elementwise(code, loop, loop, {a});
        }
        case Code::Invert:
            if (dtype.is_floating()) no_loop(code_name(code), dtype);
            return make_elementwise(code, dtype, dtype, {a});
        case Code::IsInf:
        case Code::IsFinite:
        case Code::Signbit:
            return make_elementwise(code, bool_, dtype, {a});
        case Code::LogicalNot:
            return make_elementwise(code, bool_, bool_, {a});
        default: {
            const DType loop = float_loop_dtype(dtype);
            return make_elementwise(code, loop, loop, {a});
        }
    }
}

// NumPy's power_of_ten: exact table up to 1e8, then repeated multiplication.
double power_of_ten(int n) {
    constexpr double kTable[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
    if (n < 9) return kTable[n];
    double ret = 1e9;
    while (n-- > 9) ret *= 10.0;
    return ret;
}

Array round_impl(const Array& a, int decimals) {
    check_no_complex(a.dtype(), Code::Rint);
    const bool integer = a.dtype().is_integer();
    if (integer && decimals >= 0) return a;
    // Integers round in float64 and convert back (NumPy's PyArray_Round).
    const DType loop = integer ? float64 : float_loop_dtype(a.dtype());
    const Array x = a.dtype() == loop ? a : a.astype(loop);
    Array r;
    if (decimals == 0) {
        r = make_elementwise(Code::Rint, loop, loop, {x});
    } else {
        const Scalar f(power_of_ten(decimals >= 0 ? decimals : -decimals));
        const Code scale = decimals >= 0 ? Code::Mul : Code::Div;
        const Code unscale = decimals >= 0 ? Code::Div : Code::Mul;
        const Array y = make_elementwise(scale, loop, loop, {x, f});
        r = make_elementwise(unscale, loop, loop, {make_elementwise(Code::Rint, loop, loop, {y}), f});
    }
    return integer ? r.astype(a.dtype()) : r;
}

Array clip_impl(const Array& a, Operand lo, Operand hi) {
    std::vector<Operand> ops{a, lo, hi};
    std::vector<Shape> shapes;  // all three broadcast together, as in NumPy's message
    for (const auto& op : ops)
        if (const auto* x = std::get_if<Array>(&op)) shapes.push_back(x->shape());
    broadcast_shapes(std::span<const Shape>(shapes));
    const DType common = promote_operands(ops);
    check_no_complex(common, Code::Minimum);
    const Array low = make_elementwise(Code::Maximum, common, common, {a, std::move(lo)});
    return make_elementwise(Code::Minimum, common, common, {low, std::move(hi)});
}

}  // namespace
}  // namespace detail

using detail::Code;
using detail::ufunc1;
using detail::ufunc2;

#define TESSERA_BINARY_UFUNC(name, code)                                                        \
    Array name(const Array& a, const Array& b) { return ufunc2(Code::code, a, b); }            \
    Array name(const Array& a, const Scalar& b) { return ufunc2(Code::code, a, b); }           \
    Array name(const Scalar& a, const Array& b) { return ufunc2(Code::code, a, b); }
#define TESSERA_BINARY_OPERATOR(op, code) TESSERA_BINARY_UFUNC(operator op, code)

TESSERA_BINARY_OPERATOR(%, Mod)
TESSERA_BINARY_OPERATOR(&, BitAnd)
TESSERA_BINARY_OPERATOR(|, BitOr)
TESSERA_BINARY_OPERATOR(^, BitXor)
TESSERA_BINARY_OPERATOR(<<, Shl)
TESSERA_BINARY_OPERATOR(>>, Shr)
TESSERA_BINARY_UFUNC(remainder, Mod)
TESSERA_BINARY_UFUNC(mod, Mod)
TESSERA_BINARY_UFUNC(fmod, FMod)
TESSERA_BINARY_UFUNC(floor_divide, FloorDiv)
TESSERA_BINARY_UFUNC(power, Pow)
TESSERA_BINARY_UFUNC(bitwise_and, BitAnd)
TESSERA_BINARY_UFUNC(bitwise_or, BitOr)
TESSERA_BINARY_UFUNC(bitwise_xor, BitXor)
TESSERA_BINARY_UFUNC(left_shift, Shl)
TESSERA_BINARY_UFUNC(right_shift, Shr)
TESSERA_BINARY_UFUNC(logical_and, LogicalAnd)
TESSERA_BINARY_UFUNC(logical_or, LogicalOr)
TESSERA_BINARY_UFUNC(logical_xor, LogicalXor)
TESSERA_BINARY_UFUNC(arctan2, Arctan2)
TESSERA_BINARY_UFUNC(hypot, Hypot)
TESSERA_BINARY_UFUNC(copysign, Copysign)
TESSERA_BINARY_UFUNC(logaddexp, LogAddExp)
TESSERA_BINARY_UFUNC(minimum, Minimum)
TESSERA_BINARY_UFUNC(maximum, Maximum)
TESSERA_BINARY_UFUNC(fmin, FMin)
TESSERA_BINARY_UFUNC(fmax, FMax)
#undef TESSERA_BINARY_OPERATOR
#undef TESSERA_BINARY_UFUNC

Array operator~(const Array& a) { return ufunc1(Code::Invert, a); }

Array clip(const Array& a, const Scalar& lo, const Scalar& hi) { return detail::clip_impl(a, lo, hi); }
Array clip(const Array& a, const Array& lo, const Scalar& hi) { return detail::clip_impl(a, lo, hi); }
Array clip(const Array& a, const Scalar& lo, const Array& hi) { return detail::clip_impl(a, lo, hi); }
Array clip(const Array& a, const Array& lo, const Array& hi) { return detail::clip_impl(a, lo, hi); }

#define TESSERA_UNARY_UFUNC(name, code) \
    Array name(const Array& a) { return ufunc1(Code::code, a); }
TESSERA_UNARY_UFUNC(sign, Sign)
TESSERA_UNARY_UFUNC(cbrt, Cbrt)
TESSERA_UNARY_UFUNC(expm1, Expm1)
TESSERA_UNARY_UFUNC(log1p, Log1p)
TESSERA_UNARY_UFUNC(log2, Log2)
TESSERA_UNARY_UFUNC(log10, Log10)
TESSERA_UNARY_UFUNC(tan, Tan)
TESSERA_UNARY_UFUNC(arcsin, Arcsin)
TESSERA_UNARY_UFUNC(arccos, Arccos)
TESSERA_UNARY_UFUNC(arctan, Arctan)
TESSERA_UNARY_UFUNC(sinh, Sinh)
TESSERA_UNARY_UFUNC(cosh, Cosh)
TESSERA_UNARY_UFUNC(tanh, Tanh)
TESSERA_UNARY_UFUNC(arcsinh, Arcsinh)
TESSERA_UNARY_UFUNC(arccosh, Arccosh)
TESSERA_UNARY_UFUNC(arctanh, Arctanh)
TESSERA_UNARY_UFUNC(deg2rad, Deg2Rad)
TESSERA_UNARY_UFUNC(rad2deg, Rad2Deg)
TESSERA_UNARY_UFUNC(floor, Floor)
TESSERA_UNARY_UFUNC(ceil, Ceil)
TESSERA_UNARY_UFUNC(trunc, Trunc)
TESSERA_UNARY_UFUNC(rint, Rint)
TESSERA_UNARY_UFUNC(square, Square)
TESSERA_UNARY_UFUNC(reciprocal, Reciprocal)
TESSERA_UNARY_UFUNC(isinf, IsInf)
TESSERA_UNARY_UFUNC(isfinite, IsFinite)
TESSERA_UNARY_UFUNC(signbit, Signbit)
TESSERA_UNARY_UFUNC(invert, Invert)
TESSERA_UNARY_UFUNC(bitwise_not, Invert)
TESSERA_UNARY_UFUNC(logical_not, LogicalNot)
#undef TESSERA_UNARY_UFUNC

Array round(const Array& a, int decimals) { return detail::round_impl(a, decimals); }
Array negative(const Array& a) { return -a; }
Array positive(const Array& a) {
    if (a.dtype().is_bool()) detail::no_loop("positive", a.dtype());
    return a;
}

}  // namespace tessera
