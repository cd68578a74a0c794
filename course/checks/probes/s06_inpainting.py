"""Probes of stage 06 (inpainting): a mask, the objective, the task."""

import numpy as np

from ._common import answer, as_array, attempt, rng
from ._synthesis import synthesis_model


def q06_center_mask_inputs(seed):
    r = rng(seed, 6, 1)
    # an even size with an odd side: the corner is (size - side) // 2, not size // 2 - side // 2
    cases = [(2, 8, 4), (int(r.integers(1, 4)), 9, 4), (1, int(r.choice([10, 12, 14])), int(r.choice([3, 5, 7])))]
    return {"cases": cases}


def probe_q06_center_mask(ns, seed):
    fn = answer(ns, "center_mask")
    out = {}
    for i, (n, size, side) in enumerate(q06_center_mask_inputs(seed)["cases"]):
        out[f"case{i}"] = as_array(fn(n, size=size, side=side), "center_mask")
    attempt(out, "default", lambda: as_array(fn(2), "center_mask"))
    return out


def q06_inpaint_objective_inputs(seed):
    r = rng(seed, 6, 2)
    n, k = 3, int(r.integers(4, 11))
    return {"target": r.integers(0, k, n), "reference": r.random((n, 4, 5, 3)).astype(np.float32),
            "keep": (r.random((n, 4, 5, 1)) > 0.5).astype(np.float32), "weight": np.float32(r.uniform(0.5, 4.0)),
            "x": r.random((n, 4, 5, 3)).astype(np.float32), "logits": r.normal(0, 2, (n, k)).astype(np.float32)}


def probe_q06_inpaint_objective(ns, seed):
    fn = answer(ns, "inpaint_objective")
    inp = q06_inpaint_objective_inputs(seed)
    params = {key: np.array(inp[key]) for key in ("target", "reference", "keep", "weight")}
    return {"out": as_array(fn(params, inp["x"].copy(), inp["logits"].copy(), None), "inpaint_objective")}


def q06_inpaint_inputs(seed):
    r = rng(seed, 6, 3)
    mask = np.zeros((2, 32, 32, 1), np.float32)
    for i in range(2):
        top, left = int(r.integers(4, 14)), int(r.integers(4, 14))
        mask[i, top:top + 14, left:left + 14] = 1.0
    return {"images": r.random((2, 32, 32, 3)).astype(np.float32), "labels": r.integers(0, 10, 2), "mask": mask,
            "steps": 10, "model_seed": int(r.integers(0, 2 ** 31))}


def probe_q06_inpaint(ns, seed):
    fn = answer(ns, "inpaint_images")
    inp = q06_inpaint_inputs(seed)
    model = synthesis_model(inp["model_seed"])
    return {"out": as_array(fn(model, inp["images"].copy(), inp["labels"].copy(), inp["mask"].copy(), steps=inp["steps"]),
                            "inpaint_images")}
