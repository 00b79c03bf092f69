#!/usr/bin/python3
"""Zarr / .npy interop between Python (zarr 2.13, numcodecs, xarray, numpy) and Tessera.

    interop_zarr.py MODE TOOL WORKDIR

MODE  python_to_tessera  zarr-python writes v2 arrays (every dtype, both byte orders, C and F
                         order, '.' and '/' separators, every compressor, NaN fill with missing
                         chunks, a group tree with consolidated metadata); Tessera's from_zarr
                         reads them (TOOL read) and the values must match bit for bit
      tessera_to_python  Tessera's to_zarr writes (TOOL write); zarr-python reads every v2 array
                         (C and F order) bit for bit; the v3 arrays (sharded too) (zarr 2.13 cannot read v3) is read back by
                         Tessera itself
      xarray_to_tessera  xarray.Dataset.to_zarr writes a dataset; Tessera reads its variables
                         with their dimension names and attributes
      tessera_to_xarray  Tessera writes a dataset group; xarray.open_zarr reads it (consolidated
                         and not)
      npy                numpy writes .npy files (versions 1-3, both byte orders, C and F
                         order); Tessera reads them; Tessera writes .npy files that np.load reads
                         and that are byte-identical to np.save's
Prints one line per failure and exits 1 then; exits 2 when a Python package is missing.
"""
import json
import os
import shutil
import subprocess
import sys

try:
    import numpy as np
    import numcodecs
    import zarr
    from numcodecs import BZ2, GZip, LZ4, Blosc, Zlib, Zstd
except ImportError as e:  # pragma: no cover
    print(f"python3 zarr/numcodecs/numpy missing: {e} (apt-get install python3-zarr python3-numcodecs)")
    sys.exit(2)

DTYPES = ["|b1", "|i1", "|u1", "<i2", ">i2", "<u2", ">u2", "<i4", ">i4", "<u4", ">u4", "<i8",
          ">i8", "<u8", ">u8", "<f4", ">f4", "<f8", ">f8", "<c8", ">c8", "<c16", ">c16"]
COMPRESSORS = [None] + [Blosc(cname=c, clevel=5, shuffle=s) for c in ("lz4", "zstd", "zlib")
                        for s in (Blosc.NOSHUFFLE, Blosc.SHUFFLE, Blosc.BITSHUFFLE)] + \
              [Zstd(level=3), Zlib(level=5), GZip(level=6), BZ2(level=9), LZ4(acceleration=1)]

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg)


