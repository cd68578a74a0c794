"""Inpainting quality: the new default against classifier-free fills and the old default.

For each image set (the bundled 200-image sample; the first `--test` offline
test images) and mask kind (centre 25 %; a random 25 % square per image), five
fills are compared:

* mean fill: each image's mean visible colour (`mean_fill`);
* diffusion: the harmonic fill from the border, no classifier (`diffusion_fill`);
* conditional fill: the new default's start, no classifier (`conditional_fill`:
  the class Gaussian given the visible pixels, plus the residual's diffusion);
* old default: grey start, 60 steps of size 2, no ball, the unmasked pixels only
  penalised (weight 10) during the steps and pasted back at the end;
* new default: `synthesis.inpaint` with its defaults.

Columns: hole PSNR (dB, over the masked pixels only), whole-image PSNR, the
low-pass judge's accuracy (`judge_accuracy(..., low_pass_factor=2)`, the
standard judge on 2x average-pooled images) and the largest change outside the
mask. Tune nothing on the test images this reports.

Example:
    python benchmarks/inpainting_quality.py
    python benchmarks/inpainting_quality.py --sets sample --masks center --limit 50
    python benchmarks/inpainting_quality.py --grid inpaint_grid.png
"""

import argparse

import numpy as np

import _common
from robustkeras import metrics, pretrained, synthesis
from robustkeras.data import load_sample
from robustkeras.plotting import image_grid
from robustkeras.synthesis.conditional_seeds import conditional_fill
from robustkeras.synthesis.inpaint import inpaint_objective
from robustkeras.synthesis.inpaint_baselines import diffusion_fill, hole_psnr, mean_fill

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def old_default(model, images, target, mask):
    """The inpainting of the releases before issue 22 (grey start, no ball, weight 10), for reference."""
    keep = 1.0 - mask
    start = images * keep + 0.5 * mask
    params = {"target": target, "reference": images, "keep": keep, "weight": np.float32(10.0)}
    result = synthesis.optimize(model, start, objective=inpaint_objective, params=params, steps=60, step_size=2.0)
    return (images * keep + result.images * mask).astype(np.float32)


def batched(fn, images, target, mask, batch):
    """`fn(images, target, mask)` over batches of `batch` images (one compiled shape)."""
    parts = [fn(images[a:a + batch], target[a:a + batch], mask[a:a + batch]) for a in range(0, len(images), batch)]
    return np.concatenate(parts)


def methods(robust):
    """Name -> `(images, target, mask) -> filled`."""
    return {
        "mean fill": lambda x, y, m: mean_fill(x, m),
        "diffusion": lambda x, y, m: diffusion_fill(x, m),
        "conditional fill": lambda x, y, m: conditional_fill(x, m, y),
        "old default": lambda x, y, m: old_default(robust, x, y, m),
        "new default": lambda x, y, m: synthesis.inpaint(robust, x, y, m).images,
    }


def row(name, filled, x, y, mask, judge):
    outside = np.broadcast_to(mask, x.shape) == 0
    whole = np.ones_like(mask)
    return [name, f"{hole_psnr(filled, x, mask):.2f}", f"{hole_psnr(filled, x, whole):.2f}",
            f"{metrics.judge_accuracy(judge, filled, y, low_pass_factor=2):.3f}",
            f"{float(np.abs(filled - x)[outside].max()):.1e}"]


def image_sets(names, test):
    sets = {}
    if "sample" in names:
        sets["sample (200)"] = load_sample()
    if "test" in names:
        x, y, source = _common.test_images(test)
        sets[f"test (first {len(x)})"] = (x, y)
        print(f"test images: {source}")
    return sets


def write_grid(robust, path):
    """The tour's grid: one sample image per class, centre mask; original / masked / diffusion / new."""
    x, y = load_sample()
    pick = np.array([np.flatnonzero(y == c)[0] for c in range(10)])
    xs, ys = x[pick], y[pick]
    mask = synthesis.make_mask("center", xs)
    result = synthesis.inpaint(robust, xs, ys, mask)
    image_grid([xs, result.start, diffusion_fill(xs, mask), result.images],
               column_titles=["original", "masked", "diffusion", "inpainted"],
               row_labels=[CLASSES[c] for c in ys], path=path, title="Inpainting (centre 25 % missing)")
    print(f"grid written to {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["sample", "test"], choices=["sample", "test"])
    parser.add_argument("--masks", nargs="+", default=["center", "random"], choices=["center", "random"])
    parser.add_argument("--test", type=int, default=500, help="number of test images (the first ones)")
    parser.add_argument("--limit", type=int, default=None, help="keep only the first LIMIT images of each set")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--only", nargs="+", default=None, help="subset of the methods")
    parser.add_argument("--grid", default=None, help="also write the tour's grid (PNG) here")
    args = parser.parse_args()
    try:
        _common.header("Inpainting quality")
    except ImportError:  # no TensorFlow (e.g. a JAX-only machine): the short header
        print("# Inpainting quality\ndata: measured on the offline CIFAR-10 copy\n")
    robust, judge = pretrained.load("fastnet_l2_robust"), pretrained.load("fastnet_judge")
    fills = methods(robust)
    chosen = {k: v for k, v in fills.items() if args.only is None or k in args.only}
    for set_name, (x, y) in image_sets(args.sets, args.test).items():
        x, y = (x[:args.limit], y[:args.limit]) if args.limit else (x, y)
        for kind in args.masks:
            mask = synthesis.make_mask(kind, x, seed=0)
            print(f"{set_name}, {kind} mask ({len(x)} images; random masks: seed 0)")
            rows = [row(name, batched(fn, x, y, mask, args.batch), x, y, mask, judge) for name, fn in chosen.items()]
            _common.table(["method", "hole PSNR (dB)", "whole PSNR (dB)", "low-pass judge", "max change outside"],
                          rows)
        print(f"low-pass judge on the original {set_name} images: "
              f"{metrics.judge_accuracy(judge, x, y, low_pass_factor=2):.3f}\n")
    if args.grid:
        write_grid(robust, args.grid)


if __name__ == "__main__":
    main()
