"""Probes of stage 02 (adversarial examples): input gradients, FGSM, projections, PGD."""

import numpy as np

from ._common import ProbeError, answer, as_array, attempt, rng
from ._models import tiny_model


def q02_input_gradient_inputs(seed):
    r = rng(seed, 2, 1)
    k = int(r.integers(4, 11))
    return {"x": r.random((4, 3, 3, 2)).astype(np.float32), "y": r.integers(0, k, 4), "classes": k,
            "linear_w": r.normal(0, 1, (18, k)).astype(np.float32), "model_seed": int(r.integers(0, 2 ** 31))}


def linear_model(w, input_shape):
    """logits = flatten(x) @ w (no bias)."""
    import keras

    model = keras.Sequential([keras.Input(tuple(input_shape)), keras.layers.Flatten(),
                              keras.layers.Dense(w.shape[1], use_bias=False)])
    model.layers[-1].set_weights([w])
    return model


def q02_input_gradient_model(inp):
    """A conv model with dropout: only training=False gives a deterministic gradient."""
    return tiny_model(inp["model_seed"], (3, 3, 2), inp["classes"], conv=3, hidden=8, dropout=0.5)


def probe_q02_input_gradient(ns, seed):
    fn = answer(ns, "input_gradient")
    inp = q02_input_gradient_inputs(seed)
    linear = linear_model(inp["linear_w"], (3, 3, 2))
    return {"linear": as_array(fn(linear, inp["x"].copy(), inp["y"].copy()), "input_gradient"),
            "conv": as_array(fn(q02_input_gradient_model(inp), inp["x"].copy(), inp["y"].copy()), "input_gradient")}


def q02_fgsm_inputs(seed):
    r = rng(seed, 2, 2)
    k = int(r.integers(4, 11))
    return {"x": r.random((5, 4, 4, 3)).astype(np.float32), "y": r.integers(0, k, 5), "classes": k,
            "eps": float(r.uniform(0.02, 0.08)), "model_seed": int(r.integers(0, 2 ** 31))}


def q02_fgsm_model(inp):
    return tiny_model(inp["model_seed"], (4, 4, 3), inp["classes"], hidden=12)


def probe_q02_fgsm(ns, seed):
    fn = answer(ns, "fgsm")
    inp = q02_fgsm_inputs(seed)
    return {"adv": as_array(fn(q02_fgsm_model(inp), inp["x"].copy(), inp["y"].copy(), inp["eps"]), "fgsm")}


def q02_projections_inputs(seed):
    r = rng(seed, 2, 3)
    x0 = r.random((6, 4, 3, 3)).astype(np.float32)
    x = np.clip(x0 + r.normal(0, 0.3, x0.shape), -0.5, 1.5).astype(np.float32)
    x[1] = x0[1] + 0.01 * np.sign(r.normal(size=x0[1].shape))   # well inside both balls
    x[2] = x0[2]                                                 # no change at all (zero norm)
    return {"x": x, "x0": x0, "eps_l2": float(r.uniform(0.3, 1.0)), "eps_linf": float(r.uniform(0.03, 0.1))}


def probe_q02_projections(ns, seed):
    inp = q02_projections_inputs(seed)
    x, x0, out = inp["x"], inp["x0"], {}
    attempt(out, "linf", lambda: as_array(answer(ns, "project_linf")(x.copy(), x0.copy(), inp["eps_linf"]), "project_linf"))
    attempt(out, "l2", lambda: as_array(answer(ns, "project_l2")(x.copy(), x0.copy(), inp["eps_l2"]), "project_l2"))
    if not {"linf", "l2"} & set(out):
        as_array(answer(ns, "project_linf")(x.copy(), x0.copy(), inp["eps_linf"]), "project_linf")  # say why
        raise ProbeError("nothing_usable", name="project_linf", other="project_l2")
    return out


SMALL_STEP = 0.1   # a step size of eps / 10: six steps reach 0.6 eps at most


def q02_pgd_inputs(seed):
    r = rng(seed, 2, 4)
    k = int(r.integers(4, 11))
    x = r.random((4, 2, 3, 2)).astype(np.float32)
    grad = r.normal(0, 1, x.shape).astype(np.float32)
    grad[1] = 0.0                                     # a zero gradient: no nan
    return {"step_x": x, "step_grad": grad, "step_size": float(r.uniform(0.05, 0.5)),
            "x": r.random((6, 5, 5, 3)).astype(np.float32), "y": r.integers(0, k, 6), "classes": k,
            "eps_l2": float(r.uniform(0.3, 0.8)), "eps_linf": float(r.uniform(0.02, 0.05)), "steps": 6,
            "model_seed": int(r.integers(0, 2 ** 31))}


def q02_pgd_model(inp):
    """With dropout: an attack whose gradients run in training mode is noisy."""
    return tiny_model(inp["model_seed"], (5, 5, 3), inp["classes"], hidden=16, dropout=0.5)


def probe_q02_pgd(ns, seed):
    inp = q02_pgd_inputs(seed)
    out = {}
    for norm in ("linf", "l2"):
        attempt(out, f"step_{norm}", lambda: as_array(answer(ns, "pgd_step")(
            inp["step_x"].copy(), inp["step_grad"].copy(), inp["step_size"], norm), "pgd_step"))
    model = q02_pgd_model(inp)
    for norm in ("l2", "linf"):
        eps = inp[f"eps_{norm}"]
        attempt(out, f"adv_{norm}", lambda: as_array(answer(ns, "pgd_attack")(
            model, inp["x"].copy(), inp["y"].copy(), norm=norm, eps=eps, step_size=eps / 4, steps=inp["steps"]),
            "pgd_attack"))
        # several steps smaller than eps: `steps` times `step_size` stays inside the ball, so one big
        # step (or a step size of its own) shows
        attempt(out, f"small_{norm}", lambda: as_array(answer(ns, "pgd_attack")(
            model, inp["x"].copy(), inp["y"].copy(), norm=norm, eps=eps, step_size=eps * SMALL_STEP,
            steps=inp["steps"]), "pgd_attack"))
    if not out or all(k.endswith("_failed") for k in out):   # nothing works: raise the first error
        as_array(answer(ns, "pgd_step")(inp["step_x"].copy(), inp["step_grad"].copy(), inp["step_size"], "l2"), "pgd_step")
        as_array(answer(ns, "pgd_attack")(model, inp["x"].copy(), inp["y"].copy(), norm="l2", eps=0.5,
                                          step_size=0.1, steps=1), "pgd_attack")
    return out
