#!/usr/bin/python3
"""Regenerates reductions2_numpy124.txt, the NumPy 1.24 expectations of tests/test_array_reductions2.cpp
(arg reductions, scans, order statistics, moments, average, count_nonzero, nanprod, ptp).

Run with Debian's interpreter (numpy 1.24.2):  /usr/bin/python3 tests/data/gen_reductions2_fixtures.py

One case per line, tab-separated:
  op  kwargs  in_dtype  in_shape  in_values  out_dtype  out_shape  out_values
kwargs: ';'-separated key=value (axis=none|1|0,2  keepdims=0|1  q=0.5 or q=[0.1,0.9]  order=3
ddof=1  w_dtype/w_shape/w_values for average's weights). Shapes are comma-separated extents
("" for 0-d); values comma-separated, C order: floats as repr (nan, inf), ints, bools as 0/1.
Float inputs are multiples of 1/16 (exact in float32), so sums are exact.
"""
import os
import warnings

import numpy as np

warnings.simplefilter("ignore")
rng = np.random.default_rng(20241)
lines = []


def fmt_values(a):
    a = np.asarray(a)
    flat = a.ravel(order="C")
    if a.dtype.kind == "b":
        return ",".join("1" if v else "0" for v in flat)
    if a.dtype.kind in "iu":
        return ",".join(str(int(v)) for v in flat)
    return ",".join(repr(float(v)) for v in flat)


def fmt_shape(s):
    return ",".join(str(int(e)) for e in s)


def data(dtype, shape, nan=0.0, kind="any"):
    n = int(np.prod(shape)) if len(shape) else 1
    if dtype == "bool":
        v = rng.integers(0, 3, n) != 0
    elif dtype in ("float32", "float64"):
        if kind == "prod":
            v = 1.0 + rng.integers(-4, 5, n) / 16.0
        else:
            v = rng.integers(-64, 64, n) / 16.0
        v = v.astype(dtype)
        v[rng.random(n) < nan] = np.nan
    elif dtype.startswith("u"):
        v = rng.integers(0, 3 if kind == "prod" else 200, n)
    else:
        lo, hi = (-2, 3) if kind == "prod" else (-50, 50)
        v = rng.integers(lo, hi, n)
    return np.asarray(v).astype(dtype).reshape(shape)


def add(op, kwargs, x, out):
    out = np.asarray(out)
    kw = ";".join("%s=%s" % kv for kv in kwargs.items())
    lines.append("\t".join([op, kw, str(x.dtype), fmt_shape(x.shape), fmt_values(x), str(out.dtype),
                            fmt_shape(out.shape), fmt_values(out)]))


def axis_token(axis):
    if axis is None:
        return "none"
    if isinstance(axis, tuple):
        return "[" + ",".join(str(a) for a in axis) + "]"
    return str(axis)


SHAPES = [(), (0,), (1,), (7,), (5, 6), (3, 4, 5), (4, 0, 3)]


def single_axes(ndim):
    return [None] + [a for a in range(ndim)] + ([-1] if ndim else [])


# ---------------------------------------------------------------- arg reductions
ARG = {"argmin": np.argmin, "argmax": np.argmax, "nanargmin": np.nanargmin, "nanargmax": np.nanargmax}
for op, f in ARG.items():
    for dtype in ["float64", "float32", "int8", "uint16", "int64", "bool"]:
        for shape in SHAPES:
            for nan in ([0.0, 0.3, 0.7] if dtype.startswith("float") else [0.0]):
                x = data(dtype, shape, nan)
                for axis in single_axes(len(shape)):
                    for keepdims in [False, True]:
                        try:
                            r = f(x, axis=axis, keepdims=keepdims)
                        except ValueError:
                            continue  # empty or all-NaN: tested in C++ with exact messages
                        add(op, {"axis": axis_token(axis), "keepdims": int(keepdims)}, x, np.asarray(r, np.int64))

# ---------------------------------------------------------------- scans
SCAN = {"cumsum": np.cumsum, "cumprod": np.cumprod, "nancumsum": np.nancumsum, "nancumprod": np.nancumprod}
for op, f in SCAN.items():
    for dtype in ["float64", "float32", "int8", "uint8", "int32", "bool"]:
        for shape in SHAPES:
            for nan in ([0.0, 0.4] if dtype.startswith("float") else [0.0]):
                x = data(dtype, shape, nan, "prod" if "prod" in op else "any")
                for axis in single_axes(len(shape)):
                    add(op, {"axis": axis_token(axis)}, x, f(x, axis=axis))
    x = data("int8", (5, 6), 0.0)
    for dt in ["int16", "float32", "float64"]:
        add(op, {"axis": 1, "dtype": dt}, x, f(x, axis=1, dtype=dt))

# ---------------------------------------------------------------- order statistics
QFUN = {"quantile": np.quantile, "nanquantile": np.nanquantile, "percentile": np.percentile,
        "nanpercentile": np.nanpercentile}


def multi_axes(ndim):
    out = single_axes(ndim)
    if ndim >= 2:
        out += [(0, ndim - 1), (-1, 0)]
    if ndim >= 3:
        out += [(0, 1, 2), (1, 2)]
    return out


def with_all_nan_slice(x):
    if x.ndim >= 2 and x.dtype.kind == "f" and x.size:
        x = x.copy()
        x[0, ...] = np.nan
        x[..., 1] = np.nan
    return x


Q_DTYPES = {"quantile": ["float64", "float32", "int16", "uint8", "int8"], "percentile": ["float64", "int16"],
            "nanquantile": ["float64", "float32", "int8"], "nanpercentile": ["float64"],
            "median": ["float64", "float32", "int16", "uint8", "int8"], "nanmedian": ["float64", "float32"]}
