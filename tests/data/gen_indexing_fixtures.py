#!/usr/bin/python3
"""Regenerates the NumPy 1.24 / Dask 2022.12 fixtures of tests/test_array_indexing.cpp.

Run with Debian's interpreter:  /usr/bin/python3 tests/data/gen_indexing_fixtures.py
Writes, next to this script:
  pad_numpy124.txt   "<mode> <shape> <widths> | <out shape> | <values>" where the input is
                     np.arange(size).reshape(shape) (int64), shape "3,4", widths "1,2;0,3".
                     mode "wrap" with a width above the axis length is wrong in NumPy 1.24
                     (numpy/numpy#22464, fixed in 1.25: the pad is periodic with the original
                     period); those values are the fixed ones, np.take(x, arange % n), which are
                     checked against np.pad wherever 1.24 is right (every width <= the length).
  take_dask2022.txt  "<chunks> | <indices> | <output chunks>": the chunks of
                     da.from_array(np.arange(n), chunks)[indices] (Dask's slicing_plan)
"""
import os

import numpy as np
import dask.array as da

HERE = os.path.dirname(os.path.abspath(__file__))


def ints(values):
    return ",".join(str(int(v)) for v in values)


def pad_cases():
    shapes = [(5,), (1,), (3, 4), (2, 1, 3)]
    widths = [(0, 0), (1, 2), (3, 0), (7, 8), (11, 4)]
    for mode in ["constant", "edge", "reflect", "symmetric", "wrap"]:
        for shape in shapes:
            for k, w in enumerate(widths):
                # a different width per axis, cycling through the list
                per_axis = [widths[(k + axis) % len(widths)] for axis in range(len(shape))]
                x = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
                kwargs = {"constant_values": -1} if mode == "constant" else {}
                out = np.pad(x, per_axis, mode=mode, **kwargs)
                if mode == "wrap":
                    fixed = x
                    for axis, (before, after) in enumerate(per_axis):
                        n = shape[axis]
                        fixed = np.take(fixed, np.arange(-before, n + after) % n, axis=axis)
                    if all(b <= n and a <= n for (b, a), n in zip(per_axis, shape)):
                        assert (fixed == out).all()
                    out = fixed
                yield "%s %s %s | %s | %s" % (mode, ints(shape), ";".join(ints(p) for p in per_axis),
                                              ints(out.shape), " ".join(str(v) for v in out.ravel()))


def take_cases():
    cases = [
        ((3, 3, 3, 1), [0, 1, 2, 5, 4, 3, 9, 0]),
        ((2, 2, 2), [5, 4, 3, 2, 1, 0]),
        ((4, 4), [0, 4, 1, 5, 2, 6]),
        ((5,), [4, 0, 2]),
        ((1, 1, 1, 1), [3, 3, 2, 2, 0]),
        ((3, 2), []),
    ]
    for chunks, idx in cases:
        x = da.from_array(np.arange(sum(chunks)), chunks=(chunks,))
        y = x[np.array(idx, dtype=np.int64)]
        yield "%s | %s | %s" % (ints(chunks), ints(idx), ints(y.chunks[0]))


with open(os.path.join(HERE, "pad_numpy124.txt"), "w") as f:
    for line in pad_cases():
        f.write(line + "\n")
with open(os.path.join(HERE, "take_dask2022.txt"), "w") as f:
    for line in take_cases():
        f.write(line + "\n")
