// Creation functions: full / zeros / ones / empty (and *_like), arange and linspace. All are
// elementwise sources without inputs: a fused program computes their values from the global
// index, so `ts::arange(n) * 2` never materializes the arange.
#include <cmath>
#include <limits>

#include "array/elementwise.hpp"
#include "tessera/array.hpp"
#include "tessera/error.hpp"

namespace tessera {

namespace {

Chunks chunks_for(const ChunkSpec& spec, const Shape& shape, DType dtype) {
    return normalize_chunks(spec, shape, dtype);
}

Array full_impl(std::string op, const Shape& shape, const Scalar& value, DType dtype,
                const ChunkSpec& chunks) {
    if (dtype.is_complex() || value.dtype().is_complex())
        throw NotImplemented("{}: complex dtypes are not supported", op);
    detail::Instr ins;
    ins.code = detail::Code::Const;
    ins.dtype = dtype.id();
    ins.u0 = detail::scalar_bits(value, dtype);
    return detail::make_source(std::move(op), chunks_for(chunks, shape, dtype), std::move(ins));
}

// NumPy's arange: `length` values, the first two given, the rest first + i * (second - first)
// computed in the dtype (see the Arange kernel).
Array arange_impl(std::int64_t length, const Scalar& first, const Scalar& second, DType dtype,
                  const CreateOptions& options) {
    if (dtype.is_complex() || dtype.is_bool())
        throw NotImplemented("arange: dtype {} is not supported", dtype);
    detail::Instr ins;
    ins.code = detail::Code::Arange;
    ins.dtype = dtype.id();
    ins.u0 = detail::scalar_bits(first, dtype);
    ins.u1 = detail::scalar_bits(second, dtype);
    return detail::make_source("arange", chunks_for(options.chunks, {length}, dtype), std::move(ins));
}

}  // namespace

Array full(const Shape& shape, const Scalar& value, const CreateOptions& options) {
    // Unset: the value's dtype, like np.full(shape, 3) (int64) or np.full(shape, np.uint8(3)).
    const DType dtype = options.dtype.value_or(value.dtype());
    return full_impl("full", shape, value, dtype, options.chunks);
}

Array zeros(const Shape& shape, const CreateOptions& options) {
    return full_impl("zeros", shape, Scalar(0), options.dtype.value_or(float64), options.chunks);
}

Array ones(const Shape& shape, const CreateOptions& options) {
    return full_impl("ones", shape, Scalar(1), options.dtype.value_or(float64), options.chunks);
}

Array empty(const Shape& shape, const CreateOptions& options) { return zeros(shape, options); }

Array zeros_like(const Array& a) {
    return full_impl("zeros", a.shape(), Scalar(0), a.dtype(), ChunkSpec(a.chunks()));
}

Array ones_like(const Array& a) {
    return full_impl("ones", a.shape(), Scalar(1), a.dtype(), ChunkSpec(a.chunks()));
}

Array full_like(const Array& a, const Scalar& value) {
    return full_impl("full", a.shape(), value, a.dtype(), ChunkSpec(a.chunks()));
}

Array arange(double start, double stop, double step, const CreateOptions& options) {
    if (step == 0) throw ValueError("arange: step must not be zero");
    // NumPy's length rule (PyArray_Arange): ceil((stop - start) / step), with the underflow
    // case of a non-zero distance giving 1 or 0 element.
    const double delta = stop - start;
    const double ratio = delta / step;
    std::int64_t length;
    if (ratio == 0.0 && delta != 0.0) {
        length = std::signbit(ratio) ? 0 : 1;
    } else {
        const double len = std::ceil(ratio);
        if (std::isnan(len)) throw ValueError("arange: cannot compute length");
        if (!(len >= -9.2233720368547758e18 && len < 9.2233720368547758e18))
            throw ValueError("arange: overflow while computing length");
        length = std::max<std::int64_t>(static_cast<std::int64_t>(len), 0);
    }
    return arange_impl(length, Scalar(start), Scalar(start + step), options.dtype.value_or(float64), options);
}

Array arange(std::int64_t stop, const CreateOptions& options) {
    return arange_impl(std::max<std::int64_t>(stop, 0), Scalar(std::int64_t{0}),
                       Scalar(std::int64_t{1}), options.dtype.value_or(int64), options);
}

Array linspace(double start, double stop, std::int64_t num, const CreateOptions& options) {
    if (num < 0) throw ValueError("Number of samples, {}, must be non-negative.", num);
    const DType dtype = options.dtype.value_or(float64);
    if (dtype.is_complex()) throw NotImplemented("linspace: dtype {} is not supported", dtype);
    // NumPy 1.24's linspace (endpoint=True): see the Linspace kernel.
    const std::int64_t div = num - 1;
    const double delta = stop - start;
    const double step = div > 0 ? delta / static_cast<double>(div)
                                : std::numeric_limits<double>::quiet_NaN();
    detail::Instr ins;
    ins.code = detail::Code::Linspace;
    ins.dtype = dtype.id();
    ins.f0 = start;
    ins.f1 = stop;
    ins.f2 = step;
    ins.f3 = delta;
    ins.i0 = std::max<std::int64_t>(div, 0);
    ins.i1 = num;
    ins.flag = (div > 0 && step == 0) ? 1 : 0;
    return detail::make_source("linspace", chunks_for(options.chunks, {num}, dtype), std::move(ins));
}

}  // namespace tessera
