"""Checks of stage 07 (super-resolution)."""

import numpy as np

from course.checks import Check
from course.checks import _reference as ref
from course.checks._judge import close, ensure, judged, l2_distances, need, parts
from course.checks.probes._synthesis import synthesis_model
from course.checks.probes.s07_super_resolution import (
    q07_downsample_inputs, q07_lowres_projection_inputs, q07_super_resolve_inputs)


def _pool(images, f):
    n, h, w, c = images.shape
    return images.astype(np.float64).reshape(n, h // f, f, w // f, f, c).mean(axis=(2, 4))


@judged
def downsample_verdict(outputs, seed):
    inp = q07_downsample_inputs(seed)
    want = _pool(inp["images"], inp["factor"])
    out = need(outputs, "out", want.shape, "downsample: (N, H / factor, W / factor, C)")
    ensure(close(out, want, atol=1e-6), "wrong values: each output pixel is the mean of its factor x factor block, "
                                        "per channel (reshape to (N, H/f, f, W/f, f, C))")


@judged
def lowres_projection_verdict(outputs, seed):
    inp = q07_lowres_projection_inputs(seed)
    x, lowres = inp["x"].astype(np.float64), inp["lowres"].astype(np.float64)
    f = x.shape[1] // lowres.shape[1]
    want = x + np.repeat(np.repeat(lowres - _pool(x, f), f, axis=1), f, axis=2)
    out = need(outputs, "out", x.shape, "lowres_projection: x's shape")
    if not close(_pool(out, f), lowres, atol=1e-5):
        values = (False, "after the projection every block must average to its low-res pixel")
    else:
        values = (close(out, want, atol=1e-5),
                  "shift all pixels of a block by the same amount (lowres - block mean), keep the detail")
    graph = "graph" in outputs and close(outputs["graph"], want, atol=1e-5)
    # the master's tests check the values; the task runs the projection inside the compiled loop
    return parts((2, *values), (1, graph, "not traceable into a compiled loop: use keras.ops only "
                                          "(the factor from ops.shape)"))


@judged
def super_resolve_verdict(outputs, seed):
    from robustkeras.synthesis import bicubic

    inp = q07_super_resolve_inputs(seed)
    lowres, labels, f = inp["lowres"], inp["labels"], inp["factor"]
    shape = (len(lowres), lowres.shape[1] * f, lowres.shape[2] * f, 3)
    out = need(outputs, "out", shape, "super_resolve_images: (N, H * factor, W * factor, 3)")
    ensure(np.all(np.isfinite(out)), "the result holds nan or inf")
    ensure(np.abs(_pool(out, f) - lowres).mean() < 0.01,
           "the result must average back to the low-res image: pass project=lowres_projection")
    start = np.clip(bicubic(lowres, f) + np.repeat(np.repeat(lowres - _pool(bicubic(lowres, f), f), f, 1), f, 2), 0, 1)
    ensure(not np.allclose(out, start, atol=1e-3), "nothing changed: start at the projected bicubic image and take the steps")
    ensure(np.all(l2_distances(out, start) <= 1.0 + 0.05), "stay within an L2 ball of `radius` around the start")
    model = synthesis_model(inp["model_seed"])
    ensure(np.all(ref.log_prob(model, out, labels) > ref.log_prob(model, start, labels)),
           "the class probability should rise from the start: optimize the library's class_objective")


SR = "robustkeras.synthesis.super_resolution"

SYNTHESIS_TOOLS = ("robustkeras.synthesis.optimize", "robustkeras.synthesis.bicubic",
                   "robustkeras.synthesis.class_objective")

CHECKS = [
    Check("q07_downsample", 2, ("downsample",),
          (f"{SR}.downsample", "robustkeras.imageops.downsample", "robustkeras.imageops.average_pool"), downsample_verdict,
          uses="numpy or keras.ops"),
    Check("q07_lowres_projection", 3, ("lowres_projection",), (f"{SR}.lowres_projection",), lowres_projection_verdict,
          uses="keras.ops; your `downsample`"),
    Check("q07_super_resolve", 3, ("super_resolve_images",), (f"{SR}.super_resolve", f"{SR}.lowres_projection"),
          super_resolve_verdict, allowed=SYNTHESIS_TOOLS,
          uses="numpy; `robustkeras.synthesis.optimize`, `bicubic` and `class_objective`; your `lowres_projection`"),
]
