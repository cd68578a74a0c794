"""How far above the diffusion fill do data-driven fills get? Hole PSNR of classifier-free estimators.

Issue 22 asked inpainting for a hole PSNR 1.5 dB above the diffusion fill. A
classifier push that keeps the low-pass judge at its old level costs about
0.8 dB (README), so the start would have to be about 2.3 dB above diffusion.
PSNR rewards the conditional *mean* of the hole; this script measures what the
best *affine* estimate of it (the Gaussian conditional mean) and a
nearest-neighbour mean reach, fitted on all 50,000 training images and scored
on the first `--test` test images. They are reference points, not upper
bounds: a trained non-linear generative model could do better, but the course
has one classifier, not such a model.

* diffusion: the harmonic fill from the border (`diffusion_fill`);
* conditional fill: the library's start (rank-24 class Gaussian given the
  visible pixels, plus the residual's diffusion; given the true class);
* best linear fill: the Gaussian conditional mean with the *full* 3072x3072
  covariance: one Gaussian, and the true class's mean with the pooled
  within-class covariance;
* nearest neighbours: the mean of the 50 training images closest on the visible
  pixels, plus the residual's diffusion.

The ridge (1e-4, best of 1e-4 / 1e-3 / 1e-2) and the 50 neighbours (best of
1 / 5 / 20 / 50 / 100 / 200) were chosen with the estimators fitted on the
first 49,700 training images and scored on the last 300 (centre mask), never
on test images.

Example:
    python benchmarks/inpainting_ceiling.py
    python benchmarks/inpainting_ceiling.py --test 100 --masks center
"""

import argparse

import numpy as np

import _common
from robustkeras.data import load_cifar10_arrays, to_float
from robustkeras.imageops import make_mask
from robustkeras.synthesis.conditional_seeds import conditional_fill
from robustkeras.synthesis.inpaint_baselines import diffusion_fill, hole_psnr, seamless_paste

RIDGE = 1e-4
NEIGHBOURS = 50


def gaussian_fill(images, mask, means, covariance):
    """Conditional mean of the hole given the visible pixels; images sharing a mask share one solve."""
    n = len(images)
    flat = images.reshape(n, -1).astype(np.float64)
    hidden = np.broadcast_to(mask, images.shape).reshape(n, -1) > 0.5
    out = flat.copy()
    patterns, which = np.unique(hidden, axis=0, return_inverse=True)
    for p, hole in enumerate(patterns):
        rows, seen = np.flatnonzero(which.ravel() == p), ~hole
        gain = np.linalg.solve(covariance[np.ix_(seen, seen)] + RIDGE * np.eye(seen.sum()),
                               covariance[np.ix_(seen, hole)])
        out[np.ix_(rows, hole)] = means[rows][:, hole] + (flat[np.ix_(rows, seen)] - means[rows][:, seen]) @ gain
    return seamless_paste(images, mask, out.reshape(images.shape))  # exact on the visible pixels: no seam


def neighbour_fill(images, mask, train):
    """Mean of the `NEIGHBOURS` training images nearest on each image's visible pixels, seam removed."""
    n = len(images)
    seen = np.broadcast_to(1.0 - mask, images.shape).reshape(n, -1).astype(np.float32)
    query, bank = images.reshape(n, -1) * seen, train.reshape(len(train), -1)
    distance = seen @ (bank ** 2).T - 2.0 * query @ bank.T  # + |query|^2, the same for every candidate
    nearest = np.argpartition(distance, NEIGHBOURS, axis=1)[:, :NEIGHBOURS]
    guess = train[nearest].mean(axis=1)
    return seamless_paste(images, mask, guess)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test", type=int, default=500, help="number of test images (the first ones)")
    parser.add_argument("--masks", nargs="+", default=["center", "random"], choices=["center", "random"])
    args = parser.parse_args()
    if not 1 <= args.test <= 10000:
        parser.error(f"--test must be between 1 and 10000 (the offline test set); got {args.test}")
    _common.header("Inpainting: classifier-free ceilings of the hole PSNR")
    train, train_y = load_cifar10_arrays("train")
    train, train_y = to_float(train), np.asarray(train_y)
    x, y = load_cifar10_arrays("test", limit=args.test)
    x, y = to_float(x), np.asarray(y)
    flat = train.reshape(len(train), -1).astype(np.float64)
    class_means = np.stack([flat[train_y == c].mean(0) for c in range(10)])
    within = flat - class_means[train_y]
    pooled = within.T @ within / (len(flat) - 10)
    overall, overall_mean = np.cov(flat, rowvar=False), flat.mean(0)
    del flat, within
    for kind in args.masks:
        mask = make_mask(kind, x, seed=0)
        fills = {
            "diffusion": diffusion_fill(x, mask),
            "conditional fill (the library's start), true class": conditional_fill(x, mask, y),
            "best linear, one Gaussian": gaussian_fill(x, mask, np.broadcast_to(overall_mean, (len(x), x[0].size)),
                                                       overall),
            "best linear, true class mean + pooled covariance": gaussian_fill(x, mask, class_means[y], pooled),
            f"mean of {NEIGHBOURS} nearest training images": neighbour_fill(x, mask, train),
        }
        base = hole_psnr(fills["diffusion"], x, mask)
        print(f"first {len(x)} test images, {kind} 25 % mask (random masks: seed 0)")
        _common.table(["fill (no classifier)", "hole PSNR (dB)", "vs diffusion (dB)"],
                      [[name, f"{hole_psnr(f, x, mask):.2f}", f"{hole_psnr(f, x, mask) - base:+.2f}"]
                       for name, f in fills.items()])


if __name__ == "__main__":
    main()
