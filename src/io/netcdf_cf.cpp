// CF decoding and encoding of NetCDF variables (see netcdf_cf.hpp).
#include "src/io/netcdf_cf.hpp"

#include <cmath>
#include <limits>

#include "src/dispatch.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {

namespace {

const Attribute* find_attr(const Attributes& attrs, const char* name) {
    auto it = attrs.find(name);
    return it == attrs.end() ? nullptr : &it->second;
}

// The numbers of a numeric attribute as doubles (text attributes: none).
std::vector<double> numbers(const Attribute* a) {
    std::vector<double> out;
    if (a == nullptr || a->is_text()) return out;
    const NDArray& v = a->values();
    for (std::int64_t k = 0; k < v.size(); ++k) out.push_back(v.at<double>({k}));
    return out;
}

DType flip_signedness(DType d) {
    switch (d.id()) {
        case DTypeId::Int8: return uint8;
        case DTypeId::Int16: return uint16;
        case DTypeId::Int32: return uint32;
        case DTypeId::Int64: return uint64;
        case DTypeId::UInt8: return int8;
        case DTypeId::UInt16: return int16;
        case DTypeId::UInt32: return int32;
        case DTypeId::UInt64: return int64;
        default: return d;
    }
}

// xarray's dtypes.maybe_promote for real dtypes.
DType mask_dtype(DType d) {
    if (d.is_floating()) return d;
    return d.itemsize() <= 2 ? float32 : float64;
}

// xarray's _choose_float_dtype.
DType scale_dtype(DType d, bool has_offset) {
    if (d.is_floating() && d.itemsize() <= 4) return float32;
    if (d.is_integer() && d.itemsize() <= 2 && !has_offset) return float32;
    return float64;
}

bool has_mask(const CfDecodePlan& p) { return !p.fills.empty() || p.has_valid_min || p.has_valid_max; }

// A value `v` of a signed dtype of `bytes` bytes as the unsigned value with the same bits.
double wrap_unsigned(double v, std::int64_t bytes) {
    return v < 0 ? v + std::ldexp(1.0, static_cast<int>(8 * bytes)) : v;
}

template <class R, class O>
void decode_kernel(const R* in, O* out, std::int64_t n, const CfDecodePlan& p) {
    std::vector<O> fills;
    for (double f : p.fills) fills.push_back(static_cast<O>(f));
    const bool range = p.has_valid_min || p.has_valid_max;
    const double lo = p.has_valid_min ? p.valid_min : -std::numeric_limits<double>::infinity();
    const double hi = p.has_valid_max ? p.valid_max : std::numeric_limits<double>::infinity();
    const O nan = std::numeric_limits<O>::quiet_NaN();
    for (std::int64_t k = 0; k < n; ++k) {
        const O v = static_cast<O>(in[k]);
        bool masked = false;
        for (O f : fills) masked = masked || v == f;
        if (range) {
            const double raw = static_cast<double>(in[k]);
            masked = masked || raw < lo || raw > hi;
        }
        out[k] = masked ? nan : v;
    }
    // Separate passes, as NumPy's `data *= scale; data += offset`: each result rounded to O
    // (one fused multiply-add would round once and differ from xarray in the last bit).
    if (p.has_scale) {
        const O scale = static_cast<O>(p.scale);
        for (std::int64_t k = 0; k < n; ++k) out[k] *= scale;
    }
    if (p.has_offset) {
        const O offset = static_cast<O>(p.offset);
        for (std::int64_t k = 0; k < n; ++k) out[k] += offset;
    }
}

}  // namespace

