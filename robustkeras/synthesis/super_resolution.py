"""Super-resolution: bicubic upsampling, then class-guided steps that keep the low-res image."""

import numpy as np
from keras import ops

from robustkeras import _checks, imageops
from robustkeras.imageops import bicubic, downsample  # noqa: F401  (public here since the first release)
from robustkeras.synthesis import optimizer
from robustkeras.synthesis.generation import class_objective


def lowres_projection(params, x):
    """Shift each block so its average equals the low-resolution pixel (exact consistency)."""
    lowres = params["lowres"]
    factor = ops.shape(x)[1] // ops.shape(lowres)[1]
    return x + imageops.repeat_blocks(lowres - imageops.average_pool(x, factor), factor)


def _factor(spec, lowres, factor):
    """The upsampling factor: the model's input side over the low-res side; checked against `factor`."""
    side = spec.shape[0] if spec.shape is not None else None
    h, w = lowres.shape[1:3]
    if side is None:
        if factor is None:
            raise ValueError("Expected `factor` for a model of unknown input size. Received: factor=None")
        return _checks.positive_int("factor", factor)
    if factor is not None:
        factor = _checks.positive_int("factor", factor)
        if side % factor:
            raise ValueError(f"Expected `factor` to divide the model's input side {side}. Received: factor={factor}")
        if (h * factor, w * factor) != tuple(spec.shape[:2]):
            raise ValueError(
                f"Expected `lowres` of {side // factor}x{spec.shape[1] // factor} pixels for `factor`={factor} "
                f"(the output has the model's input size {side}x{spec.shape[1]}). Received: lowres.shape={lowres.shape}")
        return factor
    if side % h or (spec.shape[1] or w) % w or side // h != (spec.shape[1] or w) // w:
        raise ValueError(f"Expected `lowres` whose sides divide the model's input size {spec.shape[:2]}. "
                         f"Received: lowres.shape={lowres.shape}")
    return side // h


def super_resolve(model, lowres, target, *, factor=None, steps=30, step_size=0.1, radius=1.0):
    """Upsample `lowres` to the model's input size: bicubic, then steps towards the `target` class.

    The start is the bicubic image projected onto the images whose
    `factor`-average-pooling equals `lowres` (that projection alone is most of the
    PSNR gain over bicubic); each step is projected back onto that set and into
    an L2 ball of `radius` around the start.

    Args:
        model: robust classifier.
        lowres: float32 `(N, h, w, C)` in [0, 1], `h * factor` = the model's input side.
        target: int `(N,)`: the class the images should show (usually the true label).
        factor: upsampling factor (default: the model's input side over `h`); it
            must divide the model's input side.
        steps, step_size, radius: the optimizer.

    Returns:
        `SynthesisResult` of images of the model's input size (`extras`: `bicubic`, `target`).

    Example:
        >>> sr = super_resolve(model, downsample(x, 4), y, factor=4).images
    """
    spec = optimizer.checked_model(model)
    lowres = _checks.images("lowres", lowres, channels=spec.channels)
    factor = _factor(spec, lowres, factor)
    target = _checks.labels("target", target, n=len(lowres), num_classes=spec.num_classes)
    steps, step_size, radius = optimizer.check_settings(steps, step_size, radius)
    baseline = imageops.upsample_bicubic(lowres, factor)
    params = {"target": target, "lowres": np.asarray(lowres, np.float32)}
    # Bicubic is not consistent with average pooling; start from its projection.
    start = np.clip(np.asarray(lowres_projection(params, baseline)), 0.0, 1.0).astype(np.float32)
    result = optimizer.run(model, start, objective=class_objective, params=params, steps=steps,
                           step_size=step_size, radius=radius, project=lowres_projection)
    result.extras.update(bicubic=baseline, target=target)
    return result
