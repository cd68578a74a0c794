"""Seconds per image for every synthesis task with its default settings, per model.

Each task runs once to compile (not timed), then is timed on a batch of
`--batch` images from the bundled sample (best of `--repeats`). Target for the
small net: <= 0.5 s per image.

Example:
    python benchmarks/synthesis_speed.py
    python benchmarks/synthesis_speed.py --model fastnet_l2_robust --batch 50
"""

import argparse

import numpy as np

import _common
from robustkeras import pretrained, synthesis
from robustkeras.data import load_sample


def tasks(x, y):
    """Each task as a `model -> result` call with its default settings."""
    mask = synthesis.make_mask("center", x)
    region = synthesis.make_mask("center", 1, x.shape[1:3], fraction=0.3)[0]
    return {
        "generation (20 steps)": lambda m: synthesis.generate(m, y),
        "generation multiscale": lambda m: synthesis.generate(m, y, multiscale=True),
        "inpainting": lambda m: synthesis.inpaint(m, x, y, mask),
        "super-resolution x4": lambda m: synthesis.super_resolve(m, synthesis.downsample(x, 4), y, factor=4),
        "sketch-to-image": lambda m: synthesis.sketch_to_image(m, synthesis.make_sketch(x), y),
        "translation": lambda m: synthesis.translate(m, x, (y + 1) % 10),
        "manipulation": lambda m: synthesis.manipulate(m, x, 0, region),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="fastnet_l2_robust")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    _common.header("Synthesis speed", data="the bundled sample of the offline CIFAR-10 copy")
    model = pretrained.load(args.model)
    x, y = load_sample(args.batch)
    rows = []
    for name, run in tasks(x, y).items():
        seconds = _common.time_call(lambda: np.asarray(run(model).images), repeats=args.repeats)
        rows.append([name, args.batch, f"{seconds:.2f}", f"{seconds / args.batch:.3f}"])
    print(f"model: {args.model}")
    _common.table(["task", "batch", "seconds", "s / image"], rows)


if __name__ == "__main__":
    main()
