"""Super-resolution: bicubic upsampling, then class-guided steps that keep the low-res image."""

import numpy as np
from keras import ops

from robustkeras import _checks
from robustkeras.synthesis.generation import class_objective
from robustkeras.synthesis.optimizer import optimize


def downsample(images, factor):
    """Average-pool `images` by an integer `factor` (numpy float32)."""
    images = _checks.images("images", images)
    factor = _checks.positive_int("factor", factor)
    n, h, w, c = images.shape
    if h % factor or w % factor:
        raise ValueError(f"Expected image sides divisible by `factor`. Received: factor={factor}, size={h}x{w}")
    return images.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


def bicubic(lowres, factor):
    """Bicubic upsampling by `factor`, clipped to [0, 1]: the baseline."""
    lowres = _checks.images("lowres", lowres)
    factor = _checks.positive_int("factor", factor)
    size = (lowres.shape[1] * factor, lowres.shape[2] * factor)
    return np.clip(np.asarray(ops.image.resize(lowres, size, interpolation="bicubic")), 0, 1).astype(np.float32)


def lowres_projection(params, x):
    """Shift each block so its average equals the low-resolution pixel (exact consistency)."""
    lowres = params["lowres"]
    factor = ops.shape(x)[1] // ops.shape(lowres)[1]
    n, h, w, c = ops.shape(x)
    pooled = ops.mean(ops.reshape(x, (n, h // factor, factor, w // factor, factor, c)), axis=(2, 4))
    fix = ops.repeat(ops.repeat(lowres - pooled, factor, axis=1), factor, axis=2)
    return x + fix


def super_resolve(model, lowres, target, *, factor=4, steps=30, step_size=0.1, radius=1.0):
    """Upsample `lowres` by `factor`: bicubic, then steps towards the true class.

    The start is the bicubic image projected onto the images whose
    `factor`-average-pooling equals `lowres` (that projection alone is most of the
    PSNR gain over bicubic); each step is projected back onto that set and into
    an L2 ball of `radius` around the start.

    Args:
        model: robust classifier.
        lowres: float32 `(N, h, w, 3)` in [0, 1].
        target: int `(N,)`: the class the images should show (usually the true label).
        factor: upsampling factor (2 or 4 for 32x32 outputs).
        steps, step_size, radius: the optimizer.

    Returns:
        `SynthesisResult` (`extras`: `bicubic`, `target`).

    Example:
        >>> sr = super_resolve(model, downsample(x, 4), y, factor=4).images
    """
    lowres = _checks.images("lowres", lowres)
    target = _checks.labels("target", target, n=len(lowres), num_classes=10)
    baseline = bicubic(lowres, factor)
    params = {"target": target, "lowres": np.asarray(lowres, np.float32)}
    # Bicubic is not consistent with average pooling; start from its projection.
    start = np.clip(np.asarray(lowres_projection(params, baseline)), 0.0, 1.0).astype(np.float32)
    result = optimize(model, start, objective=class_objective, params=params, steps=steps,
                      step_size=step_size, radius=radius, project=lowres_projection)
    result.extras.update(bicubic=baseline, target=target)
    return result
