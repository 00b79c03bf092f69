#!/usr/bin/python3
"""Interop helper for tests/test_io: Python's zarr (2.x) on the other side of Tessera's stores.

    zarr_interop.py write DIR   writes Zarr v2 arrays with zarr-python (every dtype, compressor,
                                order, separator and fill value the test reads back) plus, for each,
                                the values zarr-python reads back as raw native C-order bytes
                                (<name>.bin) and a manifest.json describing the cases
    zarr_interop.py check DIR   reads the arrays Tessera wrote in DIR (listed in DIR/manifest.json)
                                with zarr-python and compares them bit for bit with <name>.bin;
                                also re-encodes every stored chunk with zarr-python's own codec and
                                compares the bytes. Prints one line per failure; exit status 1 then.

Exit status 2 when zarr or numcodecs cannot be imported (the C++ test fails with that message).
"""
import json
import os
import sys

try:
    import numpy as np
    import numcodecs
    import zarr
    from numcodecs import BZ2, GZip, LZ4, Blosc, Zlib, Zstd
except ImportError as e:  # pragma: no cover
    print(f"python3 zarr/numcodecs missing: {e} (apt-get install python3-zarr python3-numcodecs)")
    sys.exit(2)

DTYPES = ["|b1", "|i1", "|u1", "<i2", ">i2", "<u2", ">u2", "<i4", ">i4", "<u4", ">u4", "<i8",
          ">i8", "<u8", ">u8", "<f4", ">f4", "<f8", ">f8", "<c8", ">c8", "<c16", ">c16"]

COMPRESSORS = [
    None,
    Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE),
    Blosc(cname="zstd", clevel=3, shuffle=Blosc.BITSHUFFLE),
    Blosc(cname="blosclz", clevel=9, shuffle=Blosc.NOSHUFFLE),
    Blosc(cname="zlib", clevel=1, shuffle=Blosc.SHUFFLE),
    Blosc(cname="lz4hc", clevel=4, shuffle=Blosc.AUTOSHUFFLE),
    Zstd(level=3),
    Zlib(level=5),
    GZip(level=6),
    BZ2(level=9),
    LZ4(acceleration=1),
]

SHAPES = [((7,), (3,)), ((10, 7), (4, 3)), ((5, 4, 3), (2, 3, 2)), ((), ()), ((0, 5), (2, 2)),
          ((1,), (1,)), ((6, 6), (6, 6))]


def values(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape)) if shape else 1
    kind = dtype.kind
    if kind == "b":
        v = rng.integers(0, 2, n).astype(bool)
    elif kind in "iu":
        info = np.iinfo(dtype)
        v = rng.integers(info.min, info.max, n, dtype=dtype.newbyteorder("="), endpoint=True)
    elif kind == "f":
        v = (rng.standard_normal(n) * 1000).astype(dtype.newbyteorder("="))
        if n > 3:
            v[1], v[2], v[3] = np.nan, np.inf, -np.inf
    else:
        v = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dtype.newbyteorder("="))
        if n > 2:
            v[1] = complex(np.nan, 1.0)
    return v.reshape(shape)


def native_bytes(a):
    a = np.asarray(a)
    return np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("=")).tobytes()


