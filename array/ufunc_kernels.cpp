// The kernels of the NumPy ufuncs beyond the core arithmetic (see array/fused_kernels.cpp for
// those): one loop per operation and dtype over a tile, xsimd for the transcendental functions,
// and scalar loops that reproduce NumPy 1.24's own definitions where the value rules are
// NumPy's (remainder and floor_divide by npy_divmod, integer division by zero is 0, shifts past
// the width, integer power by squaring, minimum/fmin on signed zeros and NaN, logaddexp).
#include "array/simd.hpp"  // first: see there

#include <cmath>
#include <limits>
#include <type_traits>

#include "array/fused_kernels.hpp"
#include "src/dispatch.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {
namespace {

template <class T>
inline constexpr bool kFloat = std::is_floating_point_v<T>;
template <class T>
inline constexpr bool kInt = std::is_integral_v<T> && !std::is_same_v<T, bool>;
// Unsigned arithmetic of at least 32 bits: integer results wrap modulo 2^N like NumPy.
template <class T>
using Wide = std::make_unsigned_t<decltype(T() + 0u)>;

// NumPy's npy_divmod: the floor quotient, with `mod` the remainder of the divisor's sign.
template <class T>
T float_divmod(T a, T b, T& mod) {
    mod = std::fmod(a, b);
    T div = (a - mod) / b;
    if (mod) {
        if ((b < 0) != (mod < 0)) {
            mod += b;
            div -= T(1);
        }
    } else {
        mod = std::copysign(T(0), b);
    }
    if (!div) return std::copysign(T(0), a / b);
    T floordiv = std::floor(div);
    if (div - floordiv > T(0.5)) floordiv += T(1);
    return floordiv;
}

template <class T>
T floor_div(T a, T b) {
    if constexpr (kFloat<T>) {
        if (!b) return a / b;
        T mod;
        return float_divmod(a, b, mod);
    } else {
        if (b == 0) return 0;  // NumPy: 0 (with a RuntimeWarning)
        if constexpr (std::is_signed_v<T>) {
            if (b == -1) return static_cast<T>(Wide<T>(0) - Wide<T>(a));  // MIN // -1 wraps
            T q = static_cast<T>(a / b);
            if (a % b != 0 && ((a < 0) != (b < 0))) --q;
            return q;
        } else {
            return static_cast<T>(a / b);
        }
    }
}

template <class T>
T remainder(T a, T b) {
    if constexpr (kFloat<T>) {
        if (!b) return std::fmod(a, b);
        T mod;
        float_divmod(a, b, mod);
        return mod;
    } else {
        if (b == 0) return 0;
        if constexpr (std::is_signed_v<T>) {
            if (b == -1) return 0;
            T r = static_cast<T>(a % b);
            if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
            return r;
        } else {
            return static_cast<T>(a % b);
        }
    }
}

template <class T>
T c_fmod(T a, T b) {
    if constexpr (kFloat<T>) {
        return std::fmod(a, b);
    } else {
        if (b == 0) return 0;
        if constexpr (std::is_signed_v<T>)
            if (b == -1) return 0;
        return static_cast<T>(a % b);
    }
}

template <class T>
T power(T base, T exp) {
    if constexpr (kFloat<T>) {
        return std::pow(base, exp);
    } else {
        if constexpr (std::is_signed_v<T>)
            if (exp < 0) throw ValueError("Integers to negative integer powers are not allowed.");
        if (exp == 0 || base == 1) return 1;
        Wide<T> b = static_cast<Wide<T>>(base), out = (exp & 1) ? b : Wide<T>(1);
        for (auto e = static_cast<Wide<T>>(exp) >> 1; e > 0; e >>= 1) {
            b *= b;
            if (e & 1) out *= b;
        }
        return static_cast<T>(out);
    }
}

// Shift counts at or beyond the width (negative ones included, compared unsigned like NumPy)
// shift everything out.
template <class T>
T left_shift(T a, T b) {
    if (static_cast<std::make_unsigned_t<T>>(b) >= sizeof(T) * 8) return 0;
    return static_cast<T>(static_cast<Wide<T>>(a) << b);
}

template <class T>
T right_shift(T a, T b) {
    if (static_cast<std::make_unsigned_t<T>>(b) < sizeof(T) * 8) return static_cast<T>(a >> b);
    if constexpr (std::is_signed_v<T>) return a < 0 ? T(-1) : T(0);
    else return 0;
}

template <class T>
bool is_nan(T x) {
    if constexpr (kFloat<T>) return std::isnan(x);
    else return false;
}

template <class T>
T sign(T x) {
    if constexpr (kFloat<T>) return x > 0 ? T(1) : x < 0 ? T(-1) : x == 0 ? T(0) : x;  // NaN
    else if constexpr (std::is_signed_v<T>) return static_cast<T>((x > 0) - (x < 0));
    else return static_cast<T>(x > 0);
}

template <class T>
T square(T x) {
    if constexpr (kFloat<T>) return x * x;
    else return static_cast<T>(static_cast<Wide<T>>(x) * static_cast<Wide<T>>(x));
}

// Integer reciprocal is NumPy's 1.0 / x converted to the integer type (x86 conversion rules).
template <class T>
T reciprocal(T x) {
    if constexpr (kFloat<T>) return T(1) / x;
    const double r = 1.0 / static_cast<double>(x);
    if constexpr (std::is_same_v<T, std::uint64_t>) {
        // GCC's double -> uint64 conversion on x86-64 (what NumPy's C loop compiles to): values
        // from 2^63 on convert as x - 2^63 with the top bit flipped (inf gives 0).
        constexpr double two63 = 9223372036854775808.0;
        if (r >= two63)
            return static_cast<std::uint64_t>(float_to_i64(r - two63)) ^ (std::uint64_t{1} << 63);
        return static_cast<std::uint64_t>(float_to_i64(r));
    } else {
        return element_cast<T>(r);
    }
}

template <class T>
T invert(T x) {
    if constexpr (std::is_same_v<T, bool>) return !x;
    else return static_cast<T>(~x);
}

template <class T>
bool signbit(T x) {
    if constexpr (kFloat<T>) return std::signbit(x);
    else if constexpr (std::is_signed_v<T>) return x < 0;
    else return false;
}

template <class T>
T logaddexp(T x, T y) {
    constexpr T kLn2 = T(0.693147180559945309417232121458176568);
    if (x == y) return x + kLn2;  // also equal infinities
    const T d = x - y;
    if (d > 0) return x + std::log1p(std::exp(-d));
    if (d <= 0) return y + std::log1p(std::exp(d));
    return d;  // NaN
}

// ------------------------------------------------------------------------- operations
// Each operation: `f` on one element; `batch` (floats) on an xsimd batch where xsimd has it.
#define TESSERA_OP1(Name, expr)                       \
    struct Name {                                     \
        template <class T>                            \
        static auto f(T x) { return expr; }           \
    }
#define TESSERA_SIMD1(Name, simd_fn, std_fn)                           \
    struct Name {                                                      \
        template <class B>                                             \
        static B batch(const B& x) { return xsimd::simd_fn(x); }       \
        template <class T>                                             \
        static T f(T x) { return std::std_fn(x); }                     \
    }
#define TESSERA_OP2(Name, expr)                       \
    struct Name {                                     \
        template <class T>                            \
        static auto f(T x, T y) { return expr; }      \
    }

TESSERA_OP2(OpMod, remainder(x, y));
TESSERA_OP2(OpFloorDiv, floor_div(x, y));
TESSERA_OP2(OpPow, power(x, y));
TESSERA_OP2(OpFMod, c_fmod(x, y));
TESSERA_OP2(OpBitAnd, static_cast<T>(x & y));
TESSERA_OP2(OpBitOr, static_cast<T>(x | y));
TESSERA_OP2(OpBitXor, static_cast<T>(x ^ y));
TESSERA_OP2(OpShl, left_shift(x, y));
TESSERA_OP2(OpShr, right_shift(x, y));
TESSERA_OP2(OpHypot, std::hypot(x, y));
// NumPy's scalar definitions: on ties (0.0 vs -0.0) the second operand wins.
TESSERA_OP2(OpMinimum, (x < y || is_nan(x)) ? x : y);
TESSERA_OP2(OpMaximum, (x > y || is_nan(x)) ? x : y);
TESSERA_OP2(OpFMin, (x < y || is_nan(y)) ? x : y);
TESSERA_OP2(OpFMax, (x > y || is_nan(y)) ? x : y);
TESSERA_OP2(OpCopysign, std::copysign(x, y));
TESSERA_OP2(OpLogAddExp, logaddexp(x, y));
TESSERA_OP2(OpLogicalAnd, x && y);
TESSERA_OP2(OpLogicalOr, x || y);
TESSERA_OP2(OpLogicalXor, x != y);
// xsimd's atan2 gets (0, 0) and (inf, inf) wrong: libm's.
TESSERA_OP2(OpArctan2, std::atan2(x, y));

TESSERA_OP1(OpSign, sign(x));
TESSERA_OP1(OpSquare, square(x));
TESSERA_OP1(OpReciprocal, reciprocal(x));
// NumPy's npy_deg2rad / npy_rad2deg: one multiplication by a constant of the dtype.
TESSERA_OP1(OpDeg2Rad, static_cast<T>(x * (T(3.141592653589793238462643383279502884) / T(180))));
TESSERA_OP1(OpRad2Deg, static_cast<T>(x * (T(180) / T(3.141592653589793238462643383279502884))));
TESSERA_OP1(OpInvert, invert(x));
TESSERA_OP1(OpIsInf, kFloat<T> && std::isinf(static_cast<double>(x)));
TESSERA_OP1(OpIsFinite, !kFloat<T> || std::isfinite(static_cast<double>(x)));
TESSERA_OP1(OpSignbit, signbit(x));
TESSERA_OP1(OpLogicalNot, !x);

TESSERA_SIMD1(OpCbrt, cbrt, cbrt);
TESSERA_SIMD1(OpExpm1, expm1, expm1);
TESSERA_SIMD1(OpLog1p, log1p, log1p);
TESSERA_SIMD1(OpLog2, log2, log2);
TESSERA_SIMD1(OpLog10, log10, log10);
TESSERA_SIMD1(OpTan, tan, tan);
TESSERA_SIMD1(OpArcsin, asin, asin);
TESSERA_SIMD1(OpArccos, acos, acos);
TESSERA_SIMD1(OpArctan, atan, atan);
TESSERA_SIMD1(OpSinh, sinh, sinh);
TESSERA_SIMD1(OpCosh, cosh, cosh);
TESSERA_SIMD1(OpTanh, tanh, tanh);
TESSERA_SIMD1(OpArcsinh, asinh, asinh);
struct OpArccosh {  // xsimd's acosh is not NaN far below 1
    template <class B>
    static B batch(const B& x) {
        return xsimd::select(x < B(1), B(std::numeric_limits<typename B::value_type>::quiet_NaN()),
                             xsimd::acosh(x));
    }
    template <class T>
    static T f(T x) { return std::acosh(x); }
};
TESSERA_SIMD1(OpArctanh, atanh, atanh);
TESSERA_SIMD1(OpFloor, floor, floor);
TESSERA_SIMD1(OpCeil, ceil, ceil);
TESSERA_SIMD1(OpTrunc, trunc, trunc);
TESSERA_SIMD1(OpRint, nearbyint, nearbyint);  // the default rounding mode: half to even
#undef TESSERA_OP1
#undef TESSERA_OP2
#undef TESSERA_SIMD1

// ------------------------------------------------------------------------- kernels
template <class Op, class T, class R>
void unary_loop(const Step& s, std::int64_t, std::int64_t n) {
    const T* __restrict a = reinterpret_cast<const T*>(s.a);
    R* __restrict out = reinterpret_cast<R*>(s.dst);
    for (std::int64_t k = 0; k < n; ++k) out[k] = static_cast<R>(Op::f(a[k]));
}

template <class Op, class T>
void unary_simd(const Step& s, std::int64_t, std::int64_t n) {
    simd_map_checked(reinterpret_cast<const T*>(s.a), reinterpret_cast<T*>(s.dst), n,
                     [](const auto& x) { return Op::batch(x); }, [](T x) { return Op::f(x); });
}

template <class Op, class T, class R>
void binary_loop(const Step& s, std::int64_t, std::int64_t n) {
    const T* __restrict a = reinterpret_cast<const T*>(s.a);
    const T* __restrict b = reinterpret_cast<const T*>(s.b);
    R* __restrict out = reinterpret_cast<R*>(s.dst);
    for (std::int64_t k = 0; k < n; ++k) out[k] = static_cast<R>(Op::f(a[k], b[k]));
}

// Which operand dtypes an operation has a loop for.
enum class Domain { Float, Integer, IntegerOrBool, Bool, Real, RealNotBool };

template <Domain D, class T>
constexpr bool in_domain() {
    constexpr bool is_bool = std::is_same_v<T, bool>;
    switch (D) {
        case Domain::Float: return kFloat<T>;
        case Domain::Integer: return kInt<T>;
        case Domain::IntegerOrBool: return kInt<T> || is_bool;
        case Domain::Bool: return is_bool;
        case Domain::Real: return true;
        case Domain::RealNotBool: return !is_bool;
    }
    return false;
}

enum class Kind { Unary, UnaryBool, UnarySimd, Binary, BinaryBool };

template <Kind K, class Op, Domain D>
StepFn pick(DType dtype) {
    return visit_real_dtype(dtype, "elementwise kernels", [](auto tag) -> StepFn {
        using T = typename decltype(tag)::type;
        if constexpr (!in_domain<D, T>()) return nullptr;
        else if constexpr (K == Kind::Unary) return &unary_loop<Op, T, T>;
        else if constexpr (K == Kind::UnaryBool) return &unary_loop<Op, T, bool>;
        else if constexpr (K == Kind::UnarySimd) return &unary_simd<Op, T>;
        else if constexpr (K == Kind::Binary) return &binary_loop<Op, T, T>;
        else return &binary_loop<Op, T, bool>;
    });
}

}  // namespace

