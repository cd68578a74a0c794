"""Checks of stage 08 (sketch-to-image)."""

import numpy as np

from course.checks import Check
from course.checks import _reference as ref
from course.checks._judge import close, ensure, ensure_in_ball, judged, l2_distances, need
from course.checks.probes._synthesis import synthesis_model
from course.checks.probes.s08_sketch_to_image import q08_edge_sketch_inputs, q08_sketch_to_image_inputs


def _edge_sketch(images):
    gray = images.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    gy, gx = np.gradient(gray, axis=(1, 2))
    magnitude = np.hypot(gx, gy)
    lines = np.clip(magnitude / (np.percentile(magnitude, 90, axis=(1, 2), keepdims=True) + 1e-6), 0.0, 1.0)
    return np.repeat((1.0 - lines)[..., None], 3, axis=-1)


@judged
def edge_sketch_verdict(outputs, seed):
    images = q08_edge_sketch_inputs(seed)["images"]
    out = need(outputs, "out", (*images.shape[:3], 3), "edge_sketch: (N, H, W, 3)")
    ensure(np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1, "a sketch lives in [0, 1] (no nan)")
    ensure(close(out[1], 1.0, atol=1e-4), "a flat image has no edges: its sketch is all white (guard the division)")
    ensure(close(out, _edge_sketch(images), atol=1e-3),
           "wrong sketch: grey level 0.299 R + 0.587 G + 0.114 B, np.gradient over (H, W), magnitude divided by "
           "each image's 90th percentile + 1e-6, clipped; sketch = 1 - lines on 3 channels")


@judged
def sketch_to_image_verdict(outputs, seed):
    inp = q08_sketch_to_image_inputs(seed)
    sketches, classes = inp["sketches"], inp["classes"]
    out = need(outputs, "out", sketches.shape, "sketch_to_image: the sketches' shape")
    d = ensure_in_ball(out, sketches, inp["radius"], "stay within `radius` (L2) of the sketches")
    ensure(np.all(d > 1e-3), "nothing changed: optimize from the sketches")
    tight = need(outputs, "tight", sketches.shape, "sketch_to_image: the sketches' shape")
    ensure_in_ball(tight, sketches, inp["tight_radius"], "stay within the caller's `radius` (L2) of the sketches")
    small = need(outputs, "small", sketches.shape, "sketch_to_image: the sketches' shape")
    ensure(np.all(l2_distances(small, sketches) <= 4 * inp["small_step"] + 1e-3),
           "use the caller's `step_size` (a small step size must move the images less)")
    model = synthesis_model(inp["model_seed"])
    ensure(np.all(ref.log_prob(model, out, classes) > ref.log_prob(model, sketches, classes)),
           "the target class's probability should rise: the library's class_objective with targets `classes`")


CHECKS = [
    Check("q08_edge_sketch", 3, ("edge_sketch",),
          ("robustkeras.synthesis.sketch.make_sketch", "robustkeras.synthesis.sketch._edges"), edge_sketch_verdict,
          uses="numpy"),
    Check("q08_sketch_to_image", 3, ("sketch_to_image",),
          ("robustkeras.synthesis.sketch.sketch_to_image", "robustkeras.synthesis.translation.translate",
           "robustkeras.synthesis.translation.run_translation"),
          sketch_to_image_verdict, allowed=("robustkeras.synthesis.optimize", "robustkeras.synthesis.class_objective"),
          uses="numpy; `robustkeras.synthesis.optimize` and `class_objective`; your `edge_sketch`"),
]
