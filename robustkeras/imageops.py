"""Image operations shared by synthesis, metrics and the class statistics: pooling, resizing, masks.

`average_pool` is written in `keras.ops` (it runs inside compiled synthesis
loops and on numpy arrays alike); the public helpers check their arguments and
return numpy float32.
"""

import numpy as np
from keras import ops

from robustkeras import _checks


def average_pool(x, factor):
    """Average-pool a batch `(N, H, W, C)` by an integer `factor` (sides must divide; no checks)."""
    n, h, w, c = ops.shape(x)
    return ops.mean(ops.reshape(x, (n, h // factor, factor, w // factor, factor, c)), axis=(2, 4))


def repeat_blocks(x, factor):
    """Nearest-neighbour upsampling: each pixel becomes a `factor` x `factor` block (no checks)."""
    return ops.repeat(ops.repeat(x, factor, axis=1), factor, axis=2)


def resize(x, size, interpolation="bilinear"):
    """Resize a batch to `size` `(H, W)` (no checks; `keras.ops.image.resize`)."""
    return ops.image.resize(x, tuple(size), interpolation=interpolation)


def _images_and_factor(name, images, factor):
    return _checks.images(name, images, channels=None), _checks.positive_int("factor", factor)


def downsample(images, factor):
    """Average-pool `images` by an integer `factor` (numpy float32).

    Example:
        >>> downsample(np.zeros((2, 32, 32, 3), "float32"), 4).shape
        (2, 8, 8, 3)
    """
    images, factor = _images_and_factor("images", images, factor)
    h, w = images.shape[1:3]
    if h % factor or w % factor:
        raise ValueError(f"Expected image sides divisible by `factor`. Received: factor={factor}, size={h}x{w}")
    return np.asarray(average_pool(images, factor), np.float32)


def bicubic(lowres, factor):
    """Bicubic upsampling by `factor`, clipped to [0, 1]: the super-resolution baseline (numpy float32).

    Example:
        >>> bicubic(np.zeros((2, 8, 8, 3), "float32"), 4).shape
        (2, 32, 32, 3)
    """
    return upsample_bicubic(*_images_and_factor("lowres", lowres, factor))


def upsample_bicubic(lowres, factor):
    """`bicubic` without the checks."""
    size = (lowres.shape[1] * factor, lowres.shape[2] * factor)
    return np.clip(np.asarray(resize(lowres, size, "bicubic")), 0, 1).astype(np.float32)


def make_mask(kind, n, size=None, *, fraction=0.25, seed=0):
    """Masks of missing pixels (1 = to fill), shape `(n, H, W, 1)`.

    Args:
        kind: "center" (a centred square covering `fraction` of the image) or
            "random" (a square of that area at a random place per image).
        n: number of masks, or a batch of images `(N, H, W, C)` to make masks for
            (then `size` comes from it).
        size: image side, or `(height, width)`; needed when `n` is a number.
        fraction: area fraction of the square, in (0, 1).
        seed: random seed ("random" only).

    Returns:
        float32 masks.

    Example:
        >>> mask = make_mask("center", x)          # one per image of x
        >>> mask = make_mask("center", 8, 32)
    """
    kind = _checks.one_of("kind", kind, {"center", "random"})
    if np.ndim(n) == 4:
        n, h, w = np.shape(n)[:3]
    else:
        n = _checks.positive_int("n", n)
        if size is None:
            raise ValueError("Expected `size` (the image side, or (height, width)) when `n` is a number. "
                             "Received: size=None (or pass the images as `n`)")
        sides = (size, size) if np.ndim(size) == 0 else tuple(size)
        if len(sides) != 2:
            raise ValueError(f"Expected `size` to be a side or (height, width). Received: size={size!r}")
        h, w = (_checks.positive_int("size", s) for s in sides)
    fraction = _checks.number("fraction", fraction, low=0, high=1, low_open=True, high_open=True)
    seed = None if seed is None else _checks.positive_int("seed", seed, minimum=0)
    side_h = max(1, int(round(h * np.sqrt(fraction))))
    side_w = max(1, int(round(w * np.sqrt(fraction))))
    if kind == "center":
        tops, lefts = np.full(n, (h - side_h) // 2), np.full(n, (w - side_w) // 2)
    else:
        rng = np.random.default_rng(seed)
        if (h, side_h) == (w, side_w):
            tops, lefts = rng.integers(0, h - side_h + 1, (2, n))
        else:
            tops, lefts = rng.integers(0, h - side_h + 1, n), rng.integers(0, w - side_w + 1, n)
    mask = np.zeros((n, h, w, 1), np.float32)
    for i, (t, l) in enumerate(zip(tops, lefts)):
        mask[i, t:t + side_h, l:l + side_w] = 1.0
    return mask
