"""Probes of stage 00 (setup and data): numpy exercises on seeded random inputs."""

import numpy as np

from ._common import answer, as_array, rng


def q00_to_unit_range_inputs(seed):
    images = rng(seed, 0, 1).integers(0, 256, (3, 5, 6, 3)).astype(np.uint8)
    images[0, 0, 0] = [0, 255, 51]
    dim = (images[:2] // 3 + 40).astype(np.uint8)   # neither 0 nor 255: min-max scaling differs from / 255
    return {"images": images, "dim": dim}


def probe_q00_to_unit_range(ns, seed):
    fn = answer(ns, "to_unit_range")
    inp = q00_to_unit_range_inputs(seed)
    return {"out": as_array(fn(inp["images"].copy()), "to_unit_range"),
            "dim": as_array(fn(inp["dim"].copy()), "to_unit_range")}


def q00_class_counts_inputs(seed):
    r = rng(seed, 0, 2)
    k = int(r.integers(3, 8))
    labels = r.integers(0, 10, 40)
    labels[labels == int(r.integers(0, 10))] = 0   # a class that never occurs
    small = r.integers(0, k - 1, 30)                # the last class never occurs
    return {"labels": labels, "num_classes": k, "labels_k": small}


def probe_q00_class_counts(ns, seed):
    fn = answer(ns, "class_counts")
    inp = q00_class_counts_inputs(seed)
    return {"default": as_array(fn(inp["labels"].copy()), "class_counts"),
            "num_classes_k": as_array(fn(inp["labels_k"].copy(), num_classes=inp["num_classes"]), "class_counts")}


def q00_image_grid_inputs(seed):
    r = rng(seed, 0, 3)
    n, ncols = int(r.integers(5, 8)), int(r.integers(2, 5))
    if n % ncols == 0:
        n += 1                                      # one case with unused tiles...
    h, w = int(r.integers(2, 5)), int(r.integers(2, 5))
    ragged = r.random((n, h, w, 3)).astype(np.float32) + 0.01
    exact = r.random((2 * ncols, w, h, 1)).astype(np.float32) + 0.01   # ...one that fills its grid
    return {"ragged": ragged, "exact": exact, "ncols": ncols}


def probe_q00_image_grid(ns, seed):
    fn = answer(ns, "image_grid")
    inp = q00_image_grid_inputs(seed)
    return {"ragged": as_array(fn(inp["ragged"].copy(), inp["ncols"]), "image_grid"),
            "exact": as_array(fn(inp["exact"].copy(), inp["ncols"]), "image_grid")}


def q00_distances_inputs(seed):
    r = rng(seed, 0, 4)
    a = r.random((4, 6, 5, 3)).astype(np.float32)
    b = np.clip(a + r.normal(0, 0.1, a.shape), 0, 1).astype(np.float32)
    b[1] = a[1]                                     # an image at distance 0
    b[2, 1, 2, 0] = a[2, 1, 2, 0] - 0.9             # a negative difference dominates L-inf
    return {"a": a, "b": b}


def probe_q00_distances(ns, seed):
    l2, linf = answer(ns, "l2_distance"), answer(ns, "linf_distance")
    inp = q00_distances_inputs(seed)
    a, b = inp["a"], inp["b"]
    return {"l2": as_array(l2(a.copy(), b.copy()), "l2_distance"),
            "linf": as_array(linf(a.copy(), b.copy()), "linf_distance"),
            "l2_float64": as_array(l2(a.astype(np.float64), b.astype(np.float64)), "l2_distance")}
