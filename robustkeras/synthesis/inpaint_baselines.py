"""Classifier-free hole fills that inpainting must beat, and the PSNR over the hole only.

* `mean_fill`: every missing pixel gets the mean colour of the image's visible pixels.
* `diffusion_fill`: the harmonic (Laplace) fill: the smoothest surface that meets
  the visible border; each missing pixel is the average of its 4 neighbours
  (`harmonic_fill` does the same to any real array, e.g. a residual).
* `hole_psnr`: PSNR measured over the masked pixels only (a whole-image PSNR is
  dominated by the 75 % of pixels that every method copies).
"""

import numpy as np

from robustkeras import _checks


def _images_and_mask(images, mask):
    images = np.asarray(_checks.images("images", images, channels=None), np.float32)
    mask = _checks.mask("mask", mask, images.shape)
    return images, np.asarray(mask, np.float32)


def mean_fill(images, mask):
    """Fill the hole with the per-channel mean of each image's visible pixels.

    Args:
        images: float32 `(N, H, W, C)` in [0, 1] (the masked pixels are ignored).
        mask: `(N, H, W, 1)` or `(H, W, 1)`, 1 where pixels are missing (soft masks blend).

    Returns:
        float32 `(N, H, W, C)`: `images` outside the mask, the visible mean inside
        (grey 0.5 for an image with no visible pixel).

    Example:
        >>> filled = mean_fill(x, make_mask("center", x))
    """
    images, mask = _images_and_mask(images, mask)
    keep = 1.0 - mask
    return (images * keep + _visible_mean(images, keep, empty=0.5) * mask).astype(np.float32)


def _visible_mean(values, keep, *, empty):
    """Per-image, per-channel mean of the visible values `(N, 1, 1, C)`; `empty` where nothing is visible."""
    seen = keep.sum(axis=(1, 2, 3))[:, None]
    mean = np.where(seen > 0, (values * keep).sum(axis=(1, 2)) / np.maximum(seen, 1e-12), empty)
    return mean[:, None, None, :]


def _neighbour_mean(x):
    """Mean of the 4 neighbours of every pixel; the image edge is mirrored (no flux across it)."""
    pad = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    return 0.25 * (pad[:, :-2, 1:-1] + pad[:, 2:, 1:-1] + pad[:, 1:-1, :-2] + pad[:, 1:-1, 2:])


def harmonic_fill(values, mask, *, iterations=1000, tolerance=1e-5, relaxation=1.8):
    """Replace the masked entries of any real batch by the harmonic (Laplace) fill of the rest.

    The fill is the fixed point of "every masked pixel is the mean of its 4
    neighbours" with the other pixels held fixed (the image edge mirrors, so
    nothing flows across it). It is reached by red-black over-relaxed sweeps
    (SOR: the two colours of a checkerboard in turn, each pixel moved
    `relaxation` times its step to the neighbour mean), started from the mean of
    the visible values: the fixed point of plain Jacobi averaging, in about 20
    times fewer sweeps. No range checks: it also fills residuals (see
    `conditional_seeds.conditional_fill`).

    Args:
        values: float `(N, H, W, C)`, any finite values.
        mask: `(N, H, W, 1)` or `(H, W, 1)` in [0, 1], 1 where values are missing (a soft
            value m moves a pixel by the fraction m of its step).
        iterations: the most sweeps (>= 1); a 16x16 hole converges to 1e-5 in about 60.
        tolerance: stop when no pixel moved more than this in a sweep (>= 0).
        relaxation: over-relaxation factor in (0, 2); 1 is Gauss-Seidel, 1.8
            suits holes 8 to 32 pixels wide.

    Returns:
        float32 `(N, H, W, C)`: outside the mask exactly `values`.

    Example:
        >>> filled = harmonic_fill(residual, mask)
    """
    iterations = _checks.positive_int("iterations", iterations)
    tolerance = _checks.non_negative("tolerance", tolerance)
    relaxation = _checks.number("relaxation", relaxation, low=0, high=2, low_open=True, high_open=True)
    values = np.asarray(values, np.float32)
    if values.ndim != 4 or not np.all(np.isfinite(values)):
        raise ValueError(f"Expected `values` to be a finite batch (N, H, W, C). Received: {_checks._fmt(values)}")
    mask = np.asarray(_checks.mask("mask", mask, values.shape), np.float32)
    keep = 1.0 - mask
    x = values * keep + _visible_mean(values, keep, empty=0.0) * mask
    rows, cols = np.indices(values.shape[1:3])
    red = ((rows + cols) % 2 == 0)[None, :, :, None]
    moves = [relaxation * mask * red, relaxation * mask * ~red]
    for _ in range(iterations):
        change = 0.0
        for move in moves:
            delta = move * (_neighbour_mean(x) - x)
            x = x + delta
            change = max(change, float(np.max(np.abs(delta))) if x.size else 0.0)
        if change <= tolerance:
            break
    return (values * keep + x * mask).astype(np.float32)


