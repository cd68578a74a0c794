"""Class statistics of a folder of large images at a low resolution, and seeds upsampled to the model's input.

Per-class Gaussians at 224x224 would need a 150,528-dimensional covariance per
class (gigabytes for ImageNet's 1,000 classes even at low rank). The paper's
seeds are drawn at a low resolution and upsampled to the model's input; so
here: the images of a folder are read at `size` px (box-filtered, i.e.
antialiased), `compute_class_stats` fits the classes present, and seeds are
drawn at `size` and resized to the model's side.

Classes are the model's: with `class_names` (e.g. the 1,000 ImageNet class
names or WordNet ids), each sub-folder must be named after one of them and its
images get that class's index; without, the sub-folders in sorted order are
classes 0, 1, ... The statistics hold only the classes present
(`stats["class_ids"]`), so a folder of five ImageNet classes is enough.
"""

import os
from pathlib import Path

import numpy as np

from robustkeras import _checks, imageops
from robustkeras.synthesis import optimizer
from robustkeras.synthesis.generation import class_objective
from robustkeras.synthesis.seeds import compute_class_stats, sample_seeds, stats_sizes

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def _class_ids(folders, class_names, path):
    if class_names is None:
        return list(range(len(folders)))
    index = {str(name): i for i, name in enumerate(class_names)}
    unknown = [f for f in folders if f not in index]
    if unknown:
        raise ValueError(f"Expected every sub-folder of `path` to be named after a class in `class_names` "
                         f"({len(index)} names, e.g. {list(index)[:3]}). Received: {unknown[:5]} in {path}")
    return [index[f] for f in folders]