CfDecodePlan plan_cf_decode(const NetcdfVariableInfo& info, const NetcdfOpenOptions& options) {
    CfDecodePlan p;
    if (!options.decode_cf) return p;
    const Attributes& attrs = info.attrs;
    DType raw = info.dtype;
    if (const Attribute* u = find_attr(attrs, "_Unsigned"); u && u->is_text() && raw.is_integer()) {
        if ((u->text() == "true" && raw.is_signed_integer()) || (u->text() == "false" && raw.is_unsigned_integer())) {
            p.as_unsigned = true;
            raw = flip_signedness(raw);
        }
    }
    for (const char* name : {"missing_value", "_FillValue"}) {
        for (double f : numbers(find_attr(attrs, name))) {
            if (std::isnan(f)) continue;
            if (p.as_unsigned && raw.is_unsigned_integer()) f = wrap_unsigned(f, raw.itemsize());
            p.fills.push_back(f);
        }
    }
    if (options.mask_valid_range) {
        const auto range = numbers(find_attr(attrs, "valid_range"));
        const auto vmin = numbers(find_attr(attrs, "valid_min"));
        const auto vmax = numbers(find_attr(attrs, "valid_max"));
        if (range.size() == 2) {
            p.has_valid_min = p.has_valid_max = true;
            p.valid_min = range[0];
            p.valid_max = range[1];
        }
        if (vmin.size() == 1) {
            p.has_valid_min = true;
            p.valid_min = vmin[0];
        }
        if (vmax.size() == 1) {
            p.has_valid_max = true;
            p.valid_max = vmax[0];
        }
    }
    const auto scale = numbers(find_attr(attrs, "scale_factor"));
    const auto offset = numbers(find_attr(attrs, "add_offset"));
    if (!scale.empty()) {
        p.has_scale = true;
        p.scale = scale[0];
    }
    if (!offset.empty()) {
        p.has_offset = true;
        p.offset = offset[0];
    }
    DType out = raw;
    if (has_mask(p)) out = mask_dtype(out);
    if (p.has_scale || p.has_offset) out = scale_dtype(out, p.has_offset);
    if (out.is_complex() || out.is_bool()) return CfDecodePlan{};
    p.out_dtype = static_cast<std::int32_t>(out.id());
    p.active = p.as_unsigned || has_mask(p) || p.has_scale || p.has_offset;
    // An inactive plan is the default one, so equal reads get equal task names.
    return p.active ? p : CfDecodePlan{};
}

DType decoded_dtype(const CfDecodePlan& plan, DType raw) {
    return plan.active ? DType(static_cast<DTypeId>(plan.out_dtype)) : raw;
}

NDArray apply_cf_decode(const NDArray& raw_in, const CfDecodePlan& plan) {
    if (!plan.active) return raw_in;
    NDArray raw = raw_in.contiguous();
    if (plan.as_unsigned)
        raw = NDArray(flip_signedness(raw.dtype()), raw.shape(), raw.strides(), raw.offset(), raw.buffer());
    const DType out_dtype(static_cast<DTypeId>(plan.out_dtype));
    if (out_dtype == raw.dtype() && !has_mask(plan) && !plan.has_scale && !plan.has_offset) return raw;
    TESSERA_ASSERT(out_dtype.is_floating(), "CF decoding produces floats");
    NDArray out = NDArray::empty(out_dtype, raw.shape());
    visit_real_dtype(raw.dtype(), "CF decoding", [&](auto raw_tag) {
        using R = typename decltype(raw_tag)::type;
        if constexpr (!std::is_same_v<R, bool>) {
            if (out_dtype == float32)
                decode_kernel<R, float>(raw.data<R>(), out.data<float>(), raw.size(), plan);
            else
                decode_kernel<R, double>(raw.data<R>(), out.data<double>(), raw.size(), plan);
        }
    });
    return out;
}

NDArray apply_cf_encode(const NDArray& data_in, DType storage, const Attributes& attrs) {
    const NDArray data = data_in.contiguous();
    if (!data.dtype().is_floating()) return data.astype(storage);
    const auto scale = numbers(find_attr(attrs, "scale_factor"));
    const auto offset = numbers(find_attr(attrs, "add_offset"));
    auto fill = numbers(find_attr(attrs, "_FillValue"));
    if (fill.empty()) fill = numbers(find_attr(attrs, "missing_value"));
    if (scale.empty() && offset.empty() && fill.empty()) return data.astype(storage);
    NDArray work = data.copy();
    auto encode = [&](auto* v) {
        using F = std::remove_pointer_t<decltype(v)>;
        const std::int64_t n = work.size();
        if (!offset.empty()) {
            const F o = static_cast<F>(offset[0]);
            for (std::int64_t k = 0; k < n; ++k) v[k] -= o;
        }
        if (!scale.empty()) {
            const F s = static_cast<F>(scale[0]);
            for (std::int64_t k = 0; k < n; ++k) v[k] /= s;
        }
        if (!fill.empty()) {
            // The fill as the stored dtype would hold it (np.int16(-32767.0)), then as F.
            const F f = static_cast<F>(NDArray::scalar(Scalar(fill[0]), storage).item<double>());
            for (std::int64_t k = 0; k < n; ++k)
                if (std::isnan(v[k])) v[k] = f;
        }
        if (storage.is_integer())
            for (std::int64_t k = 0; k < n; ++k) v[k] = std::nearbyint(v[k]);
    };
    if (work.dtype() == float32)
        encode(work.data<float>());
    else
        encode(work.data<double>());
    return work.astype(storage);
}

}  // namespace tessera::detail
