"""Inpainting: fill a masked region so the image shows its class, keep the rest."""

import numpy as np

from robustkeras import _checks
from robustkeras.imageops import make_mask  # noqa: F401  (public here since the first release)
from robustkeras.synthesis import optimizer
from robustkeras.synthesis.terms import class_log_prob, squared_distance


def inpaint_objective(params, x, logits, features):
    """log p(class | x) minus `weight` times the squared change outside the mask."""
    return class_log_prob(logits, params["target"]) - params["weight"] * squared_distance(
        x, params["reference"], params["keep"])


def inpaint(model, images, target, mask, *, steps=60, step_size=2.0, weight=10.0, radius=np.inf):
    """Fill `mask` in `images` by maximising the true class, keeping the unmasked pixels.

    The hole starts grey; the optimizer maximises the class inside the hole
    while an L2 consistency term (`weight`) anchors the unmasked pixels; at
    the end the unmasked pixels are pasted back, so outside the mask (mask 0)
    every returned pixel equals the input exactly (a soft mask blends:
    `images * (1 - mask) + filled * mask`). `objective_values` are those of
    the optimizer's iterates, before the paste.

    Args:
        model: robust classifier.
        images: float32 `(N, H, W, C)` in [0, 1], of the model's input shape (the masked pixels are ignored).
        target: int `(N,)`: the class each filled image should show (usually the true label).
        mask: `(N, H, W, 1)` or `(H, W, 1)`, 1 where pixels are missing.
        steps, step_size, radius: the optimizer.
        weight: weight of the consistency term outside the mask.

    An empty mask leaves the images unchanged.

    Returns:
        `SynthesisResult` (`extras`: `mask`, `target`).

    Example:
        >>> filled = inpaint(model, x, y, make_mask("center", len(x))).images
    """
    spec = optimizer.checked_model(model)
    images = _checks.images_for(spec, "images", images, model=model)
    target = _checks.labels("target", target, n=len(images), num_classes=spec.num_classes)
    mask = _checks.mask("mask", mask, images.shape)
    weight = _checks.non_negative("weight", weight)
    steps, step_size, radius = optimizer.check_settings(steps, step_size, radius)
    start = images * (1 - mask) + 0.5 * mask
    params = {"target": target, "reference": images, "keep": 1.0 - mask, "weight": np.float32(weight)}
    result = optimizer.run(model, start, objective=inpaint_objective, params=params, steps=steps,
                           step_size=step_size, radius=radius)
    keep = 1.0 - mask  # outside the hole the image stays exactly as it was (an empty mask: all of it)
    result.images = (images * keep + result.images * mask).astype(np.float32)
    result.extras.update(mask=np.ascontiguousarray(mask), target=target)
    return result
