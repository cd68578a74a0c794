"""Probes of stage 08 (sketch-to-image): edge sketches, the task."""

import numpy as np

from ._common import answer, as_array, rng
from ._synthesis import synthesis_model


def q08_edge_sketch_inputs(seed):
    r = rng(seed, 8, 1)
    images = r.random((4, 12, 10, 3)).astype(np.float32)
    images[1] = float(r.uniform(0.1, 0.9))          # flat: no edges
    images[2] = 0.1
    images[2, :, int(r.integers(3, 7)):] = 0.9       # one vertical edge
    return {"images": images}


def probe_q08_edge_sketch(ns, seed):
    fn = answer(ns, "edge_sketch")
    return {"out": as_array(fn(q08_edge_sketch_inputs(seed)["images"].copy()), "edge_sketch")}


def q08_sketch_to_image_inputs(seed):
    r = rng(seed, 8, 2)
    sketches = np.ones((2, 32, 32, 3), np.float32)
    for i in range(2):
        a, b = sorted(r.integers(4, 28, 2))
        sketches[i, a:b + 2, int(r.integers(4, 28))] = 0.0
        sketches[i, int(r.integers(4, 28)), a:b + 2] = 0.0
    return {"sketches": sketches, "classes": r.integers(0, 10, 2), "steps": 6, "step_size": 0.5,
            "radius": float(r.uniform(1.5, 2.5)), "model_seed": int(r.integers(0, 2 ** 31)),
            # a radius that binds and a step size that does: an answer must pass both on
            "tight_radius": float(r.uniform(0.3, 0.6)), "small_step": float(r.uniform(0.01, 0.03))}


def probe_q08_sketch_to_image(ns, seed):
    fn = answer(ns, "sketch_to_image")
    inp = q08_sketch_to_image_inputs(seed)
    model = synthesis_model(inp["model_seed"])
    return {"out": as_array(fn(model, inp["sketches"].copy(), inp["classes"].copy(), steps=inp["steps"],
                               step_size=inp["step_size"], radius=inp["radius"]), "sketch_to_image"),
            "tight": as_array(fn(model, inp["sketches"].copy(), inp["classes"].copy(), steps=inp["steps"],
                                 step_size=1.0, radius=inp["tight_radius"]), "sketch_to_image"),
            "small": as_array(fn(model, inp["sketches"].copy(), inp["classes"].copy(), steps=4,
                                 step_size=inp["small_step"], radius=8.0), "sketch_to_image")}