def read_class_folders(path, *, size, class_names=None, per_class=None):
    """The images of `path/<class>/*` at `size` x `size` px (box filter), float32 in [0, 1], and their classes.

    Args:
        path: a folder with one sub-folder per class.
        size: side the images are resized to (box filter: every pixel is an area average).
        class_names: the model's class names; sub-folders are named after them (default: sorted folder names).
        per_class: read at most this many images of each class (sorted file names).

    Returns:
        `(images, labels, folders)`: `(N, size, size, 3)`, the model's class ids `(N,)`, the sub-folder names.

    Example:
        >>> x, y, folders = read_class_folders("my_imagenet_images", size=32, class_names=IMAGENET_CLASSES)
    """
    from PIL import Image

    if not isinstance(path, (str, os.PathLike)) or not Path(path).is_dir():
        raise ValueError(f"Expected `path` to be a folder with one sub-folder per class. Received: path={path!r}")
    size = _checks.positive_int("size", size)
    per_class = None if per_class is None else _checks.positive_int("per_class", per_class)
    folders = sorted(p.name for p in Path(path).iterdir() if p.is_dir() and not p.name.startswith("."))
    ids = _class_ids(folders, class_names, path)
    images, labels = [], []
    for folder, class_id in zip(folders, ids):
        files = sorted(f for f in (Path(path) / folder).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        for file in files[:per_class]:
            with Image.open(file) as image:
                small = image.convert("RGB").resize((size, size), Image.Resampling.BOX)
            images.append(np.asarray(small, np.float32) / 255.0)
            labels.append(class_id)
    if not images:
        raise ValueError(f"Expected images ({', '.join(IMAGE_SUFFIXES)}) in the class sub-folders of `path`. "
                         f"Received: path={str(path)!r} with none")
    return np.stack(images), np.asarray(labels, np.int32), folders


def lowres_class_stats(path, *, size=32, class_names=None, per_class=None, rank=24, components=4, seed=0):
    """Class statistics (`compute_class_stats`) of a folder of images read at `size` px.

    Args:
        path: a folder with one sub-folder per class.
        size: the low resolution (32 as the paper's seeds; statistics are also kept at size/2 and size/4).
        class_names: the model's class names (see the module docstring).
        per_class: images read per class (default all).
        rank, components, seed: as in `compute_class_stats`.

    Returns:
        dict of arrays as `compute_class_stats` returns, for the classes present, with `class_ids`: the
        model's class id of each row.

    Example:
        >>> stats = lowres_class_stats("my_imagenet_images", class_names=IMAGENET_CLASSES)
    """
    x, y, _ = read_class_folders(path, size=size, class_names=class_names, per_class=per_class)
    present = np.unique(y)
    stats = compute_class_stats(x, np.searchsorted(present, y), rank=rank, components=components, seed=seed,
                                num_classes=len(present))
    return {**stats, "class_ids": present.astype(np.int32)}


def _rows(stats, classes):
    ids = np.asarray(stats.get("class_ids", np.arange(len(stats[f"mean_{stats_sizes(stats)[-1]}"]))), np.int64)
    rows = {int(c): i for i, c in enumerate(ids)}
    missing = sorted({int(c) for c in classes if int(c) not in rows})
    if missing:
        raise ValueError(f"Expected `target` among the classes of `stats` ({len(rows)} classes: "
                         f"{sorted(rows)[:10]}...). Received: classes {missing[:10]} without statistics "
                         "(add their images to the folder)")
    return np.array([rows[int(c)] for c in classes], np.int64)


def upsampled_seeds(classes, stats, side, *, mixture=False, seed=0):
    """Seeds drawn from the class Gaussians at their largest (low) resolution, resized to `side` (bilinear).

    Args:
        classes: the model's class ids `(N,)` (each must be in `stats["class_ids"]`).
        stats: from `lowres_class_stats` (or `compute_class_stats`: rows are then class ids).
        side: the model's input side.
        mixture, seed: as in `sample_seeds`.

    Returns:
        float32 `(N, side, side, C)` in [0, 1].

    Example:
        >>> seeds = upsampled_seeds([1, 207], stats, 224)
    """
    classes = np.atleast_1d(np.asarray(classes))
    side = _checks.positive_int("side", side)
    if not isinstance(stats, dict) or not stats_sizes(stats):
        raise ValueError("Expected `stats` from lowres_class_stats. Received: stats without mean_<size> arrays")
    low = sample_seeds(_rows(stats, classes), size=stats_sizes(stats)[-1], mixture=mixture, stats=stats, seed=seed)
    return np.clip(np.asarray(imageops.resize(low, (side, side)), np.float32), 0.0, 1.0)


def generate_upsampled(model, target, stats, *, steps=20, step_size=1.0, radius=30.0, mixture=False, seed=0):
    """`synthesis.generate` for large inputs: seeds from low-resolution statistics, upsampled to the model's input.

    Step size and radius are in units of a 32x32 image and scale with the side,
    as in `generate`.

    Args:
        model: robust classifier (logits, [0, 1] inputs, square input, e.g. 224x224).
        target: the model's class ids `(N,)`.
        stats: from `lowres_class_stats` (holding every class of `target`).
        steps, step_size, radius, mixture, seed: as in `generate`.

    Returns:
        `SynthesisResult` (`start` the upsampled seeds, `extras["target"]` the classes).

    Example:
        >>> result = generate_upsampled(model, [1, 207], stats, steps=20)
    """
    spec = optimizer.checked_model(model)
    side = spec.shape[0] if spec.shape is not None else None
    if side is None or spec.shape[1] != side:
        raise ValueError(f"Expected `model` with a square input of known size. Received: input shape {spec.shape}")
    classes = _checks.labels("target", np.atleast_1d(target), n=len(np.atleast_1d(target)),
                             num_classes=spec.num_classes)
    steps, step_size, radius = optimizer.check_settings(steps, step_size, radius)
    start = upsampled_seeds(classes, stats, side, mixture=mixture, seed=seed)
    if start.shape[-1] != spec.channels:
        raise ValueError(f"Expected `stats` of {spec.channels}-channel images. Received: {start.shape[-1]} channels")
    result = optimizer.run(model, start, objective=class_objective, params={"target": classes}, steps=steps,
                           step_size=step_size * side / 32, radius=radius * side / 32)
    result.extras["target"] = classes
    return result
