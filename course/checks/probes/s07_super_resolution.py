"""Probes of stage 07 (super-resolution): average pooling, the low-resolution projection, the task."""

import numpy as np

from ._common import answer, as_array, attempt, rng
from ._synthesis import synthesis_model


def q07_downsample_inputs(seed):
    r = rng(seed, 7, 1)
    f = int(r.integers(2, 5))
    return {"images": r.random((2, 3 * f, 2 * f, 3)).astype(np.float32), "factor": f}


def probe_q07_downsample(ns, seed):
    fn = answer(ns, "downsample")
    inp = q07_downsample_inputs(seed)
    return {"out": as_array(fn(inp["images"].copy(), inp["factor"]), "downsample")}


def q07_lowres_projection_inputs(seed):
    r = rng(seed, 7, 2)
    f = int(r.choice([2, 4]))
    return {"x": r.random((2, 4 * f, 4 * f, 3)).astype(np.float32), "lowres": r.random((2, 4, 4, 3)).astype(np.float32)}


def probe_q07_lowres_projection(ns, seed):
    import tensorflow as tf

    fn = answer(ns, "lowres_projection")
    inp = q07_lowres_projection_inputs(seed)
    out = {"out": as_array(fn({"lowres": inp["lowres"].copy()}, inp["x"].copy()), "lowres_projection")}
    attempt(out, "graph", lambda: as_array(tf.function(lambda lr, x: fn({"lowres": lr}, x))(
        tf.constant(inp["lowres"]), tf.constant(inp["x"])), "lowres_projection"))
    return out


def q07_super_resolve_inputs(seed):
    r = rng(seed, 7, 3)
    return {"lowres": (0.2 + 0.6 * r.random((2, 8, 8, 3))).astype(np.float32), "labels": r.integers(0, 10, 2),
            "factor": 4, "steps": 8, "model_seed": int(r.integers(0, 2 ** 31))}


def probe_q07_super_resolve(ns, seed):
    fn = answer(ns, "super_resolve_images")
    inp = q07_super_resolve_inputs(seed)
    model = synthesis_model(inp["model_seed"])
    return {"out": as_array(fn(model, inp["lowres"].copy(), inp["labels"].copy(), factor=inp["factor"],
                               steps=inp["steps"]), "super_resolve_images")}
