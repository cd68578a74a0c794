"""Probes of stage 10 (interactive manipulation): the feature objective, top units, painting."""

import numpy as np

from ._common import answer, as_array, rng
from ._models import tiny_model
from ._synthesis import penultimate, synthesis_model


def q10_feature_objective_inputs(seed):
    r = rng(seed, 10, 1)
    n, f = 3, int(r.integers(4, 12))
    return {"unit": r.integers(0, f, n), "reference": r.random((n, 4, 3, 3)).astype(np.float32),
            "keep": (r.random((n, 4, 3, 1)) > 0.5).astype(np.float32), "weight": np.float32(r.uniform(0.5, 4.0)),
            "x": r.random((n, 4, 3, 3)).astype(np.float32), "features": r.random((n, f)).astype(np.float32)}


def probe_q10_feature_objective(ns, seed):
    fn = answer(ns, "feature_objective")
    inp = q10_feature_objective_inputs(seed)
    params = {key: np.array(inp[key]) for key in ("unit", "reference", "keep", "weight")}
    return {"out": as_array(fn(params, inp["x"].copy(), None, inp["features"].copy()), "feature_objective")}


def q10_top_units_inputs(seed):
    r = rng(seed, 10, 2)
    return {"model_seed": int(r.integers(0, 2 ** 31)), "features": int(r.integers(8, 16)), "classes": 6,
            "class_id": int(r.integers(0, 6)), "k": int(r.integers(2, 5))}


def q10_top_units_model(inp):
    return tiny_model(inp["model_seed"], (3, 3, 2), inp["classes"], hidden=inp["features"])


def probe_q10_top_units(ns, seed):
    fn = answer(ns, "top_units")
    inp = q10_top_units_inputs(seed)
    model = q10_top_units_model(inp)
    return {"top_k": as_array(fn(model, inp["class_id"], k=inp["k"]), "top_units", np.int64),
            "default": as_array(fn(model, (inp["class_id"] + 1) % inp["classes"]), "top_units", np.int64)}


def q10_paint_inputs(seed):
    r = rng(seed, 10, 3)
    region = np.zeros((32, 32, 1), np.float32)
    top, left = int(r.integers(0, 12)), int(r.integers(0, 12))
    region[top:top + 20, left:left + 20] = 1.0
    return {"image": r.random((32, 32, 3)).astype(np.float32), "region": region, "steps": 8,
            "model_seed": int(r.integers(0, 2 ** 31))}


def q10_paint_unit(model, image):
    """The most active feature on the image (a unit whose gradient is not zero)."""
    return int(np.argmax(np.asarray(penultimate(model)(image[None], training=False))[0]))


def probe_q10_paint(ns, seed):
    fn = answer(ns, "paint")
    inp = q10_paint_inputs(seed)
    model = synthesis_model(inp["model_seed"])
    unit = q10_paint_unit(model, inp["image"])
    return {"out": as_array(fn(model, inp["image"].copy(), inp["region"].copy(), unit, steps=inp["steps"]), "paint")}