def seamless_paste(images, mask, guess, *, iterations=1000):
    """Paste `guess` into the hole, its seam with the border removed by the harmonic fill of the residual.

    The fill is `guess + harmonic_fill(images - guess)`: the guess sets colours and
    layout, the residual's diffusion makes it meet the visible pixels continuously.

    Args:
        images: float `(N, H, W, C)` in [0, 1] (the masked pixels are ignored).
        mask: `(N, H, W, 1)` or `(H, W, 1)`, 1 where pixels are missing.
        guess: float `(N, H, W, C)`, any finite values (e.g. a conditional mean).
        iterations: the most sweeps of the residual's harmonic fill.

    Returns:
        float32 `(N, H, W, C)` in [0, 1]: outside the mask exactly `images`.

    Example:
        >>> filled = seamless_paste(x, mask, neighbours.mean(axis=1))
    """
    filled = guess + harmonic_fill(images - guess, mask, iterations=iterations)
    return (images * (1.0 - mask) + np.clip(filled, 0.0, 1.0) * mask).astype(np.float32)


def diffusion_fill(images, mask, *, iterations=1000, tolerance=1e-5):
    """Harmonic (Laplace) fill of the hole from its border: no classifier, no data.

    Each missing pixel ends as the mean of its 4 neighbours, the visible pixels
    fixed: the smoothest surface that meets the border (`harmonic_fill`).

    Args:
        images: float32 `(N, H, W, C)` in [0, 1] (the masked pixels are ignored).
        mask: `(N, H, W, 1)` or `(H, W, 1)`, 1 where pixels are missing.
        iterations: the most sweeps (>= 1).
        tolerance: stop when no pixel moved more than this in a sweep (>= 0).

    Returns:
        float32 `(N, H, W, C)` in [0, 1]: outside the mask exactly `images`
        (grey 0.5 where an image has no visible pixel).

    Example:
        >>> filled = diffusion_fill(x, make_mask("center", x))
    """
    images, mask = _images_and_mask(images, mask)
    keep = 1.0 - mask
    filled = harmonic_fill(images - 0.5, mask, iterations=iterations, tolerance=tolerance) + 0.5
    return (images * keep + filled * mask).astype(np.float32)


def hole_psnr(images, reference, mask):
    """Mean over images of the PSNR (dB, peak 1) measured on the masked pixels only.

    Args:
        images, reference: float `(N, H, W, C)` in [0, 1] of the same shape.
        mask: `(N, H, W, 1)` or `(H, W, 1)`; its values weight the pixels (1 = in the hole).

    Returns:
        float: the mean PSNR of the images whose mask is not empty (nan if all are
        empty); a perfect fill is capped at 100 dB.

    Example:
        >>> hole_psnr(inpainted, originals, mask)
        21.3
    """
    images = np.asarray(_checks.images("images", images, channels=None), np.float64)
    reference = np.asarray(_checks.images("reference", reference, channels=None), np.float64)
    _checks.same_shape("images", images, "reference", reference)
    mask = np.asarray(_checks.mask("mask", mask, images.shape), np.float64)
    weight = mask.sum(axis=(1, 2, 3)) * images.shape[-1]
    err = (mask * (images - reference) ** 2).sum(axis=(1, 2, 3))
    has_hole = weight > 0
    if not np.any(has_hole):
        return float("nan")
    mse = np.maximum(err[has_hole] / weight[has_hole], 1e-10)
    return float(np.mean(10.0 * np.log10(1.0 / mse)))
