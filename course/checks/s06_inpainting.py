"""Checks of stage 06 (inpainting)."""

import numpy as np

from course.checks import Check
from course.checks import _reference as ref
from course.checks._judge import close, ensure, judged, need
from course.checks.probes._synthesis import synthesis_model
from course.checks.probes.s06_inpainting import (
    q06_center_mask_inputs, q06_inpaint_inputs, q06_inpaint_objective_inputs)


def _mask(n, size, side):
    mask = np.zeros((n, size, size, 1), np.float32)
    top = (size - side) // 2
    mask[:, top:top + side, top:top + side] = 1.0
    return mask


@judged
def center_mask_verdict(outputs, seed):
    cases = q06_center_mask_inputs(seed)["cases"] + [(2, 32, 16)]
    keys = [f"case{i}" for i in range(len(cases) - 1)] + ["default"]
    for key, (n, size, side) in zip(keys, cases):
        want = _mask(n, size, side)
        what = "center_mask(2) with the defaults size=32, side=16" if key == "default" else "center_mask(n, size, side)"
        out = need(outputs, key, want.shape, f"{what}: (n, size, size, 1)")
        ensure(close(out, want, atol=0), f"{what}: ones on the side x side square with top-left corner "
                                         "(size - side) // 2, zeros elsewhere")


def _inpaint_objective(inp):
    z = inp["logits"]
    log_p = ref.log_softmax(z)
    change = (inp["keep"] * (inp["x"].astype(np.float64) - inp["reference"]) ** 2).sum(axis=(1, 2, 3))
    return log_p[np.arange(len(z)), inp["target"]] - float(inp["weight"]) * change


@judged
def inpaint_objective_verdict(outputs, seed):
    inp = q06_inpaint_objective_inputs(seed)
    out = need(outputs, "out", (len(inp["target"]),), "inpaint_objective: one value per image,")
    ensure(close(out, _inpaint_objective(inp), rtol=1e-4, atol=1e-4),
           "wrong values: log p(target | x) - weight * sum over pixels and channels of keep * (x - reference)**2")


@judged
def inpaint_verdict(outputs, seed):
    inp = q06_inpaint_inputs(seed)
    images, mask, labels = inp["images"], inp["mask"], inp["labels"]
    out = need(outputs, "out", images.shape, "inpaint_images: the images' shape")
    ensure(np.all(np.isfinite(out)), "the result holds nan or inf")
    hole = np.broadcast_to(mask == 1, images.shape)
    outside = np.abs(out - images)[~hole]
    ensure(outside.mean() < 0.02, f"pixels outside the hole moved by {outside.mean():.3f} on average: "
                                  "keep = 1 - mask, weight as given")
    start = images * (1 - mask) + 0.5 * mask
    inside = out[hole]
    ensure(np.abs(inside - 0.5).mean() > 1e-3, "nothing happened inside the hole: optimize from the grey-filled start")
    ensure(np.abs(inside - 0.5).mean() < np.abs(inside - images[hole]).mean(),
           "start from the images with the hole filled with grey (0.5)")
    model = synthesis_model(inp["model_seed"])
    ensure(np.all(ref.log_prob(model, out, labels) > ref.log_prob(model, start, labels)),
           "the class probability should rise from the grey-hole start: optimize your inpaint_objective")


SYNTHESIS_TERMS = ("robustkeras.synthesis.terms.squared_distance", "robustkeras.synthesis.terms.class_log_prob")

CHECKS = [
    Check("q06_center_mask", 2, ("center_mask",),
          ("robustkeras.synthesis.inpaint.make_mask", "robustkeras.imageops.make_mask"), center_mask_verdict,
          uses="numpy"),
    Check("q06_inpaint_objective", 3, ("inpaint_objective",),
          ("robustkeras.synthesis.inpaint.inpaint_objective", *SYNTHESIS_TERMS), inpaint_objective_verdict,
          uses="keras.ops (it runs inside the compiled optimizer)"),
    Check("q06_inpaint", 3, ("inpaint_images",),
          ("robustkeras.synthesis.inpaint", "robustkeras.synthesis.inpaint.inpaint_objective"), inpaint_verdict,
          allowed=("robustkeras.synthesis.optimize",),
          uses="numpy; `robustkeras.synthesis.optimize`; your `inpaint_objective`"),
]
