"""Checks of stage 02 (adversarial examples)."""

import numpy as np

from course.checks import Check
from course.checks import _reference as ref
from course.checks._judge import Wrong, close, ensure, judged, need, parts
from course.checks.probes.s02_adversarial_examples import (
    linear_model, q02_fgsm_inputs, q02_fgsm_model, q02_input_gradient_inputs, q02_input_gradient_model,
    SMALL_STEP, q02_pgd_inputs, q02_pgd_model, q02_projections_inputs)

ATTACK_LIBRARY = ("robustkeras.attacks.pgd", "robustkeras.attacks.pgd_loop", "robustkeras.attacks.apgd",
                  "robustkeras.attacks.fgsm")


@judged
def input_gradient_verdict(outputs, seed):
    inp = q02_input_gradient_inputs(seed)
    x, y = inp["x"], inp["y"]
    g = need(outputs, "linear", x.shape, "input_gradient: a gradient shaped like x,")
    want = ref.input_gradient(linear_model(inp["linear_w"], x.shape[1:]), x, y)
    if close(g * len(x), want, atol=1e-4):
        raise Wrong("your gradient is the batch mean's: differentiate the *summed* cross-entropy")
    if close(g, -want, atol=1e-4):
        raise Wrong("your gradient has the wrong sign: differentiate the cross-entropy (the loss), not its negative")
    ensure(close(g, want, rtol=1e-3, atol=1e-4),
           "wrong gradient on a linear model: the summed cross-entropy of the logits (from_logits=True) and y")
    g = need(outputs, "conv", x.shape, "input_gradient: a gradient shaped like x,")
    ensure(close(g, ref.input_gradient(q02_input_gradient_model(inp), x, y), rtol=1e-3, atol=1e-4),
           "wrong gradient on a model with dropout: call the model with training=False")


@judged
def fgsm_verdict(outputs, seed):
    inp = q02_fgsm_inputs(seed)
    x, y, eps = inp["x"], inp["y"], inp["eps"]
    adv = need(outputs, "adv", x.shape, "fgsm: the images' shape")
    ensure(np.all(np.isfinite(adv)) and adv.min() >= 0 and adv.max() <= 1, "clip the result to [0, 1]")
    ensure(np.abs(adv - x).max() <= eps + 1e-5, "each pixel may move by at most eps")
    model = q02_fgsm_model(inp)
    g = ref.input_gradient(model, x, y)
    want = np.clip(x + eps * np.sign(g), 0, 1)
    clear = np.abs(g) > 1e-5 * np.abs(g).max()     # a gradient whose sign float error cannot flip
    inside = (x > eps + 1e-4) & (x < 1 - eps - 1e-4) & clear
    ensure(np.mean(np.isclose(np.abs(adv - x)[inside], eps, atol=1e-5)) > 0.99,
           "away from 0 and 1 every pixel should move by exactly eps: step by eps * sign(gradient)")
    ensure(np.mean(np.isclose(adv, want, atol=1e-5)[clear]) > 0.99,
           "wrong direction: step along +sign of the gradient of the cross-entropy (with your input_gradient)")
    ensure(np.all(ref.ce(model, adv, y) > ref.ce(model, x, y)), "FGSM must increase every image's loss")


@judged
def projections_verdict(outputs, seed):
    inp = q02_projections_inputs(seed)
    x, x0 = inp["x"].astype(np.float64), inp["x0"].astype(np.float64)
    results = []
    want = ref.project_linf(x, x0, inp["eps_linf"])
    if "linf" in outputs:
        out = need(outputs, "linf", x.shape, "project_linf: the input's shape")
        results.append((1, close(out, want, atol=1e-5),
                        "project_linf: clip x - x0 to [-eps, eps] per pixel, then the result to [0, 1]"))
    else:
        results.append((1, False, "project_linf raised an error or returned nothing usable"))
    want = ref.project_l2(x, x0, inp["eps_l2"])
    if "l2" in outputs:
        out = need(outputs, "l2", x.shape, "project_l2: the input's shape")
        ok = close(out, want, atol=1e-5)
        hint = "project_l2: scale x - x0 by min(1, eps / (||x - x0||_2 + 1e-12)) per image (not per pixel), then clip to [0, 1]"
        if not np.all(np.isfinite(out)):
            hint = "project_l2 gave nan or inf where x == x0: add 1e-12 to the norm"
        results.append((1, ok, hint))
    else:
        results.append((1, False, "project_l2 raised an error or returned nothing usable"))
    return parts(*results)


def _step_ok(outputs, inp, norm):
    key = f"step_{norm}"
    if key not in outputs:
        return False, "pgd_step raised an error or returned nothing usable"
    x, g, a = inp["step_x"].astype(np.float64), inp["step_grad"].astype(np.float64), inp["step_size"]
    out = np.asarray(outputs[key])
    if norm == "linf":
        return close(out, x + a * np.sign(g), atol=1e-5), "pgd_step, linf: x + step_size * sign(grad)"
    n = np.sqrt((g ** 2).reshape(len(g), -1).sum(1)).reshape(-1, 1, 1, 1)
    return (close(out, x + a * g / (n + 1e-12), atol=1e-5),
            "pgd_step, l2: x + step_size * grad / (||grad||_2 + 1e-12), the norm per image")