StepFn ufunc_kernel(Code code, DType operand) {
    using enum Kind;
    using enum Domain;
    switch (code) {
        case Code::Mod: return pick<Binary, OpMod, RealNotBool>(operand);
        case Code::FloorDiv: return pick<Binary, OpFloorDiv, RealNotBool>(operand);
        case Code::Pow: return pick<Binary, OpPow, RealNotBool>(operand);
        case Code::FMod: return pick<Binary, OpFMod, RealNotBool>(operand);
        case Code::BitAnd: return pick<Binary, OpBitAnd, IntegerOrBool>(operand);
        case Code::BitOr: return pick<Binary, OpBitOr, IntegerOrBool>(operand);
        case Code::BitXor: return pick<Binary, OpBitXor, IntegerOrBool>(operand);
        case Code::Shl: return pick<Binary, OpShl, Integer>(operand);
        case Code::Shr: return pick<Binary, OpShr, Integer>(operand);
        case Code::Arctan2: return pick<Binary, OpArctan2, Float>(operand);
        case Code::Hypot: return pick<Binary, OpHypot, Float>(operand);
        case Code::Minimum: return pick<Binary, OpMinimum, Real>(operand);
        case Code::Maximum: return pick<Binary, OpMaximum, Real>(operand);
        case Code::FMin: return pick<Binary, OpFMin, Real>(operand);
        case Code::FMax: return pick<Binary, OpFMax, Real>(operand);
        case Code::Copysign: return pick<Binary, OpCopysign, Float>(operand);
        case Code::LogAddExp: return pick<Binary, OpLogAddExp, Float>(operand);
        case Code::LogicalAnd: return pick<BinaryBool, OpLogicalAnd, Bool>(operand);
        case Code::LogicalOr: return pick<BinaryBool, OpLogicalOr, Bool>(operand);
        case Code::LogicalXor: return pick<BinaryBool, OpLogicalXor, Bool>(operand);
        case Code::Sign: return pick<Unary, OpSign, RealNotBool>(operand);
        case Code::Cbrt: return pick<UnarySimd, OpCbrt, Float>(operand);
        case Code::Expm1: return pick<UnarySimd, OpExpm1, Float>(operand);
        case Code::Log1p: return pick<UnarySimd, OpLog1p, Float>(operand);
        case Code::Log2: return pick<UnarySimd, OpLog2, Float>(operand);
        case Code::Log10: return pick<UnarySimd, OpLog10, Float>(operand);
        case Code::Tan: return pick<UnarySimd, OpTan, Float>(operand);
        case Code::Arcsin: return pick<UnarySimd, OpArcsin, Float>(operand);
        case Code::Arccos: return pick<UnarySimd, OpArccos, Float>(operand);
        case Code::Arctan: return pick<UnarySimd, OpArctan, Float>(operand);
        case Code::Sinh: return pick<UnarySimd, OpSinh, Float>(operand);
        case Code::Cosh: return pick<UnarySimd, OpCosh, Float>(operand);
        case Code::Tanh: return pick<UnarySimd, OpTanh, Float>(operand);
        case Code::Arcsinh: return pick<UnarySimd, OpArcsinh, Float>(operand);
        case Code::Arccosh: return pick<UnarySimd, OpArccosh, Float>(operand);
        case Code::Arctanh: return pick<UnarySimd, OpArctanh, Float>(operand);
        case Code::Floor: return pick<UnarySimd, OpFloor, Float>(operand);
        case Code::Ceil: return pick<UnarySimd, OpCeil, Float>(operand);
        case Code::Trunc: return pick<UnarySimd, OpTrunc, Float>(operand);
        case Code::Rint: return pick<UnarySimd, OpRint, Float>(operand);
        case Code::Square: return pick<Unary, OpSquare, RealNotBool>(operand);
        case Code::Reciprocal: return pick<Unary, OpReciprocal, RealNotBool>(operand);
        case Code::Deg2Rad: return pick<Unary, OpDeg2Rad, Float>(operand);
        case Code::Rad2Deg: return pick<Unary, OpRad2Deg, Float>(operand);
        case Code::Invert: return pick<Unary, OpInvert, IntegerOrBool>(operand);
        case Code::IsInf: return pick<UnaryBool, OpIsInf, Real>(operand);
        case Code::IsFinite: return pick<UnaryBool, OpIsFinite, Real>(operand);
        case Code::Signbit: return pick<UnaryBool, OpSignbit, Real>(operand);
        case Code::LogicalNot: return pick<UnaryBool, OpLogicalNot, Bool>(operand);
        default: return nullptr;
    }
}

}  // namespace tessera::detail
