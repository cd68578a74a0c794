"""Class-conditional seeds given the visible pixels: the class Gaussian's best guess of a hole.

The generation seeds (`seeds.py`) model each class as a Gaussian with mean `mu`
and covariance `B^T B + diag(D^2)` (`B`: rank-24 principal directions). Given
the visible pixels `v` of an image, the hole `h` has the Gaussian conditional
mean

    E[x_h | x_v] = mu_h + S_hv S_vv^-1 (x_v - mu_v) = mu_h + B_h^T z,
    z = (I + B_v D_v^-2 B_v^T)^-1 B_v D_v^-2 (x_v - mu_v)

(the Woodbury identity turns the d x d solve into a 24 x 24 one per image:
`z` is the posterior mean of the 24 latent coordinates; `D^2` is taken
`noise_scale` times larger, see NOISE_SCALE). Those 24 directions
are smooth, so the guess has the right colours and layout but meets the border
with a seam; `conditional_fill` adds the harmonic fill of the residual
`x_v - guess_v`, which makes the fill continuous at the border.
"""

import numpy as np

from robustkeras import _checks
from robustkeras.synthesis.inpaint_baselines import seamless_paste
from robustkeras.synthesis.seeds import load_class_stats, stats_shape

# The residual variance is inflated 100 times (std x10): the residual left by 24
# directions is smooth, so neighbouring visible pixels are far from independent
# evidence; taken at face value they over-fit `z`. Hole PSNR on 300 training
# images with centre (random) 25 % holes: 14.3 (14.8) dB at 1x, 16.0 (16.4) at
# 10x, 16.8 (17.3) at 100x, 16.7 (17.2) at 1000x; the diffusion fill: 16.3 (16.9).
NOISE_SCALE = 100.0


def stats_fit(stats, image_shape, num_classes):
    """Whether `stats` hold statistics for `num_classes` classes of images of `image_shape` `(H, W, C)`."""
    classes, shape = stats_shape(stats, image_shape[0])
    return shape == tuple(image_shape) and classes == num_classes


def _latent_mean(basis, visible_weight, residual):
    """Posterior mean `z` of each image's latent coordinates: `(I + B W B^T)^-1 B W r` (numpy, batched)."""
    k = len(basis)
    products = (basis[:, None, :] * basis[None, :, :]).reshape(k * k, -1)  # B_k * B_j per pixel: one BLAS product
    gram = (visible_weight @ products.T).reshape(-1, k, k)
    rhs = (visible_weight * residual) @ basis.T
    eye = np.eye(len(basis), dtype=np.float64)[None]
    return np.linalg.solve(eye + gram, rhs[..., None])[..., 0]


def conditional_mean(images, mask, classes, *, stats=None, noise_scale=NOISE_SCALE):
    """E[x | visible pixels, class] under the class Gaussian, for every pixel of every image.

    Args:
        images: float32 `(N, S, S, C)` in [0, 1] (the masked pixels are ignored).
        mask: `(N, S, S, 1)` or `(S, S, 1)`, 1 where pixels are missing (a soft
            value m weights the pixel as evidence by 1 - m).
        classes: int `(N,)`: the class of each image.
        stats: class statistics from `compute_class_stats` holding side `S`
            (default: the shipped CIFAR-10 ones).
        noise_scale: factor (> 0) on the residual variance `D^2`; larger trusts
            the visible pixels less (1 is the plain Gaussian).

    Returns:
        float32 `(N, S, S, C)`, not clipped (the visible pixels are the model's
        reconstruction of them, not the input).

    Example:
        >>> guess = conditional_mean(x, make_mask("center", x), y)
    """
    return _conditional_mean(*_checked(images, mask, classes, stats, noise_scale))


def _checked(images, mask, classes, stats, noise_scale):
    """The arguments of `conditional_mean` and `conditional_fill`, checked once."""
    images = np.asarray(_checks.images("images", images, channels=None), np.float32)
    mask = np.asarray(_checks.mask("mask", mask, images.shape), np.float32)
    stats = load_class_stats() if stats is None else stats
    num_classes, shape = stats_shape(stats, images.shape[1])
    if shape != images.shape[1:]:
        raise ValueError(f"Expected `stats` for images of shape {images.shape[1:]}. Received: stats for "
                         f"{'no such side' if shape is None else shape} (compute_class_stats on such images)")
    classes = _checks.labels("classes", classes, n=len(images), num_classes=num_classes)
    noise_scale = _checks.number("noise_scale", noise_scale, low=0, low_open=True)
    return images, mask, classes, stats, noise_scale


def _conditional_mean(images, mask, classes, stats, noise_scale):
    side, n = images.shape[1], len(images)
    flat = images.reshape(n, -1).astype(np.float64)
    seen = np.broadcast_to(1.0 - mask, images.shape).reshape(n, -1).astype(np.float64)
    out = np.empty_like(flat)
    for c in np.unique(classes):  # one solve per class present, batched over its images
        rows = classes == c
        mean = stats[f"mean_{side}"][c].astype(np.float64)
        basis = stats[f"basis_{side}"][c].astype(np.float64)
        variance = noise_scale * np.maximum(stats[f"diag_{side}"][c].astype(np.float64), 1e-3) ** 2
        z = _latent_mean(basis, seen[rows] / variance, flat[rows] - mean)
        out[rows] = mean + z @ basis
    return out.reshape(images.shape).astype(np.float32)


def conditional_fill(images, mask, classes, *, stats=None, noise_scale=NOISE_SCALE, iterations=1000):
    """Fill the hole with the class Gaussian's conditional mean, made continuous at the border.

    The fill is `conditional_mean` plus the harmonic fill (`harmonic_fill`) of
    the residual `images - conditional_mean` from the visible pixels: the guess
    sets colours and layout, the residual's diffusion removes the seam.

    Args:
        images: float32 `(N, S, S, C)` in [0, 1] (the masked pixels are ignored).
        mask: `(N, S, S, 1)` or `(S, S, 1)`, 1 where pixels are missing.
        classes: int `(N,)`: the class of each image (the true or the wanted class).
        stats: class statistics (default: the shipped CIFAR-10 ones).
        noise_scale: see `conditional_mean`.
        iterations: the most sweeps of the residual's harmonic fill.

    Returns:
        float32 `(N, S, S, C)` in [0, 1]: outside the mask exactly `images`.

    Example:
        >>> start = conditional_fill(x, make_mask("center", x), y)
    """
    images, mask, classes, stats, noise_scale = _checked(images, mask, classes, stats, noise_scale)
    guess = _conditional_mean(images, mask, classes, stats, noise_scale)
    return seamless_paste(images, mask, guess, iterations=iterations)
