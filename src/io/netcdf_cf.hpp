#pragma once
// Internal: CF decoding (reading) and encoding (writing) of NetCDF variables, following xarray
// (2023.01, the Debian version the interop tests run): _Unsigned, then _FillValue/missing_value
// masking (ints of <= 16 bits → float32, other ints → float64), then scale_factor/add_offset
// (float32 when the masked data is float32 or a <= 16-bit int without add_offset, float64
// otherwise), computed in the result dtype like NumPy's in-place `data *= scale; data += offset`.
// valid_min/valid_max/valid_range mask raw values outside the range (as netCDF4-python does).

#include <cstdint>
#include <vector>

#include "tessera/netcdf.hpp"

namespace tessera::detail {

struct CfDecodePlan {
    bool active = false;       // false: the raw values are returned as they are
    bool as_unsigned = false;  // _Unsigned: reinterpret signed ints as unsigned (or the reverse)
    std::vector<double> fills;
    bool has_valid_min = false, has_valid_max = false;
    double valid_min = 0, valid_max = 0;
    bool has_scale = false, has_offset = false;
    double scale = 1, offset = 0;
    std::int32_t out_dtype = 0;  // DTypeId

    template <class Archive>
    void serialize(Archive& ar) {
        ar(active, as_unsigned, fills, has_valid_min, has_valid_max, valid_min, valid_max, has_scale,
           has_offset, scale, offset, out_dtype);
    }
};

/// The decoding of `info` (an inactive plan when nothing applies or decode_cf is off).
CfDecodePlan plan_cf_decode(const NetcdfVariableInfo& info, const NetcdfOpenOptions& options);
/// The dtype `plan` produces from raw values of `raw`.
DType decoded_dtype(const CfDecodePlan& plan, DType raw);
/// Decodes a block of raw values.
NDArray apply_cf_decode(const NDArray& raw, const CfDecodePlan& plan);

/// Packs `data` for storage as `storage` per `attrs` (xarray's encoder): float data with
/// scale_factor/add_offset → (x - add_offset) / scale_factor; NaN → _FillValue (or
/// missing_value); rounded half to even when `storage` is an integer dtype; then cast.
/// Without those attributes, a plain cast.
NDArray apply_cf_encode(const NDArray& data, DType storage, const Attributes& attrs);

}  // namespace tessera::detail