def write(root):
    cases = []

    def add(name, z, note):
        with open(os.path.join(root, name + ".bin"), "wb") as f:
            f.write(native_bytes(z[...]))
        cases.append({"name": name, "shape": list(z.shape), "dtype": z.dtype.newbyteorder("=").name,
                      "note": note})

    seed = 0
    # Every dtype × a rotation of compressors, orders, separators and shapes.
    for d, typestr in enumerate(DTYPES):
        for variant in range(3):
            seed += 1
            shape, chunks = SHAPES[(d + variant) % len(SHAPES)]
            comp = COMPRESSORS[(3 * d + variant) % len(COMPRESSORS)]
            order = "CF"[(d + variant) % 2]
            sep = "./"[(d // 2 + variant) % 2]
            dtype = np.dtype(typestr)
            name = f"m{seed:03d}"
            z = zarr.open_array(os.path.join(root, name + ".zarr"), mode="w", shape=shape,
                                chunks=chunks, dtype=dtype, compressor=comp, order=order,
                                dimension_separator=sep, fill_value=0)
            z[...] = values(dtype, shape, seed)
            add(name, z, f"{typestr} {shape}/{chunks} {comp} {order} '{sep}'")
    # Every compressor on a float64 and an int16 array with ragged edges.
    for c, comp in enumerate(COMPRESSORS):
        for typestr in ["<f8", ">i2"]:
            seed += 1
            name = f"c{seed:03d}"
            dtype = np.dtype(typestr)
            z = zarr.open_array(os.path.join(root, name + ".zarr"), mode="w", shape=(23, 9),
                                chunks=(5, 4), dtype=dtype, compressor=comp, fill_value=0)
            z[...] = values(dtype, (23, 9), seed)
            add(name, z, f"{typestr} {comp}")
    # Fill values with missing chunks (only part of the array is written).
    fills = [("<f8", "NaN"), ("<f4", np.inf), (">f8", -np.inf), ("<f8", None), ("<i4", 42),
             ("|u1", 255), (">i8", -7), ("|b1", True), ("<c16", 1.5 - 2j), ("<f4", 0.1),
             ("<u8", 2**64 - 1), ("<i8", -2**63)]
    for typestr, fill in fills:
        seed += 1
        name = f"f{seed:03d}"
        dtype = np.dtype(typestr)
        z = zarr.open_array(os.path.join(root, name + ".zarr"), mode="w", shape=(9, 8),
                            chunks=(4, 3), dtype=dtype, fill_value=fill,
                            compressor=Zstd(level=1))
        z[0:4, 3:6] = values(dtype, (4, 3), seed)
        z[8, 7] = values(dtype, (), seed)
        if fill is None:
            # zarr-python leaves missing chunks uninitialized for a null fill; Tessera gives zeros.
            expected = np.zeros((9, 8), dtype=dtype)
            expected[0:4, 3:6] = z[0:4, 3:6]
            expected[8, 7] = z[8, 7]
            with open(os.path.join(root, name + ".bin"), "wb") as f:
                f.write(native_bytes(expected))
            cases.append({"name": name, "shape": [9, 8], "dtype": dtype.newbyteorder("=").name,
                          "note": f"fill {fill}"})
        else:
            add(name, z, f"fill {fill!r}")
    # A group tree with attributes, xarray dimension names and consolidated metadata.
    g = zarr.open_group(os.path.join(root, "tree.zarr"), mode="w")
    g.attrs["title"] = "interop"
    a = g.create_dataset("temp", shape=(4, 5), chunks=(2, 2), dtype="<f4", fill_value=np.nan)
    a[...] = np.arange(20, dtype="<f4").reshape(4, 5)
    a.attrs["_ARRAY_DIMENSIONS"] = ["y", "x"]
    a.attrs["units"] = "K"
    sub = g.create_group("sub")
    sub.attrs["level"] = 2
    b = sub.create_dataset("b", shape=(3,), chunks=(2,), dtype=">i4", fill_value=-1)
    b[0:2] = [5, 6]
    sub.create_group("deeper")
    zarr.consolidate_metadata(g.store)
    with open(os.path.join(root, "manifest.json"), "w") as f:
        json.dump({"cases": cases, "zarr": zarr.__version__}, f, indent=1)


def check(root):
    with open(os.path.join(root, "manifest.json")) as f:
        manifest = json.load(f)
    failures = 0
    for case in manifest["cases"]:
        name = case["name"]
        path = os.path.join(root, name + ".zarr")
        try:
            z = zarr.open_array(path, mode="r")
            with open(os.path.join(root, name + ".bin"), "rb") as f:
                expected = f.read()
            if list(z.shape) != case["shape"] or z.dtype.newbyteorder("=").name != case["dtype"]:
                raise AssertionError(f"shape/dtype {z.shape} {z.dtype} != {case}")
            if "typestr" in case and z.dtype.str != case["typestr"]:
                raise AssertionError(f"typestr {z.dtype.str} != {case['typestr']}")
            got = native_bytes(z[...])
            if got != expected:
                raise AssertionError(f"values differ: {z[...]!r}")
            # Re-encode each stored chunk with zarr-python's codec: the bytes must be identical.
            if case.get("bitwise", False):
                store = z.store
                for key in store.keys():
                    if key.startswith(".z"):
                        continue
                    block = tuple(int(k) for k in key.replace("/", ".").split(".")) if z.ndim else ()
                    sel = tuple(slice(b * c, b * c + c) for b, c in zip(block, z.chunks))
                    chunk = np.full(z.chunks, z.fill_value if z.fill_value is not None else 0,
                                    dtype=z.dtype)
                    part = z[sel] if z.ndim else z[...]
                    chunk[tuple(slice(0, s) for s in np.shape(part))] = part
                    mine = bytes(store[key])
                    theirs = bytes(z._encode_chunk(np.asarray(chunk, order=z.order)))
                    if mine != theirs:
                        raise AssertionError(f"chunk {key}: {len(mine)} bytes differ from "
                                             f"zarr-python's {len(theirs)}")
            for key, value in case.get("attrs", {}).items():
                if z.attrs.get(key) != value:
                    raise AssertionError(f"attribute {key}: {z.attrs.get(key)!r} != {value!r}")
        except Exception as e:  # noqa: BLE001 - report every case
            failures += 1
            print(f"FAIL {name} ({case.get('note', '')}): {type(e).__name__}: {e}")
    # Groups written by Tessera.
    tree = os.path.join(root, "tree.zarr")
    if os.path.exists(tree):
        try:
            g = zarr.open_consolidated(tree, mode="r")
            assert sorted(g.array_keys()) == ["x"], sorted(g.array_keys())
            assert sorted(g.group_keys()) == ["sub"], sorted(g.group_keys())
            assert g.attrs["title"] == "from tessera"
            assert g["sub/y"][...].tolist() == [1, 2, 3]
            assert g["x"].attrs["_ARRAY_DIMENSIONS"] == ["row", "col"]
        except Exception as e:  # noqa: BLE001
            failures += 1
            print(f"FAIL tree: {type(e).__name__}: {e}")
    print(f"checked {len(manifest['cases'])} arrays, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        print(__doc__)
        sys.exit(64)
    os.makedirs(sys.argv[2], exist_ok=True)
    if sys.argv[1] == "write":
        write(sys.argv[2])
        sys.exit(0)
    sys.exit(check(sys.argv[2]))
