// The typed kernels of fused programs: one plain loop per operation and dtype over a tile
// (the compiler vectorizes them), xsimd for the transcendental functions on whole batches (a
// short tail is padded, so a value never depends on its position in a tile), and the sources.
#include "array/simd.hpp"  // first: see there

#include <cmath>
#include <cstring>
#include <type_traits>

#include "array/fused_kernels.hpp"
#include "src/dispatch.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {

Affine collapse(const Shape& shape, std::span<const std::int64_t> strides, std::int64_t base) {
    Affine m;
    m.base = base;
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
        if (shape[axis] == 1) continue;
        if (!m.shape.empty() && m.strides.back() == strides[axis] * shape[axis]) {
            m.shape.back() *= shape[axis];
            m.strides.back() = strides[axis];
        } else {
            m.shape.push_back(shape[axis]);
            m.strides.push_back(strides[axis]);
        }
    }
    return m;
}

void bad_program(const char* what, std::int64_t reg) {
    throw ProtocolError("malformed fused program: {} (register {})", what, reg);
}

namespace {

template <class T>
T from_bits(std::uint64_t bits) {
    T v;
    std::memcpy(&v, &bits, sizeof(T));
    return v;
}

// Integer arithmetic wraps modulo 2^N like NumPy (unsigned arithmetic of at least 32 bits, so
// neither signed overflow nor integer promotion can be undefined).
template <class T>
using Wide = std::make_unsigned_t<decltype(T() + 0u)>;

template <Code C, class T>
inline auto binary_op(T x, T y) {
    constexpr bool kInt = std::is_integral_v<T> && !std::is_same_v<T, bool>;
    if constexpr (C == Code::Add) {
        if constexpr (std::is_same_v<T, bool>) return static_cast<bool>(x | y);
        else if constexpr (kInt) return static_cast<T>(Wide<T>(x) + Wide<T>(y));
        else return static_cast<T>(x + y);
    } else if constexpr (C == Code::Sub) {
        if constexpr (std::is_same_v<T, bool>) return static_cast<bool>(x ^ y);
        else if constexpr (kInt) return static_cast<T>(Wide<T>(x) - Wide<T>(y));
        else return static_cast<T>(x - y);
    } else if constexpr (C == Code::Mul) {
        if constexpr (std::is_same_v<T, bool>) return static_cast<bool>(x & y);
        else if constexpr (kInt) return static_cast<T>(Wide<T>(x) * Wide<T>(y));
        else return static_cast<T>(x * y);
    } else if constexpr (C == Code::Div) {
        return static_cast<T>(x / y);
    } else if constexpr (C == Code::Lt) {
        return x < y;
    } else if constexpr (C == Code::Le) {
        return x <= y;
    } else if constexpr (C == Code::Gt) {
        return x > y;
    } else if constexpr (C == Code::Ge) {
        return x >= y;
    } else if constexpr (C == Code::Eq) {
        return x == y;
    } else {
        return x != y;
    }
}

/// Which operands of a binary kernel are constants (read once as a scalar, so a constant's tile
/// never competes with the live registers for L1).
enum class Operands : std::uint8_t { TileTile, TileConst, ConstTile };

template <Code C, class T, Operands kOps = Operands::TileTile>
void binary_kernel(const Step& s, std::int64_t, std::int64_t n) {
    using R = std::conditional_t<is_comparison(C), bool, T>;
    const T* __restrict a = reinterpret_cast<const T*>(s.a);
    const T* __restrict b = reinterpret_cast<const T*>(s.b);
    R* __restrict out = reinterpret_cast<R*>(s.dst);
    if constexpr (kOps == Operands::TileConst) {
        const T y = b[0];
        for (std::int64_t k = 0; k < n; ++k) out[k] = binary_op<C, T>(a[k], y);
    } else if constexpr (kOps == Operands::ConstTile) {
        const T x = a[0];
        for (std::int64_t k = 0; k < n; ++k) out[k] = binary_op<C, T>(x, b[k]);
    } else {
        for (std::int64_t k = 0; k < n; ++k) out[k] = binary_op<C, T>(a[k], b[k]);
    }
}

template <Code C, class T>
void unary_kernel(const Step& s, std::int64_t, std::int64_t n) {
    const T* __restrict a = reinterpret_cast<const T*>(s.a);
    if constexpr (C == Code::IsNan) {
        bool* __restrict out = reinterpret_cast<bool*>(s.dst);
        if constexpr (std::is_floating_point_v<T>) {
            for (std::int64_t k = 0; k < n; ++k) out[k] = a[k] != a[k];
        } else {
            std::fill(out, out + n, false);
        }
    } else {
        T* __restrict out = reinterpret_cast<T*>(s.dst);
        if constexpr (C == Code::Neg) {
            if constexpr (std::is_floating_point_v<T>)
                for (std::int64_t k = 0; k < n; ++k) out[k] = -a[k];
            else
                for (std::int64_t k = 0; k < n; ++k) out[k] = static_cast<T>(Wide<T>(0) - Wide<T>(a[k]));
        } else if constexpr (C == Code::Abs) {
            if constexpr (std::is_floating_point_v<T>)
                for (std::int64_t k = 0; k < n; ++k) out[k] = std::abs(a[k]);
            else if constexpr (std::is_signed_v<T>)
                for (std::int64_t k = 0; k < n; ++k)
                    out[k] = a[k] < 0 ? static_cast<T>(Wide<T>(0) - Wide<T>(a[k])) : a[k];
            else
                std::copy(a, a + n, out);
        } else if constexpr (C == Code::Sqrt) {
            simd_map(a, out, n, [](auto x) { return xsimd::sqrt(x); });
        } else if constexpr (C == Code::Exp) {
            simd_map(a, out, n, [](auto x) { return xsimd::exp(x); });
        } else if constexpr (C == Code::Log) {
            simd_map_checked(a, out, n, [](auto x) { return xsimd::log(x); }, [](T x) { return std::log(x); });
        } else if constexpr (C == Code::Sin) {
            simd_map(a, out, n, [](auto x) { return xsimd::sin(x); });
        } else {
            static_assert(C == Code::Cos);
            simd_map(a, out, n, [](auto x) { return xsimd::cos(x); });
        }
    }
}

template <class To, class From>
void cast_kernel(const Step& s, std::int64_t, std::int64_t n) {
    const From* __restrict a = reinterpret_cast<const From*>(s.a);
    To* __restrict out = reinterpret_cast<To*>(s.dst);
    for (std::int64_t k = 0; k < n; ++k) out[k] = element_cast<To>(a[k]);
}

// A bitwise select on the values' bits: branch-free and vectorizable (a random condition would
// mispredict a branch on every other element), and it moves NaN payloads and -0.0 unchanged.
template <class T>
void where_kernel(const Step& s, std::int64_t, std::int64_t n) {
    using U = std::conditional_t<sizeof(T) == 8, std::uint64_t,
              std::conditional_t<sizeof(T) == 4, std::uint32_t,
              std::conditional_t<sizeof(T) == 2, std::uint16_t, std::uint8_t>>>;
    static_assert(sizeof(U) == sizeof(T));
    const auto* __restrict cond = reinterpret_cast<const std::uint8_t*>(s.a);
    const U* __restrict x = reinterpret_cast<const U*>(s.b);
    const U* __restrict y = reinterpret_cast<const U*>(s.c);
    U* __restrict out = reinterpret_cast<U*>(s.dst);
    for (std::int64_t k = 0; k < n; ++k) {
        const U mask = static_cast<U>(U(0) - static_cast<U>(cond[k] != 0));
        out[k] = static_cast<U>((x[k] & mask) | (y[k] & static_cast<U>(~mask)));
    }
}

// Calls fill(first, count) to put output rows [first, first + count) into s.band when the tile
// [t0, t0 + n) reaches a band not yet there, and copies the tile out of the band.
template <class W, class Fill>
void from_bands(const Step& s, std::int64_t t0, std::int64_t n, W* out, Fill&& fill) {
    const std::int64_t rows = s.map.shape[0], cols = s.map.shape[1];
    for (std::int64_t k = 0; k < n;) {
        const std::int64_t row = (t0 + k) / cols;
        const std::int64_t first = row - row % s.band_rows;
        const std::int64_t count = std::min(s.band_rows, rows - first);
        if (first != s.band_first) {
            fill(first, count);
            s.band_first = first;
        }
        const std::int64_t offset = t0 + k - first * cols;
        const std::int64_t len = std::min(n - k, count * cols - offset);
        std::memcpy(out + k, reinterpret_cast<const W*>(s.band.data()) + offset,
                    static_cast<std::size_t>(len) * sizeof(W));
        k += len;
    }
}

// Fills s.band with output rows [first, first + rows) of a transposed load: output (r, c) is
// src[base + r + c * ld]; row c of the input holds `rows` consecutive needed elements.
template <class W>
void fill_band(const Step& s, std::int64_t first, std::int64_t rows) {
    const W* __restrict src = reinterpret_cast<const W*>(s.src) + s.map.base + first;
    W* __restrict band = reinterpret_cast<W*>(s.band.data());
    const std::int64_t cols = s.map.shape[1], ld = s.map.strides[1];
    for (std::int64_t c = 0; c < cols; ++c)
        for (std::int64_t b = 0; b < rows; ++b) band[b * cols + c] = src[c * ld + b];
}

// Gathers a strided / broadcast region (elements moved as raw words of their size).
template <class W>
void gather_kernel(const Step& s, std::int64_t t0, std::int64_t n) {
    const W* src = reinterpret_cast<const W*>(s.src);
    W* out = reinterpret_cast<W*>(s.dst);
    if (s.band_rows > 0) {
        from_bands(s, t0, n, out, [&](std::int64_t first, std::int64_t count) { fill_band<W>(s, first, count); });
        return;
    }
    for_segments(s.map, t0, n, [&](std::int64_t pos, std::int64_t lin, std::int64_t step, std::int64_t len) {
        if (step == 1) std::memcpy(out + pos, src + lin, static_cast<std::size_t>(len) * sizeof(W));
        else if (step == 0) std::fill(out + pos, out + pos + len, src[lin]);
        else
            for (std::int64_t k = 0; k < len; ++k) out[pos + k] = src[lin + k * step];
    });
}

// Sources whose values must match NumPy's rounding exactly are compiled without contraction
// into fused multiply-adds (-march=native would otherwise turn i * step + start into an FMA).
#define TESSERA_NO_FMA [[gnu::optimize("fp-contract=off")]]

// NumPy's arange fill: value 0 and 1 as given, then first + i * (second - first) in the dtype.
template <class T>
TESSERA_NO_FMA void arange_segment(T* out, std::int64_t lin, std::int64_t step, std::int64_t len,
                                   T first, T second) {
    for (std::int64_t k = 0; k < len; ++k) {
        const std::int64_t i = lin + k * step;
        T v;
        if constexpr (std::is_floating_point_v<T>) {
            const T delta = static_cast<T>(second - first);
            v = static_cast<T>(first + static_cast<T>(i) * delta);
        } else {
            const auto delta = static_cast<std::uint64_t>(static_cast<std::int64_t>(second) -
                                                          static_cast<std::int64_t>(first));
            v = static_cast<T>(static_cast<std::uint64_t>(first) + static_cast<std::uint64_t>(i) * delta);
        }
        out[k] = i == 0 ? first : i == 1 ? second : v;
    }
}

template <class T>
void arange_kernel(const Step& s, std::int64_t t0, std::int64_t n) {
    const T first = from_bits<T>(s.ins->u0), second = from_bits<T>(s.ins->u1);
    T* out = reinterpret_cast<T*>(s.dst);
    for_segments(s.map, t0, n, [&](std::int64_t pos, std::int64_t lin, std::int64_t step, std::int64_t len) {
        arange_segment(out + pos, lin, step, len, first, second);
    });
}

// NumPy's linspace: i * step + start in float64 (i / div * delta when the step underflows to
// 0), the last value exactly stop, floor for integer dtypes, then astype.
template <class T>
TESSERA_NO_FMA void linspace_segment(T* out, std::int64_t lin, std::int64_t stride, std::int64_t len,
                                     const Instr& p) {
    const double start = p.f0, stop = p.f1, step = p.f2, delta = p.f3;
    const std::int64_t div = p.i0, num = p.i1;
    const bool step_zero = (p.flag & 1) != 0;
    for (std::int64_t k = 0; k < len; ++k) {
        const std::int64_t i = lin + k * stride;
        const auto x = static_cast<double>(i);
        double y;
        if (num > 1 && i == num - 1) y = stop;
        else if (div == 0) y = x * delta + start;
        else if (step_zero) y = x / static_cast<double>(div) * delta + start;
        else y = x * step + start;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) y = std::floor(y);
        out[k] = element_cast<T>(y);
    }
}

