"""Probes of stage 04 (robust features): class gradients, displaying them, targeted L2 PGD."""

import numpy as np

from ._common import answer, as_array, rng
from ._models import tiny_model
from .s02_adversarial_examples import linear_model


def q04_class_gradient_inputs(seed):
    r = rng(seed, 4, 1)
    k = int(r.integers(4, 11))
    return {"x": r.random((4, 3, 3, 2)).astype(np.float32), "classes": r.integers(0, k, 4), "num_classes": k,
            "linear_w": r.normal(0, 1, (18, k)).astype(np.float32), "model_seed": int(r.integers(0, 2 ** 31))}


def q04_class_gradient_model(inp):
    return tiny_model(inp["model_seed"], (3, 3, 2), inp["num_classes"], conv=3, hidden=8, dropout=0.5)


def probe_q04_class_gradient(ns, seed):
    fn = answer(ns, "class_gradient")
    inp = q04_class_gradient_inputs(seed)
    x, c = inp["x"], inp["classes"]
    return {"linear": as_array(fn(linear_model(inp["linear_w"], (3, 3, 2)), x.copy(), c.copy()), "class_gradient"),
            "conv": as_array(fn(q04_class_gradient_model(inp), x.copy(), c.copy()), "class_gradient")}


def q04_to_display_inputs(seed):
    r = rng(seed, 4, 2)
    g = r.normal(0, 1, (4, 3, 4, 2)) * np.array([1e-3, 5.0, 1.0, 0.0]).reshape(4, 1, 1, 1)
    g[2] = -np.abs(g[2])                            # the largest magnitude is negative
    return {"g": g.astype(np.float32)}


def probe_q04_to_display(ns, seed):
    fn = answer(ns, "to_display")
    return {"out": as_array(fn(q04_to_display_inputs(seed)["g"].copy()), "to_display")}


def q04_towards_class_inputs(seed):
    r = rng(seed, 4, 3)
    k = int(r.integers(4, 11))
    return {"x": r.random((5, 5, 5, 3)).astype(np.float32), "targets": r.integers(0, k, 5), "classes": k,
            "eps": float(r.uniform(0.5, 1.5)), "steps": 5, "model_seed": int(r.integers(0, 2 ** 31))}


def q04_towards_class_model(inp):
    return tiny_model(inp["model_seed"], (5, 5, 3), inp["classes"], hidden=16)


def probe_q04_towards_class(ns, seed):
    fn = answer(ns, "towards_class")
    inp = q04_towards_class_inputs(seed)
    model = q04_towards_class_model(inp)
    return {"out": as_array(fn(model, inp["x"].copy(), inp["targets"].copy(), eps=inp["eps"], steps=inp["steps"]),
                            "towards_class")}
