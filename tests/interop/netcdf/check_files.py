#!/usr/bin/env python3
"""Reads the files test_netcdf ("interop: tessera writes files for xarray") wrote into DIR with
xarray and netCDF4-python and compares values (exactly, NaN == NaN), dtypes, attributes,
groups, dims, chunking and compression with what Tessera recorded in DIR/manifest.txt."""
import os
import sys

import netCDF4
import numpy as np
import xarray as xr

d = sys.argv[1]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


n = 0
for line in open(os.path.join(d, "manifest.txt")):
    line = line.strip()
    if not line:
        continue
    fname, group, var, mode, dtype, shape, binname = line.split("|")
    shape = tuple(int(s) for s in shape.split(",")) if shape else ()
    expected = np.fromfile(os.path.join(d, binname), dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)
    kw = {} if group == "/" else {"group": group}
    with xr.open_dataset(os.path.join(d, fname), decode_cf=(mode == "cf"), **kw) as ds:
        got = ds[var].values
    check(got.dtype == expected.dtype, f"{line}: dtype {got.dtype} != {expected.dtype}")
    check(got.shape == expected.shape, f"{line}: shape {got.shape} != {expected.shape}")
    check(np.array_equal(got, expected, equal_nan=got.dtype.kind == "f"), f"{line}: values differ")
    n += 1
check(n >= 9, f"only {n} arrays in the manifest")

path = os.path.join(d, "granule.nc")
with xr.open_dataset(path) as root:
    check(root.attrs["title"] == "Tessera granule", f"title {root.attrs.get('title')!r}")
    check(root.attrs["orbit"] == 4242 and root.attrs["orbit"].dtype == np.int32, "orbit")
    check(list(root.attrs["bounds"]) == [1.5, -2.25], "bounds")
    check(dict(root.dims) == {"time": 5, "pixels_per_line": 31}, f"root dims {dict(root.dims)}")
with xr.open_dataset(path, group="geophysical_data") as geo:
    chl = geo["chlor_a"]
    check(chl.dtype == np.float32, f"chlor_a decodes to {chl.dtype}")
    check(chl.attrs["units"] == "mg m^-3", "chlor_a units")
    check(chl.encoding["dtype"] == np.int16, f"chlor_a stored as {chl.encoding['dtype']}")
    check(chl.encoding["_FillValue"] == -32767, "chlor_a _FillValue")
    check(abs(chl.encoding["scale_factor"] - 0.001) < 1e-9, "chlor_a scale_factor")
    check(chl.encoding["zlib"] and chl.encoding["complevel"] == 4, "chlor_a compression")
    check(tuple(chl.encoding["chunksizes"]) == (16, 16), f"chlor_a chunks {chl.encoding['chunksizes']}")
    check(geo.attrs["note"] == "packed", "group attribute")
with xr.open_dataset(path, group="navigation_data") as nav:
    check(nav["latitude"].attrs["units"] == "degrees_north", "latitude units")
    check(tuple(nav["latitude"].encoding["chunksizes"]) == (10, 31), "latitude chunks")
    check(not nav["longitude"].encoding.get("zlib", False), "longitude should be uncompressed")
with netCDF4.Dataset(path) as nc:
    check(list(nc.groups) == ["navigation_data", "geophysical_data"], f"groups {list(nc.groups)}")
    check(nc.dimensions["time"].isunlimited(), "time should be unlimited")
    check(nc["scalar"].shape == (), "scalar should be 0-d")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print(f"checked {n} arrays and the attributes of {path}")
