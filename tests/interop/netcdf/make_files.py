#!/usr/bin/env python3
"""Writes NetCDF files with netCDF4-python and, for every variable, the values xarray reads
(raw and CF-decoded) as little-endian binary files listed in OUTDIR/manifest.txt:

    file|group|variable|mode|dtype|shape|binary

mode: raw (decode_cf off), cf (xarray's decoding; valid_min/max masking off in Tessera) or
cf_valid (xarray's decoding, then raw values outside valid_min/valid_max/valid_range → NaN,
as netCDF4-python masks them). test_netcdf ("interop: python writes") reads the same files with
Tessera and demands identical values (NaN == NaN).
"""
import os
import sys

import netCDF4
import numpy as np
import xarray as xr

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
manifest = []


def record(fname, group, var, mode, values):
    values = np.array(values, order="C")  # (ascontiguousarray makes 0-d arrays 1-d)
    values = values.astype(values.dtype.newbyteorder("<"))
    binname = f"{fname}.{group.strip('/').replace('/', '.') or 'root'}.{var}.{mode}.bin"
    with open(os.path.join(out, binname), "wb") as f:
        f.write(values.tobytes())
    shape = ",".join(str(s) for s in values.shape)
    manifest.append(f"{fname}|{group}|{var}|{mode}|{values.dtype.name}|{shape}|{binname}")


def record_file(fname, valid_vars=()):
    path = os.path.join(out, fname)
    with netCDF4.Dataset(path) as nc:
        groups = ["/"]
        stack = [nc]
        while stack:
            g = stack.pop()
            for child in g.groups.values():
                groups.append(child.path)
                stack.append(child)
    for group in groups:
        kw = {} if group == "/" else {"group": group}
        with xr.open_dataset(path, decode_cf=False, **kw) as raw, \
                xr.open_dataset(path, decode_times=False, **kw) as dec:
            for name in raw.variables:
                if name in raw.dims and name not in raw.data_vars and name not in _real_vars(path, group):
                    continue  # xarray's implicit index for a dimension without a variable
                r = raw[name].values
                d = dec[name].values
                if r.dtype.kind in "SUO" or d.dtype.kind in "SUO":
                    continue  # text variables: Tessera raises NotImplemented (tested in C++)
                record(fname, group, name, "raw", r)
                record(fname, group, name, "cf", d)
                if (group, name) in valid_vars:
                    attrs = raw[name].attrs
                    lo = attrs.get("valid_min", attrs.get("valid_range", [-np.inf, np.inf])[0])
                    hi = attrs.get("valid_max", attrs.get("valid_range", [-np.inf, np.inf])[-1])
                    masked = np.where((r < lo) | (r > hi), np.nan, d)
                    record(fname, group, name, "cf_valid", masked.astype(d.dtype))


def _real_vars(path, group):
    with netCDF4.Dataset(path) as nc:
        g = nc if group == "/" else nc[group]
        return set(g.variables)


