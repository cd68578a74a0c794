"""Checks of stage 10 (interactive manipulation)."""

import numpy as np

from course.checks import Check
from course.checks._judge import close, ensure, judged, need
from course.checks.probes._synthesis import penultimate, synthesis_model
from course.checks.probes.s10_interactive_manipulation import (
    q10_feature_objective_inputs, q10_paint_inputs, q10_paint_unit, q10_top_units_inputs, q10_top_units_model)


@judged
def feature_objective_verdict(outputs, seed):
    inp = q10_feature_objective_inputs(seed)
    n = len(inp["unit"])
    out = need(outputs, "out", (n,), "feature_objective: one value per image,")
    change = (inp["keep"] * (inp["x"].astype(np.float64) - inp["reference"]) ** 2).sum(axis=(1, 2, 3))
    want = inp["features"][np.arange(n), inp["unit"]] - float(inp["weight"]) * change
    ensure(close(out, want, rtol=1e-4, atol=1e-4),
           "wrong values: features[i, unit[i]] - weight * sum over pixels and channels of keep * (x - reference)**2")


@judged
def top_units_verdict(outputs, seed):
    inp = q10_top_units_inputs(seed)
    kernel = np.asarray(q10_top_units_model(inp).layers[-1].kernel)
    for key, class_id, k in (("top_k", inp["class_id"], inp["k"]), ("default", (inp["class_id"] + 1) % inp["classes"], 5)):
        out = need(outputs, key, (k,), f"top_units(model, class_id, k={k}): k indices,")
        ensure(np.array_equal(out, np.argsort(-kernel[:, class_id])[:k]),
               "the indices of the k largest weights in column class_id of the head's kernel, largest first")


@judged
def paint_verdict(outputs, seed):
    inp = q10_paint_inputs(seed)
    image, region = inp["image"], inp["region"]
    out = need(outputs, "out", image.shape, "paint: one image (H, W, 3)")
    ensure(np.all(np.isfinite(out)), "the result holds nan or inf")
    model = synthesis_model(inp["model_seed"])
    unit = q10_paint_unit(model, image)
    features = penultimate(model)
    before = float(np.asarray(features(image[None], training=False))[0, unit])
    after = float(np.asarray(features(out[None].astype(np.float32), training=False))[0, unit])
    ensure(after > before, "the chosen feature should grow: optimize your feature_objective with params['unit'] = [unit]")
    outside = np.abs(out - image)[np.broadcast_to(region == 0, image.shape)]
    ensure(outside.mean() < 0.02, "outside the region the image should barely change: keep = 1 - region")


MANIPULATION = "robustkeras.synthesis.manipulation"

CHECKS = [
    Check("q10_feature_objective", 3, ("feature_objective",),
          (f"{MANIPULATION}.feature_objective", "robustkeras.synthesis.terms.feature_value",
           "robustkeras.synthesis.terms.squared_distance"), feature_objective_verdict,
          uses="keras.ops (it runs inside the compiled optimizer)"),
    Check("q10_top_units", 2, ("top_units",), (f"{MANIPULATION}.FeaturePainter.top_units",), top_units_verdict,
          uses="numpy"),
    Check("q10_paint", 3, ("paint",),
          (f"{MANIPULATION}.manipulate", f"{MANIPULATION}.FeaturePainter.paint", f"{MANIPULATION}.feature_objective"),
          paint_verdict, allowed=("robustkeras.synthesis.optimize",),
          uses="numpy; `robustkeras.synthesis.optimize`; your `feature_objective`"),
]
