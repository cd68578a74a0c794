"""Build robustkeras/pretrained/cifar10_class_stats.npz from the CIFAR-10 training set.

Usage: python scripts/make_class_stats.py [--data PATH]
"""

import argparse

import numpy as np

from robustkeras import _io
from robustkeras.data import load_cifar10_arrays, to_float
from robustkeras.synthesis.seeds import STATS_FILE, compute_class_stats

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--data", default=None)
args = parser.parse_args()
images, labels = load_cifar10_arrays("train", path=args.data)
stats = compute_class_stats(to_float(images), labels)
with _io.atomic_path(STATS_FILE) as tmp:
    np.savez_compressed(tmp, **stats)
print(f"wrote {STATS_FILE}")
