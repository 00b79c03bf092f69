#pragma once
/// \file elementwise.hpp
/// Elementwise math beyond array.hpp's core operators: the NumPy 1.24 ufuncs, each a lazy node
/// fused with its neighbours into one kernel per chunk. Result dtypes follow NumPy's loop
/// selection, with one deviation: Tessera has no float16, so where NumPy answers float16
/// (a float function of bool, int8 or uint8) the result is float32.
///
///     auto r = ts::remainder(x, 3);            // sign of the divisor, like x % 3
///     auto m = ts::maximum(ts::floor(x), 0.0);  // NaN-propagating
///     auto c = ts::clip(x, -1.0, 1.0);
///     auto b = (i & 0xff) << 2;                 // integers and bool only
///
/// Every function throws at build time: ShapeError when the operands do not broadcast,
/// NotImplemented for complex operands, DTypeError when NumPy has no loop for the dtypes
/// (bitwise operations on floats: "ufunc 'bitwise_and' not supported for the input types
/// float64 and int64"). Integer division and remainder by zero give 0, like NumPy's values.

#include "tessera/array.hpp"

namespace tessera {

// ------------------------------------------------------------------------------ operators
/// NumPy remainder: the result has the sign of the divisor (fmod has the dividend's).
Array operator%(const Array& a, const Array& b);
Array operator%(const Array& a, const Scalar& b);
Array operator%(const Scalar& a, const Array& b);
/// Bitwise and/or/xor of integers and bool; DTypeError for floats.
Array operator&(const Array& a, const Array& b);
Array operator&(const Array& a, const Scalar& b);
Array operator&(const Scalar& a, const Array& b);
Array operator|(const Array& a, const Array& b);
Array operator|(const Array& a, const Scalar& b);
Array operator|(const Scalar& a, const Array& b);
Array operator^(const Array& a, const Array& b);
Array operator^(const Array& a, const Scalar& b);
Array operator^(const Scalar& a, const Array& b);
/// Shifts of integers (bool computes in int8); counts at or past the width, and negative
/// counts, shift every bit out (0, or -1 for a negative value shifted right).
Array operator<<(const Array& a, const Array& b);
Array operator<<(const Array& a, const Scalar& b);
Array operator<<(const Scalar& a, const Array& b);
Array operator>>(const Array& a, const Array& b);
Array operator>>(const Array& a, const Scalar& b);
Array operator>>(const Scalar& a, const Array& b);
/// Bitwise not of integers, logical not of bool; DTypeError for floats.
Array operator~(const Array& a);

// ------------------------------------------------------------------------------ binary ufuncs
// Each takes Array/Array, Array/Scalar and Scalar/Array operands, promoted like NumPy
// (C++ literals are weak, like Python scalars).
#define TESSERA_BINARY_UFUNC(name)                    \
    Array name(const Array& a, const Array& b);       \
    Array name(const Array& a, const Scalar& b);      \
    Array name(const Scalar& a, const Array& b)

/// a % b with NumPy's sign rule (np.remainder / np.mod).
TESSERA_BINARY_UFUNC(remainder);
TESSERA_BINARY_UFUNC(mod);
/// C fmod: the sign of the dividend; integer fmod by 0 gives 0.
TESSERA_BINARY_UFUNC(fmod);
/// floor(a / b) in the operands' dtype (integer // 0 gives 0; MIN // -1 wraps to MIN).
TESSERA_BINARY_UFUNC(floor_divide);
/// a ** b. Integer powers wrap; a negative integer exponent throws ValueError ("Integers to
/// negative integer powers are not allowed.") at build time for a Scalar, at compute otherwise.
TESSERA_BINARY_UFUNC(power);
TESSERA_BINARY_UFUNC(bitwise_and);
TESSERA_BINARY_UFUNC(bitwise_or);
TESSERA_BINARY_UFUNC(bitwise_xor);
TESSERA_BINARY_UFUNC(left_shift);
TESSERA_BINARY_UFUNC(right_shift);
/// Truth of a and b (nonzero, NaN included, is true); always bool.
TESSERA_BINARY_UFUNC(logical_and);
TESSERA_BINARY_UFUNC(logical_or);
TESSERA_BINARY_UFUNC(logical_xor);
/// Float functions (integers compute in float32 up to 16 bits, float64 above).
TESSERA_BINARY_UFUNC(arctan2);
TESSERA_BINARY_UFUNC(hypot);
TESSERA_BINARY_UFUNC(copysign);
/// log(exp(a) + exp(b)) without overflow.
TESSERA_BINARY_UFUNC(logaddexp);
/// Elementwise minimum/maximum; a NaN in either operand gives NaN.
TESSERA_BINARY_UFUNC(minimum);
TESSERA_BINARY_UFUNC(maximum);
/// Elementwise minimum/maximum ignoring NaN (NaN only when both are NaN).
TESSERA_BINARY_UFUNC(fmin);
TESSERA_BINARY_UFUNC(fmax);
#undef TESSERA_BINARY_UFUNC

/// Limits the values to [lo, hi] in the dtype of all three operands (NumPy promotion):
/// minimum(maximum(a, lo), hi), so NaN propagates and lo > hi gives hi.
///     auto y = ts::clip(x, 0.0, 1.0);
Array clip(const Array& a, const Scalar& lo, const Scalar& hi);
Array clip(const Array& a, const Array& lo, const Scalar& hi);
Array clip(const Array& a, const Scalar& lo, const Array& hi);
Array clip(const Array& a, const Array& lo, const Array& hi);

// ------------------------------------------------------------------------------ unary ufuncs
/// -1, 0 or 1 (NaN stays NaN, -0.0 gives 0.0); DTypeError for bool.
Array sign(const Array& a);
/// Float functions: bool, int8, uint8, int16 and uint16 give float32, other integers float64.
Array cbrt(const Array& a);
Array expm1(const Array& a);
Array log1p(const Array& a);
Array log2(const Array& a);
Array log10(const Array& a);
Array tan(const Array& a);
Array arcsin(const Array& a);
Array arccos(const Array& a);
Array arctan(const Array& a);
Array sinh(const Array& a);
Array cosh(const Array& a);
Array tanh(const Array& a);
Array arcsinh(const Array& a);
Array arccosh(const Array& a);
Array arctanh(const Array& a);
Array deg2rad(const Array& a);
Array rad2deg(const Array& a);
/// Floor, ceil, trunc and rint are float functions too (NumPy 1.24: floor of int32 is float64).
Array floor(const Array& a);
Array ceil(const Array& a);
Array trunc(const Array& a);
/// Round half to even in the current dtype.
Array rint(const Array& a);
/// NumPy round: half to even at `decimals` digits (negative: tens, hundreds, ...), computed
/// as rint(a * 10^decimals) / 10^decimals like NumPy. Integers keep their dtype (unchanged for
/// decimals >= 0); bool computes in float32.
///     ts::round(x, 2);    // 1.005 -> 1.0 (1.005 is below 1.005 in binary), 0.125 -> 0.12
Array round(const Array& a, int decimals = 0);
/// a * a in a's dtype (bool gives int8).
Array square(const Array& a);
/// 1 / a in a's dtype: integers give 1.0 / a converted like NumPy (0 for |a| > 1).
Array reciprocal(const Array& a);
/// Bool results (integers: isinf false, isfinite true, signbit a < 0).
Array isinf(const Array& a);
Array isfinite(const Array& a);
Array signbit(const Array& a);
/// -a (DTypeError for bool, like operator-).
Array negative(const Array& a);
/// +a: `a` itself; DTypeError for bool.
Array positive(const Array& a);
/// ~a.
Array invert(const Array& a);
Array bitwise_not(const Array& a);
/// Not of the truth value; always bool.
Array logical_not(const Array& a);

}  // namespace tessera