def _attack_ok(outputs, inp, norm, model, small=False):
    key = f"{'small' if small else 'adv'}_{norm}"
    if key not in outputs:
        return False, "pgd_attack raised an error or returned nothing usable"
    x, y, eps = inp["x"], inp["y"], inp[f"eps_{norm}"]
    step_size = eps * SMALL_STEP if small else eps / 4
    adv = np.asarray(outputs[key], np.float64)
    if adv.shape != x.shape:
        return False, f"pgd_attack: expected the images' shape, received {adv.shape}"
    if not (np.all(np.isfinite(adv)) and adv.min() >= 0 and adv.max() <= 1):
        return False, f"pgd_attack, {norm}: the result must stay in [0, 1]"
    d = (adv - x).reshape(len(x), -1)
    size = np.sqrt((d ** 2).sum(1)) if norm == "l2" else np.abs(d).max(1)
    if np.any(size > eps + 1e-4):
        return False, f"pgd_attack, {norm}: the result left the eps-ball; project after every step"
    if small and np.any(size > inp["steps"] * step_size + 1e-4):
        return False, (f"pgd_attack, {norm}: with steps * step_size < eps the result moved further than "
                       "steps * step_size: take `steps` steps of `step_size` (not one step of eps)")
    if small and norm == "linf":
        # signed steps: away from 0 and 1, every pixel moved by a whole number of step sizes
        free = (adv > 1e-6) & (adv < 1 - 1e-6)
        k = np.abs(adv - x)[free] / step_size
        if np.mean(np.abs(k - np.round(k)) < 1e-2) < 0.99:
            return False, (f"pgd_attack, {norm}: pixels moved by amounts that are not whole steps: "
                           "each step moves every pixel by step_size * sign(gradient)")
    clean, mine = ref.ce(model, x, y), ref.ce(model, adv, y)
    reference = ref.pgd(model, x, y, norm=norm, eps=eps, step_size=step_size, steps=inp["steps"])
    best = ref.ce(model, reference, y)
    if small and norm == "l2" and not close(adv, reference, atol=1e-3):
        # normalised steps do not depend on the loss's scale: the same algorithm gives the same images
        return False, (f"pgd_attack, {norm}: with small steps the result differs from PGD's (gradients of the "
                       "cross-entropy with the model in inference mode, `steps` steps of `step_size`)")
    if np.any(mine < clean - 1e-5) or mine.mean() < 0.95 * best.mean() - 1e-6:
        return False, (f"pgd_attack, {norm}: weaker than PGD with the same settings "
                       "(steps times: gradient in inference mode, step of `norm`, projection onto the ball "
                       "around the clean x)")
    return True, ""


@judged
def pgd_verdict(outputs, seed):
    inp = q02_pgd_inputs(seed)
    step = [_step_ok(outputs, inp, norm) for norm in ("linf", "l2")]
    model = q02_pgd_model(inp)
    attack = [_attack_ok(outputs, inp, norm, model, small) for small in (False, True) for norm in ("l2", "linf")]
    # the master's tests: the step rules (1 of 3 tests), the attack (2 of 3)
    return parts((1, all(ok for ok, _ in step), "; ".join(h for ok, h in step if not ok)),
                 (2, all(ok for ok, _ in attack), "; ".join(h for ok, h in attack if not ok)))


CHECKS = [
    Check("q02_input_gradient", 3, ("input_gradient",), ("robustkeras.backend.value_and_input_grad",),
          input_gradient_verdict, uses="tf tensor ops and tf.GradientTape; keras.losses (the cross-entropy)"),
    Check("q02_fgsm", 2, ("fgsm",), ("robustkeras.attacks.fgsm", *ATTACK_LIBRARY[:3],
                                     "robustkeras.backend.value_and_input_grad"), fgsm_verdict,
          uses="numpy; your `input_gradient`"),
    Check("q02_projections", 3, ("project_linf", "project_l2"),
          ("robustkeras.attacks.steps.L2Step.project", "robustkeras.attacks.steps.LinfStep.project",
           "tensorflow.clip_by_norm"), projections_verdict, uses="numpy"),
    Check("q02_pgd", 4, ("pgd_step", "pgd_attack"),
          (*ATTACK_LIBRARY, "robustkeras.attacks.steps.L2Step.step", "robustkeras.attacks.steps.L2Step.project",
           "robustkeras.attacks.steps.LinfStep.step", "robustkeras.attacks.steps.LinfStep.project",
           "robustkeras.backend.value_and_input_grad"), pgd_verdict,
          uses="numpy; your `input_gradient`, `project_linf` and `project_l2`"),
]