template <class T>
void linspace_kernel(const Step& s, std::int64_t t0, std::int64_t n) {
    T* out = reinterpret_cast<T*>(s.dst);
    for_segments(s.map, t0, n, [&](std::int64_t pos, std::int64_t lin, std::int64_t stride, std::int64_t len) {
        linspace_segment(out + pos, lin, stride, len, *s.ins);
    });
}

template <class T>
void random_kernel(const Step& s, std::int64_t t0, std::int64_t n) {
    T* out = reinterpret_cast<T*>(s.dst);
    const bool integers = s.random.kind == RandomKind::Integers;
    if (s.band_rows == 2) {  // a transposed read: two rows per Philox call (random_band2)
        from_bands(s, t0, n, out, [&](std::int64_t first, std::int64_t count) {
            const std::int64_t cols = s.map.shape[1], ld = s.map.strides[1];
            T* band = reinterpret_cast<T*>(s.band.data());
            // The values land as float64 (uniform, normal) or int64 (integers): straight in the band
            // when T is that type, else in the step's scratch and then cast.
            constexpr bool kF64 = std::is_same_v<T, double>, kI64 = std::is_same_v<T, std::int64_t>;
            const bool direct = integers ? kI64 : kF64;
            if (!direct) s.band_scratch.resize(static_cast<std::size_t>(2 * cols) * 8);
            std::byte* values = direct ? s.band.data() : s.band_scratch.data();
            auto* f = integers ? nullptr : reinterpret_cast<double*>(values);
            auto* i = integers ? reinterpret_cast<std::int64_t*>(values) : nullptr;
            if (count == 2) random_band2(s.random, s.map.base + first, ld, cols, f, i);
            else random_values(s.random, s.map.base + first, ld, cols, f, i);
            if (!direct)
                for (std::int64_t k = 0; k < count * cols; ++k)
                    band[k] = integers ? element_cast<T>(i[k]) : element_cast<T>(f[k]);
        });
        return;
    }
    for_segments(s.map, t0, n, [&](std::int64_t pos, std::int64_t lin, std::int64_t step, std::int64_t len) {
        // float64 and int64 results are written in place; other dtypes through a cast.
        if constexpr (std::is_same_v<T, double>) {
            if (!integers) return random_values(s.random, lin, step, len, out + pos, nullptr);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
            if (integers) return random_values(s.random, lin, step, len, nullptr, out + pos);
        }
        if (integers) {
            std::array<std::int64_t, kTileElems> values;
            random_values(s.random, lin, step, len, nullptr, values.data());
            for (std::int64_t k = 0; k < len; ++k) out[pos + k] = element_cast<T>(values[static_cast<std::size_t>(k)]);
        } else {
            std::array<double, kTileElems> values;
            random_values(s.random, lin, step, len, values.data(), nullptr);
            for (std::int64_t k = 0; k < len; ++k) out[pos + k] = element_cast<T>(values[static_cast<std::size_t>(k)]);
        }
    });
}