# ---------------------------------------------------------------- a packed L2-like granule
lines, pixels = 37, 23
with netCDF4.Dataset(os.path.join(out, "granule.nc"), "w", format="NETCDF4") as nc:
    nc.title = "synthetic granule"
    nc.orbit = np.int32(12345)
    nc.bounds = np.array([1.5, -2.25, 3.0], dtype=np.float64)
    nc.createDimension("number_of_lines", lines)
    nc.createDimension("pixels_per_line", pixels)
    nc.createDimension("time", None)  # unlimited
    nav = nc.createGroup("navigation_data")
    geo = nc.createGroup("geophysical_data")
    dims = ("number_of_lines", "pixels_per_line")

    lat = nav.createVariable("latitude", "f4", dims, zlib=True, chunksizes=(10, 16))
    lat[:] = (30 + rng.random((lines, pixels)) * 5).astype("f4")
    lat.units = "degrees_north"
    lon = nav.createVariable("longitude", "f4", dims, contiguous=True)
    lon[:] = (-60 + rng.random((lines, pixels)) * 5).astype("f4")

    packed = rng.integers(-32000, 32000, (lines, pixels)).astype("i2")
    packed[::5, ::3] = -32767
    chl = geo.createVariable("chlor_a", "i2", dims, zlib=True, complevel=5, chunksizes=(8, 23),
                             fill_value=np.int16(-32767))
    chl.set_auto_maskandscale(False)
    chl.scale_factor = np.float32(0.001)
    chl.add_offset = np.float32(2.5)
    chl[:] = packed
    # scale only, float32 → float32 decoding
    sst = geo.createVariable("sst", "i2", dims, fill_value=np.int16(-1))
    sst.set_auto_maskandscale(False)
    sst.scale_factor = np.float32(0.005)
    sst[:] = rng.integers(-5, 30000, (lines, pixels)).astype("i2")
    # add_offset without fill: int16 → float64
    off = geo.createVariable("offset_only", "i2", dims)
    off.set_auto_maskandscale(False)
    off.add_offset = np.float64(10.25)
    off[:] = rng.integers(-1000, 1000, (lines, pixels)).astype("i2")
    # int32 packed with float64 scale → float64
    i32 = geo.createVariable("packed32", "i4", dims, fill_value=np.int32(-999))
    i32.set_auto_maskandscale(False)
    i32.scale_factor = np.float64(1e-4)
    i32.add_offset = np.float64(-3.0)
    v = rng.integers(-10**6, 10**6, (lines, pixels)).astype("i4")
    v[1, :] = -999
    i32[:] = v
    # _Unsigned byte with a fill of -1 (255)
    u = geo.createVariable("quality", "i1", dims, fill_value=np.int8(-1))
    u.set_auto_maskandscale(False)
    u._Unsigned = "true"
    q = rng.integers(-128, 128, (lines, pixels)).astype("i1")
    q[0, :4] = -1
    u[:] = q
    # float64 with missing_value and a NaN _FillValue
    f64 = geo.createVariable("depth", "f8", dims, fill_value=np.nan)
    f64.set_auto_maskandscale(False)
    f64.missing_value = np.float64(-1.0)
    d = rng.random((lines, pixels)) * 100
    d[3, 3:9] = -1.0
    d[4, 0] = np.nan
    f64[:] = d
    # valid range on packed values
    vr = geo.createVariable("with_valid", "i2", dims, fill_value=np.int16(-32767))
    vr.set_auto_maskandscale(False)
    vr.scale_factor = np.float32(0.5)
    vr.valid_min = np.int16(-100)
    vr.valid_max = np.int16(100)
    vr[:] = rng.integers(-200, 200, (lines, pixels)).astype("i2")
    l2 = geo.createVariable("l2_flags", "i4", dims, zlib=True)
    l2[:] = rng.integers(0, 2**31 - 1, (lines, pixels)).astype("i4")
    # plain types
    for name, dt in [("u16", "u2"), ("i64", "i8"), ("u64", "u8"), ("i8", "i1"), ("u8", "u1"), ("f32", "f4")]:
        var = geo.createVariable(name, dt, dims, zlib=(dt != "u1"))
        info = np.iinfo(dt) if dt[0] in "iu" else None
        if info is not None:
            var[:] = rng.integers(info.min, info.max, (lines, pixels), dtype=dt, endpoint=True)
        else:
            var[:] = rng.standard_normal((lines, pixels)).astype(dt)
    # unlimited dimension, appended record by record
    t = nc.createVariable("time_series", "f8", ("time", "pixels_per_line"))
    for rec in range(3):
        t[rec, :] = rng.random(pixels)
    # text (char) variable
    nc.createDimension("strlen", 4)
    names = nc.createVariable("names", "S1", ("strlen",))
    names[:] = np.array(list(b"abcd"), dtype="S1")
    # 0-d
    s = nc.createVariable("scalar", "f8", ())
    s[...] = 42.5
    # nested group
    deep = geo.createGroup("deep")
    dv = deep.createVariable("x", "i2", ("pixels_per_line",), fill_value=np.int16(7))
    dv.set_auto_maskandscale(False)
    dv[:] = np.arange(pixels, dtype="i2") % 9
record_file("granule.nc", valid_vars={("/geophysical_data", "with_valid")})

# ---------------------------------------------------------------- netCDF-3 classic
with netCDF4.Dataset(os.path.join(out, "classic.nc"), "w", format="NETCDF3_CLASSIC") as nc:
    nc.createDimension("y", 5)
    nc.createDimension("x", 7)
    a = nc.createVariable("a", "f4", ("y", "x"))
    a[:] = rng.random((5, 7)).astype("f4")
    b = nc.createVariable("b", "i2", ("y", "x"), fill_value=np.int16(-1))
    b.set_auto_maskandscale(False)
    b.scale_factor = np.float32(0.25)
    b.add_offset = np.float32(1.0)
    vals = rng.integers(-1, 100, (5, 7)).astype("i2")
    b[:] = vals
record_file("classic.nc")

with open(os.path.join(out, "not_netcdf.nc"), "w") as f:
    f.write("this is not a NetCDF file\n")

with open(os.path.join(out, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
print(f"wrote {len(manifest)} arrays to {out}")