def values(dtype, shape):
    """Deterministic values (the same formula as zarr_interop_tool's)."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape)) if len(shape) else 1
    d = np.arange(n, dtype=np.float64) * 0.75 - 7.0
    if dtype.kind in "fc":
        d[3::5] = np.nan
    if dtype.kind in "iu":
        d = np.floor(d * 3)
        return d.astype(np.int64).astype(dtype).reshape(shape)
    if dtype.kind == "b":
        return (np.arange(n) % 3 == 0).reshape(shape)
    if dtype.kind == "c":
        return (d - 0.5j * d[::-1]).astype(dtype).reshape(shape)
    return d.astype(dtype).reshape(shape)


def native_bytes(a):
    a = np.asarray(a)
    return np.ascontiguousarray(a.astype(a.dtype.newbyteorder("="))).tobytes()


def run_tool(tool, verb, work):
    r = subprocess.run([tool, verb, work], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{os.path.basename(tool)} {verb} exited with {r.returncode}: {r.stdout}{r.stderr}")
        finish()


def finish():
    print(f"{len(FAILURES)} failure(s)")
    sys.exit(1 if FAILURES else 0)


def check_read(work, name, expected, dims=None, attrs=None, chunks=None):
    """Compares what the tool read (out/<name>.bin/.json) with `expected`."""
    info = json.load(open(os.path.join(work, "out", name + ".json")))
    got = open(os.path.join(work, "out", name + ".bin"), "rb").read()
    expected = np.asarray(expected)
    if info["dtype"] != expected.dtype.name:
        fail(f"{name}: dtype {info['dtype']} != {expected.dtype.name}")
    if tuple(info["shape"]) != expected.shape:
        fail(f"{name}: shape {info['shape']} != {expected.shape}")
    if got != native_bytes(expected):
        fail(f"{name}: values differ")
    if dims is not None and info["dims"] != list(dims):
        fail(f"{name}: dims {info['dims']} != {list(dims)}")
    if attrs is not None and info["attrs"] != attrs:
        fail(f"{name}: attrs {info['attrs']} != {attrs}")
    if chunks is not None and info["chunks"] != list(chunks):
        fail(f"{name}: chunks {info['chunks']} != {list(chunks)}")


# ---------------------------------------------------------------------------------------------

def python_to_tessera(tool, work):
    cases, expect = [], {}

    def add(name, arr_path, expected, array="", **kw):
        cases.append({"name": name, "path": arr_path, "array": array, **({"multiple": kw.pop("multiple")} if "multiple" in kw else {})})
        expect[name] = (expected, kw)

    k = 0
    for dtype in DTYPES:
        for order in "CF":
            comp = COMPRESSORS[k % len(COMPRESSORS)]
            sep = "/" if k % 2 else "."
            data = values(dtype, (13, 7))
            path = os.path.join(work, f"d{k}.zarr")
            z = zarr.open_array(path, mode="w", shape=data.shape, chunks=(5, 3), dtype=dtype, order=order,
                                compressor=comp, dimension_separator=sep)
            z[...] = data
            add(f"d{k}", path, data, chunks=[5, 3])
            k += 1
    for j, comp in enumerate(COMPRESSORS):  # every compressor on one multi-byte type, both orders
        data = values(">f8" if j % 2 else "<i4", (9, 10))
        path = os.path.join(work, f"c{j}.zarr")
        z = zarr.open_array(path, mode="w", shape=data.shape, chunks=(4, 4), dtype=data.dtype, compressor=comp)
        z[...] = data
        add(f"c{j}", path, data)
    # NaN fill value and missing chunks.
    path = os.path.join(work, "nanfill.zarr")
    z = zarr.open_array(path, mode="w", shape=(9, 8), chunks=(3, 4), dtype="<f8", fill_value=np.nan)
    z[0:3, 0:4] = 1.5
    z[6:9, 4:8] = 2.5
    add("nanfill", path, z[...])
    path = os.path.join(work, "intfill.zarr")
    z = zarr.open_array(path, mode="w", shape=(5,), chunks=(2,), dtype=">i2", fill_value=42)
    z[2:4] = 7
    add("intfill", path, z[...])
    # 0-d, empty, chunk multiples.
    path = os.path.join(work, "zerod.zarr")
    z = zarr.open_array(path, mode="w", shape=(), dtype="<f4")
    z[...] = 3.25
    add("zerod", path, z[...])
    path = os.path.join(work, "empty.zarr")
    zarr.open_array(path, mode="w", shape=(0, 4), chunks=(2, 2), dtype="<u2")
    add("empty", path, np.zeros((0, 4), "<u2"))
    data = values("<f8", (20, 18))
    path = os.path.join(work, "multiple.zarr")
    zarr.open_array(path, mode="w", shape=data.shape, chunks=(5, 3), dtype=data.dtype)[...] = data
    add("multiple", path, data, multiple=[2, 3], chunks=[10, 9])
    # A group tree with consolidated metadata.
    path = os.path.join(work, "tree.zarr")
    root = zarr.open_group(path, mode="w")
    root.attrs["title"] = "interop"
    temp = root.create_dataset("temp", data=values("<f4", (4, 5)), chunks=(2, 2))
    temp.attrs["_ARRAY_DIMENSIONS"] = ["y", "x"]
    temp.attrs["units"] = "K"
    sub = root.create_group("sub")
    sub.create_dataset("x", data=values(">i8", (7,)), chunks=(3,), dimension_separator="/")
    zarr.consolidate_metadata(path)
    add("tree_temp", path, values("<f4", (4, 5)), array="temp", dims=["y", "x"], attrs={"units": "K"})
    add("tree_sub_x", path, values(">i8", (7,)), array="sub/x", dims=[])
    os.makedirs(work, exist_ok=True)
    json.dump({"cases": cases}, open(os.path.join(work, "manifest.json"), "w"))
    run_tool(tool, "read", work)
    for name, (expected, kw) in expect.items():
        check_read(work, name, expected, **kw)
    if len(cases) < 60:
        fail(f"only {len(cases)} cases")


def tessera_to_python(tool, work):
    run_tool(tool, "write", work)
    manifest = json.load(open(os.path.join(work, "manifest.json")))
    v3 = []
    for c in manifest["cases"]:
        expected = open(os.path.join(work, c["name"] + ".bin"), "rb").read()
        if c["format"] == 3:
            v3.append(c)
            continue
        z = zarr.open_array(c["path"], mode="r")
        if z.dtype.newbyteorder("=").name != c["dtype"] or list(z.shape) != c["shape"]:
            fail(f"{c['name']} ({c['note']}): {z.dtype} {z.shape} != {c['dtype']} {c['shape']}")
            continue
        if native_bytes(z[...]) != expected:
            fail(f"{c['name']} ({c['note']}): values differ")
        if z.order != c["order"]:
            fail(f"{c['name']} ({c['note']}): order {z.order} != {c['order']}")
        attrs = z.attrs.asdict()
        dims = attrs.pop("_ARRAY_DIMENSIONS", [])
        if dims != c["dims"] or attrs != c["attrs"]:
            fail(f"{c['name']}: dims/attrs {dims} {attrs} != {c['dims']} {c['attrs']}")
        # Every stored chunk decodes with numcodecs alone.
        for key in z.store.keys() if hasattr(z.store, "keys") else []:
            if key.startswith("."):
                continue
            raw = z.store[key]
            if z.compressor is not None:
                z.compressor.decode(raw)
    if not v3:
        fail("no v3 case")
    if sum(c["order"] == "F" and c["format"] == 2 for c in manifest["cases"]) < 20:
        fail("too few F-order cases")
    # Zarr v3: Tessera's own round trip (zarr 2.13 has no v3 support).
    rt = os.path.join(work, "v3check")
    os.makedirs(rt, exist_ok=True)
    json.dump({"cases": [{"name": c["name"], "path": c["path"]} for c in v3]}, open(os.path.join(rt, "manifest.json"), "w"))
    run_tool(tool, "read", rt)
    for c in v3:
        if open(os.path.join(rt, "out", c["name"] + ".bin"), "rb").read() != open(os.path.join(work, c["name"] + ".bin"), "rb").read():
            fail(f"{c['name']}: v3 round trip differs")
        if json.load(open(os.path.join(rt, "out", c["name"] + ".json")))["dims"] != c["dims"]:
            fail(f"{c['name']}: v3 dims differ")


def xarray_to_tessera(tool, work):
    import xarray as xr
    t2m = values("<f4", (4, 6, 5))
    count = values("<i8", (4,))
    ds = xr.Dataset({"t2m": (("time", "lat", "lon"), t2m, {"units": "K", "long_name": "temperature"}),
                     "count": (("time",), count)},
                    coords={"lat": np.linspace(-60, 60, 6), "lon": np.arange(5.0)},
                    attrs={"title": "from xarray"})
    path = os.path.join(work, "ds.zarr")
    ds.chunk({"time": 2, "lat": 3}).to_zarr(path, mode="w", consolidated=True)
    group = zarr.open_group(path, mode="r")
    cases, expect = [], {}
    for var, dims in [("t2m", ["time", "lat", "lon"]), ("count", ["time"]), ("lat", ["lat"]), ("lon", ["lon"])]:
        attrs = group[var].attrs.asdict()
        attrs.pop("_ARRAY_DIMENSIONS")
        cases.append({"name": var, "path": path, "array": var})
        expect[var] = (group[var][...], dims, attrs)
    os.makedirs(work, exist_ok=True)
    json.dump({"cases": cases}, open(os.path.join(work, "manifest.json"), "w"))
    run_tool(tool, "read", work)
    for var, (expected, dims, attrs) in expect.items():
        check_read(work, var, expected, dims=dims, attrs=attrs)
    check_read(work, "t2m", t2m, chunks=[2, 3, 5])


def tessera_to_xarray(tool, work):
    import xarray as xr
    run_tool(tool, "write", work)
    # The group documents are what zarr-python writes: .zgroup of open_group, and .zmetadata
    # equal to zarr.consolidate_metadata's on a copy of the store.
    ds_path = os.path.join(work, "dataset.zarr")
    ref_group = os.path.join(work, "ref_group.zarr")
    zarr.open_group(ref_group, mode="w")
    if json.load(open(os.path.join(ds_path, ".zgroup"))) != json.load(open(os.path.join(ref_group, ".zgroup"))):
        fail("dataset .zgroup differs from zarr.open_group's")
    copy = os.path.join(work, "dataset_copy.zarr")
    shutil.copytree(ds_path, copy)
    zarr.consolidate_metadata(copy)
    ours = json.load(open(os.path.join(ds_path, ".zmetadata")))
    theirs = json.load(open(os.path.join(copy, ".zmetadata")))
    if ours != theirs:
        fail(f"dataset .zmetadata differs from zarr.consolidate_metadata's: {sorted(ours['metadata'])} vs {sorted(theirs['metadata'])}")
    if zarr.open_group(ds_path, mode="r").attrs.asdict() != {"title": "tessera"}:
        fail("group attrs differ")
    t2m = open(os.path.join(work, "dataset_t2m.bin"), "rb").read()
    x = open(os.path.join(work, "dataset_x.bin"), "rb").read()
    for consolidated in (True, False):
        ds = xr.open_zarr(os.path.join(work, "dataset.zarr"), consolidated=consolidated, mask_and_scale=False)
        if ds["t2m"].dims != ("time", "x") or ds["x"].dims != ("x",):
            fail(f"consolidated={consolidated}: dims {ds['t2m'].dims} {ds['x'].dims}")
        if native_bytes(ds["t2m"].values) != t2m or native_bytes(ds["x"].values) != x:
            fail(f"consolidated={consolidated}: values differ")
        if ds.attrs.get("title") != "tessera" or ds["t2m"].attrs.get("units") != "K":
            fail(f"consolidated={consolidated}: attrs {ds.attrs} {ds['t2m'].attrs}")


def npy(tool, work):
    from numpy.lib import format as npf
    os.makedirs(work, exist_ok=True)
    cases, expect = [], {}
    k = 0
    for dtype in DTYPES:
        for order in "CF":
            for version in ((1, 0), (2, 0), (3, 0)):
                if (k % 3) != (version[0] - 1) and dtype not in ("<f8", ">c16", "|b1"):
                    k += 1
                    continue
                data = np.asarray(values(dtype, (5, 4, 3)), order=order)
                if order == "F":
                    data = np.asfortranarray(data)
                name = f"p{k}"
                with open(os.path.join(work, name + ".npy"), "wb") as f:
                    npf.write_array(f, data, version=version)
                cases.append({"name": name, "path": os.path.join(work, name + ".npy")})
                expect[name] = data
                k += 1
    for name, data in [("zerod", np.array(2.5, ">f4")), ("empty", np.zeros((0, 3), "<i2")),
                       ("vec", values("<u8", (10,)))]:
        np.save(os.path.join(work, name + ".npy"), data)
        cases.append({"name": name, "path": os.path.join(work, name + ".npy")})
        expect[name] = data
    json.dump({"cases": cases}, open(os.path.join(work, "manifest.json"), "w"))
    run_tool(tool, "npy-read", work)
    for name, data in expect.items():
        check_read(work, name, data)
    # Tessera writes, numpy reads.
    out = os.path.join(work, "written")
    os.makedirs(out, exist_ok=True)
    run_tool(tool, "npy-write", out)
    for c in json.load(open(os.path.join(out, "manifest.json")))["cases"]:
        path = os.path.join(out, c["name"] + ".npy")
        a = np.load(path)
        if a.dtype.name != c["dtype"] or list(a.shape) != c["shape"]:
            fail(f"{c['name']}: {a.dtype} {a.shape} != {c['dtype']} {c['shape']}")
            continue
        if native_bytes(a) != open(os.path.join(out, c["name"] + ".bin"), "rb").read():
            fail(f"{c['name']}: values differ")
        ref = os.path.join(out, c["name"] + ".ref.npy")
        np.save(ref, a)
        if open(ref, "rb").read() != open(path, "rb").read():
            fail(f"{c['name']}: file differs from np.save's")


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        sys.exit(2)
    mode, tool, work = sys.argv[1:]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    {"python_to_tessera": python_to_tessera, "tessera_to_python": tessera_to_python,
     "xarray_to_tessera": xarray_to_tessera, "tessera_to_xarray": tessera_to_xarray, "npy": npy}[mode](tool, work)
    finish()


if __name__ == "__main__":
    main()