template <Code C>
StepFn binary_for(DType dtype, Operands ops) {
    return visit_real_dtype(dtype, code_name(C), [ops](auto tag) -> StepFn {
        using T = typename decltype(tag)::type;
        if constexpr (C == Code::Div && !std::is_floating_point_v<T>) return nullptr;
        else if (ops == Operands::TileConst) return &binary_kernel<C, T, Operands::TileConst>;
        else if (ops == Operands::ConstTile) return &binary_kernel<C, T, Operands::ConstTile>;
        else return &binary_kernel<C, T>;
    });
}

template <Code C>
StepFn unary_for(DType dtype) {
    return visit_real_dtype(dtype, code_name(C), [](auto tag) -> StepFn {
        using T = typename decltype(tag)::type;
        constexpr bool kMath = C == Code::Sqrt || C == Code::Exp || C == Code::Log ||
                               C == Code::Sin || C == Code::Cos;
        if constexpr (kMath && !std::is_floating_point_v<T>) return nullptr;
        else if constexpr (C == Code::Neg && std::is_same_v<T, bool>) return nullptr;
        else return &unary_kernel<C, T>;
    });
}

}  // namespace

StepFn resolve_kernel(const Program& program, std::int32_t reg) {
    const Instr& ins = program.instrs[static_cast<std::size_t>(reg)];
    const DType dtype = ins.type();
    auto operand_type = [&](std::int32_t r) {
        if (r < 0) bad_program("missing operand", reg);
        return program.instrs[static_cast<std::size_t>(r)].type();
    };
    auto is_const = [&](std::int32_t r) {
        return r >= 0 && program.instrs[static_cast<std::size_t>(r)].code == Code::Const;
    };
    auto operands = [&] {
        if (is_const(ins.b) && !is_const(ins.a)) return Operands::TileConst;
        if (is_const(ins.a) && !is_const(ins.b)) return Operands::ConstTile;
        return Operands::TileTile;
    };
    StepFn fn = nullptr;
    switch (ins.code) {
        case Code::Load:
            switch (dtype.itemsize()) {
                case 1: fn = &gather_kernel<std::uint8_t>; break;
                case 2: fn = &gather_kernel<std::uint16_t>; break;
                case 4: fn = &gather_kernel<std::uint32_t>; break;
                case 8: fn = &gather_kernel<std::uint64_t>; break;
                default: break;
            }
            break;
        case Code::Const: return nullptr;
        case Code::Arange:
            fn = visit_real_dtype(dtype, "arange", [](auto tag) -> StepFn {
                using T = typename decltype(tag)::type;
                if constexpr (std::is_same_v<T, bool>) return nullptr;
                else return &arange_kernel<T>;
            });
            break;
        case Code::Linspace:
            fn = visit_real_dtype(dtype, "linspace", [](auto tag) -> StepFn {
                return &linspace_kernel<typename decltype(tag)::type>;
            });
            break;
        case Code::Random:
            fn = visit_real_dtype(dtype, "random", [](auto tag) -> StepFn {
                return &random_kernel<typename decltype(tag)::type>;
            });
            break;
#define TESSERA_BINARY(C)                                                    \
    case Code::C:                                                            \
        if (operand_type(ins.a) != operand_type(ins.b)) bad_program("operand dtypes differ", reg); \
        if (dtype != (is_comparison(Code::C) ? bool_ : operand_type(ins.a)))  \
            bad_program("result dtype", reg);                                \
        fn = binary_for<Code::C>(operand_type(ins.a), operands());           \
        break;
            TESSERA_BINARY(Add)
            TESSERA_BINARY(Sub)
            TESSERA_BINARY(Mul)
            TESSERA_BINARY(Div)
            TESSERA_BINARY(Lt)
            TESSERA_BINARY(Le)
            TESSERA_BINARY(Gt)
            TESSERA_BINARY(Ge)
            TESSERA_BINARY(Eq)
            TESSERA_BINARY(Ne)
#undef TESSERA_BINARY
#define TESSERA_UNARY(C)                                                      \
    case Code::C:                                                             \
        if (dtype != (Code::C == Code::IsNan ? bool_ : operand_type(ins.a)))  \
            bad_program("result dtype", reg);                                 \
        fn = unary_for<Code::C>(operand_type(ins.a));                         \
        break;
            TESSERA_UNARY(Neg)
            TESSERA_UNARY(Abs)
            TESSERA_UNARY(Sqrt)
            TESSERA_UNARY(Exp)
            TESSERA_UNARY(Log)
            TESSERA_UNARY(Sin)
            TESSERA_UNARY(Cos)
            TESSERA_UNARY(IsNan)
#undef TESSERA_UNARY
        case Code::Where:
            if (operand_type(ins.a) != bool_ || operand_type(ins.b) != dtype ||
                operand_type(ins.c) != dtype)
                bad_program("where operand dtypes", reg);
            fn = visit_real_dtype(dtype, "where", [](auto tag) -> StepFn {
                return &where_kernel<typename decltype(tag)::type>;
            });
            break;
        case Code::Cast:
            fn = visit_real_dtype(dtype, "astype", [&](auto to) -> StepFn {
                using To = typename decltype(to)::type;
                return visit_real_dtype(operand_type(ins.a), "astype", [](auto from) -> StepFn {
                    return &cast_kernel<To, typename decltype(from)::type>;
                });
            });
            break;
        default:  // the other NumPy ufuncs (array/ufunc_kernels.cpp)
            if (!is_binary(ins.code) && !is_unary(ins.code)) bad_program("unknown operation", reg);
            if (is_binary(ins.code) && operand_type(ins.a) != operand_type(ins.b))
                bad_program("operand dtypes differ", reg);
            if (dtype != (is_comparison(ins.code) ? bool_ : operand_type(ins.a)))
                bad_program("result dtype", reg);
            fn = ufunc_kernel(ins.code, operand_type(ins.a));
            break;
    }
    if (fn == nullptr) bad_program("unsupported operation or dtype", reg);
    return fn;
}


}  // namespace tessera::detail
