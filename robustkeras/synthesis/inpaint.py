"""Inpainting: fill a masked region so the image shows its class, keep the rest."""

import numpy as np

from robustkeras import _checks
from robustkeras.synthesis.optimizer import optimize
from robustkeras.synthesis.terms import class_log_prob, squared_distance


def inpaint_objective(params, x, logits, features):
    """log p(class | x) minus `weight` times the squared change outside the mask."""
    return class_log_prob(logits, params["target"]) - params["weight"] * squared_distance(
        x, params["reference"], params["keep"])


def make_mask(kind, n, size=32, *, fraction=0.25, seed=0):
    """Masks of missing pixels (1 = to fill), shape `(n, size, size, 1)`.

    Args:
        kind: "center" (a centred square covering `fraction` of the image) or
            "random" (a square of that area at a random place per image).
        n: number of masks.
        size: image side.
        fraction: area fraction of the square, in (0, 1).
        seed: random seed ("random" only).

    Returns:
        float32 masks.

    Example:
        >>> mask = make_mask("center", 8)
    """
    kind = _checks.one_of("kind", kind, {"center", "random"})
    n = _checks.positive_int("n", n)
    size = _checks.positive_int("size", size)
    fraction = _checks.number("fraction", fraction, low=0, high=1, low_open=True, high_open=True)
    seed = None if seed is None else _checks.positive_int("seed", seed, minimum=0)
    side = max(1, int(round(size * np.sqrt(fraction))))
    if kind == "center":
        tops = lefts = np.full(n, (size - side) // 2)
    else:
        rng = np.random.default_rng(seed)
        tops, lefts = rng.integers(0, size - side + 1, (2, n))
    mask = np.zeros((n, size, size, 1), np.float32)
    for i, (t, l) in enumerate(zip(tops, lefts)):
        mask[i, t:t + side, l:l + side] = 1.0
    return mask


def inpaint(model, images, target, mask, *, steps=60, step_size=2.0, weight=10.0, radius=np.inf):
    """Fill `mask` in `images` by maximising the true class, keeping the unmasked pixels.

    The hole starts grey; a strong L2 consistency term (`weight`) anchors the
    unmasked pixels, so the class gradient can only act inside the hole.

    Args:
        model: robust classifier.
        images: float32 `(N, H, W, 3)` in [0, 1] (the masked pixels are ignored).
        target: int `(N,)`: the class each filled image should show (usually the true label).
        mask: `(N, H, W, 1)` or `(H, W, 1)`, 1 where pixels are missing.
        steps, step_size, radius: the optimizer.
        weight: weight of the consistency term outside the mask.

    Returns:
        `SynthesisResult` (`extras`: `mask`, `target`).

    Example:
        >>> filled = inpaint(model, x, y, make_mask("center", len(x))).images
    """
    images = _checks.images("images", images)
    target = _checks.labels("target", target, n=len(images), num_classes=10)
    mask = _checks.mask("mask", mask, images.shape)
    weight = _checks.non_negative("weight", weight)
    start = images * (1 - mask) + 0.5 * mask
    params = {"target": target, "reference": images, "keep": 1.0 - mask, "weight": np.float32(weight)}
    result = optimize(model, start, objective=inpaint_objective, params=params, steps=steps,
                      step_size=step_size, radius=radius)
    result.extras.update(mask=np.ascontiguousarray(mask), target=target)
    return result
