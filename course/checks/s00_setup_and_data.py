"""Checks of stage 00 (setup and data)."""

import numpy as np

from course.checks import Check
from course.checks._judge import close, ensure, judged, need
from course.checks.probes.s00_setup_and_data import (
    q00_class_counts_inputs, q00_distances_inputs, q00_image_grid_inputs, q00_to_unit_range_inputs)


@judged
def to_unit_range_verdict(outputs, seed):
    inp = q00_to_unit_range_inputs(seed)
    for key in ("out", "dim"):
        images = inp["images" if key == "out" else "dim"]
        out = need(outputs, key, images.shape, "to_unit_range(images)")
        ensure(out.dtype == np.float32, f"expected float32 output, received {out.dtype}: divide a float32 copy by 255")
        ensure(close(out, images.astype(np.float32) / 255.0, rtol=0, atol=1e-6),
               "wrong values: 0 must map to 0.0, 255 to 1.0, and every value v to v / 255 "
               "(also for a batch without 0 or 255: not min-max scaling)")


@judged
def class_counts_verdict(outputs, seed):
    inp = q00_class_counts_inputs(seed)
    out = need(outputs, "default", (10,), "class_counts(labels)")
    ensure(np.array_equal(out, np.bincount(inp["labels"], minlength=10)),
           "wrong counts with the default num_classes=10 (a class that never occurs counts 0)")
    k = inp["num_classes"]
    out = need(outputs, "num_classes_k", (k,), "class_counts(labels, num_classes=k): one count per class,")
    ensure(np.array_equal(out, np.bincount(inp["labels_k"], minlength=k)),
           "wrong counts for another `num_classes`: respect the argument, also for classes that never occur")


def _grid(images, ncols):
    n, h, w, c = images.shape
    rows = -(-n // ncols)
    grid = np.zeros((rows * h, ncols * w, c), images.dtype)
    for k in range(n):
        r, q = divmod(k, ncols)
        grid[r * h:(r + 1) * h, q * w:(q + 1) * w] = images[k]
    return grid


@judged
def image_grid_verdict(outputs, seed):
    inp = q00_image_grid_inputs(seed)
    for key, what in (("ragged", "a batch that leaves tiles unused"), ("exact", "a batch that fills its grid")):
        want = _grid(inp[key], inp["ncols"])
        out = need(outputs, key, want.shape, f"image_grid on {what}: (rows * H, ncols * W, C) with rows = ceil(N / ncols),")
        ensure(close(out, want, rtol=0, atol=1e-7),
               f"wrong placement on {what}: image k goes to row k // ncols, column k % ncols; unused tiles stay 0")


@judged
def distances_verdict(outputs, seed):
    inp = q00_distances_inputs(seed)
    d = (inp["a"].astype(np.float64) - inp["b"].astype(np.float64)).reshape(len(inp["a"]), -1)
    n = len(d)
    l2 = need(outputs, "l2", (n,), "l2_distance: one number per image,")
    linf = need(outputs, "linf", (n,), "linf_distance: one number per image,")
    l2_64 = need(outputs, "l2_float64", (n,), "l2_distance on float64 inputs: one number per image,")
    ensure(close(l2, np.sqrt((d * d).sum(1)), rtol=1e-4) and close(l2_64, np.sqrt((d * d).sum(1)), rtol=1e-6),
           "wrong L2 distances: the square root of the sum of squared differences over H, W and C")
    ensure(close(linf, np.abs(d).max(1), rtol=1e-4),
           "wrong L-infinity distances: the largest absolute difference (mind negative differences)")


CHECKS = [
    Check("q00_to_unit_range", 2, ("to_unit_range",), ("robustkeras.data.to_float",), to_unit_range_verdict,
          uses="numpy"),
    Check("q00_class_counts", 2, ("class_counts",), (), class_counts_verdict, uses="numpy"),
    Check("q00_image_grid", 2, ("image_grid",), ("robustkeras.plotting.image_grid",), image_grid_verdict,
          uses="numpy"),
    Check("q00_distances", 3, ("l2_distance", "linf_distance"), ("robustkeras.attacks.steps.l2_norm",),
          distances_verdict, uses="numpy"),
]