for op in list(QFUN) + ["median", "nanmedian"]:
    for dtype in Q_DTYPES[op]:
        for shape in [(), (1,), (7,), (8,), (5, 6), (3, 4, 5), (4, 0, 3)]:
            for nan in ([0.0, 0.25, "slices"] if dtype.startswith("float") else [0.0]):
                x = data(dtype, shape, 0.25 if nan == "slices" else nan)
                if nan == "slices":
                    x = with_all_nan_slice(x)
                for axis in multi_axes(len(shape)):
                    for keepdims in ([False, True] if axis in (None, -1) or isinstance(axis, tuple) else [False]):
                        if op in ("median", "nanmedian"):
                            qs = [None]
                        elif op.endswith("percentile"):
                            qs = [30.0, [0.0, 25.0, 50.0, 90.0, 100.0]]
                        else:
                            qs = [0.5, 1.0, [0.0, 0.25, 0.3, 0.9, 1.0], [0.125]]
                        for q in qs:
                            try:
                                if q is None:
                                    r = getattr(np, op)(x, axis=axis, keepdims=keepdims)
                                else:
                                    r = QFUN[op](x, q, axis=axis, keepdims=keepdims)
                            except (IndexError, ValueError):
                                continue  # empty reduced or kept extents: NumPy fails; tested in C++
                            if op.startswith("nan") and x.size == 0 and isinstance(q, list):
                                continue  # NumPy 1.24 drops the q axis here (it returns nanmean); Tessera keeps it
                            if q is not None:
                                # NumPy returns a 0-d NaN result in the input dtype (float32), other
                                # results in float64: the dtype of a lazy result cannot depend on values.
                                r = np.asarray(r, dtype=np.float64)
                            kw = {"axis": axis_token(axis), "keepdims": int(keepdims)}
                            if q is not None:
                                kw["q"] = ("[" + ",".join(repr(v) for v in q) + "]") if isinstance(q, list) else repr(q)
                            add(op, kw, x, r)

# ---------------------------------------------------------------- composed reductions
for dtype in ["float64", "float32", "int8", "uint8", "int64", "bool"]:
    for shape in SHAPES:
        x = data(dtype, shape, 0.0)
        x = np.where(rng.random(x.shape) < 0.3, 0, x).astype(dtype)
        for axis in multi_axes(len(shape)):
            for keepdims in [False, True]:
                kw = {"axis": axis_token(axis), "keepdims": int(keepdims)}
                add("count_nonzero", kw, x, np.asarray(np.count_nonzero(x, axis=axis, keepdims=keepdims), np.int64))
                if dtype != "bool":
                    xp = data(dtype, shape, 0.3, "prod")
                    add("nanprod", kw, xp, np.nanprod(xp, axis=axis, keepdims=keepdims))
                    try:
                        add("ptp", kw, x, np.ptp(x, axis=axis, keepdims=keepdims))
                    except ValueError:
                        pass  # empty: tested in C++

for dtype in ["float64", "float32", "int16"]:
    for shape in [(), (7,), (5, 6), (3, 4, 5)]:
        x = data(dtype, shape, 0.0)
        for axis in multi_axes(len(shape)):
            ax = tuple(range(x.ndim)) if axis is None else axis
            n = int(np.prod([x.shape[a] for a in (ax if isinstance(ax, tuple) else (ax,))]))
            for order in [0, 1, 2, 3, 4]:
                for ddof in ([0, 1] if order == 2 else [0]):
                    for keepdims in ([False, True] if axis in (None, 0) else [False]):
                        if order == 0:
                            r = np.ones_like(np.sum(x, axis=axis, keepdims=keepdims), dtype="f8")
                        elif order == 1:
                            r = np.zeros_like(np.sum(x, axis=axis, keepdims=keepdims), dtype="f8")
                        else:
                            d = x - np.mean(x, axis=axis, keepdims=True)
                            r = np.sum(d ** order, axis=axis, keepdims=keepdims) / (n - ddof)
                            r = np.asarray(r, dtype=np.var(np.ones(1, x.dtype)).dtype)  # dask's dtype
                        add("moment", {"axis": axis_token(axis), "order": order, "ddof": ddof,
                                       "keepdims": int(keepdims)}, x, r)

for dtype, wdtype in [("float64", "float64"), ("float32", "float32"), ("float32", "int32"), ("int8", "float32"),
                      ("int16", "int64"), ("uint8", "uint8")]:
    for shape in [(7,), (5, 6), (3, 4, 5)]:
        x = data(dtype, shape, 0.0)
        for axis in multi_axes(len(shape)):
            for keepdims in ([False, True] if axis in (None, -1) else [False]):
                kw = {"axis": axis_token(axis), "keepdims": int(keepdims)}
                add("average", kw, x, np.average(x, axis=axis, keepdims=keepdims))
                w = (rng.integers(1, 5, x.shape)).astype(wdtype)
                add("average", dict(kw, w_dtype=wdtype, w_shape=fmt_shape(w.shape), w_values=fmt_values(w)), x,
                    np.average(x, axis=axis, weights=w, keepdims=keepdims))
                if isinstance(axis, int) and axis is not None:
                    w1 = (rng.integers(1, 5, x.shape[axis])).astype(wdtype)
                    add("average", dict(kw, w_dtype=wdtype, w_shape=fmt_shape(w1.shape), w_values=fmt_values(w1)), x,
                        np.average(x, axis=axis, weights=w1, keepdims=keepdims))

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reductions2_numpy124.txt")
with open(path, "w") as f:
    f.write("# generated by gen_reductions2_fixtures.py with numpy %s\n" % np.__version__)
    f.write("\n".join(lines) + "\n")
print(len(lines), "cases")
