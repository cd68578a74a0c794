"""The tour on a converted model (`robustkeras tour --model NAME --images DIR --classes FILE`): every synthesis task
on the user's own images, at the model's input size (224x224 for ImageNet models).

There is no independent judge for ImageNet in the package, so the metrics are
the model's own target probabilities before and after each task, and PSNR to
the originals for inpainting and super-resolution: they show that each task
works, not how good the images are.
"""

import json
import time
from pathlib import Path

import numpy as np

from robustkeras import _io, metrics, synthesis
from robustkeras.plotting import image_grid
from robustkeras.progress import progress


def read_class_names(path):
    """The model's class names, one per class id: a text file (one name per line) or Keras'
    `imagenet_class_index.json` (`{"0": ["n01440764", "tench"], ...}`).

    Returns:
        `(ids, labels)`: the names folders may use (WordNet ids, or the lines) and display labels.

    Example:
        >>> wnids, labels = read_class_names("imagenet_class_index.json")
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Expected `--classes` to be a class list file. Received: {str(path)!r} (not found)")
    text = path.read_text()
    if path.suffix == ".json":
        try:
            index = json.loads(text)
        except json.JSONDecodeError as err:
            index = err
        if not isinstance(index, dict) or not all(isinstance(v, list) and len(v) == 2 for v in index.values()) \
                or set(index) != {str(i) for i in range(len(index))}:
            raise ValueError(f"Expected `--classes` JSON like {{\"0\": [\"n01440764\", \"tench\"]}} with keys 0 "
                             f"to N-1. Received: {path}")
        pairs = [index[str(i)] for i in range(len(index))]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    names = [line.strip() for line in text.splitlines() if line.strip()]
    return names, names


def _folder_names(folder, ids, labels):
    """The class names the sub-folders use: the ids (WordNet ids), else the display labels."""
    if not Path(folder).is_dir():
        raise ValueError(f"Expected `--images` to be a folder with one sub-folder per class. Received: {folder!r}")
    folders = {p.name for p in Path(folder).iterdir() if p.is_dir()}
    return ids if folders & set(ids) or not folders & set(labels) else labels


def _grid(out, name, columns, titles, rows, title):
    image_grid(columns, column_titles=titles, row_labels=rows, path=out / f"{name}.png", title=title)


def _probs(model, images, classes):
    return float(np.mean(synthesis.class_probability(model, images, classes)))


def run_folder_tour(model, *, images, classes, out_dir, quick=False, seed=0, tasks=None, per_class=2, max_classes=4):
    """Every synthesis task on a converted model and a folder of the user's images, as PNG grids and metrics.

    Args:
        model: the converted model (square input, e.g. 224x224).
        images: a folder with one sub-folder per class, named after the model's classes.
        classes: the class list file (see `read_class_names`).
        out_dir: output folder.
        quick: 2 steps per task (for tests).
        seed: seed of the generation seeds.
        tasks: subset of "generation", "inpainting", "super_resolution", "sketch_to_image", "translation",
            "manipulation" (default all).
        per_class, max_classes: images per class and classes shown.

    Returns:
        dict of metrics per task.

    Example:
        >>> run_folder_tour(pretrained.load("madry_l2_3"), images="my_images", classes="imagenet_class_index.json",
        ...                 out_dir="tour_imagenet")
    """
    ids, labels = read_class_names(classes)
    if len(ids) != model.output_shape[-1]:
        raise ValueError(f"Expected `--classes` to list the model's {model.output_shape[-1]} classes. "
                         f"Received: {len(ids)} names in {classes}")
    names = _folder_names(images, ids, labels)
    side = model.input_shape[1]
    stats = synthesis.lowres_class_stats(images, size=32, class_names=names, rank=8, components=2, seed=seed)
    present = [int(c) for c in stats["class_ids"][:max_classes]]
    x, y, _ = synthesis.read_class_folders(images, size=side, class_names=names, per_class=per_class)
    keep = np.isin(y, present)
    x, y = x[keep], y[keep]
    rows = [labels[c] for c in y]
    other = np.array([present[(present.index(int(c)) + 1) % len(present)] for c in y])
    steps = (lambda n: 2) if quick else (lambda n: n)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    def generation():
        r = synthesis.generate_upsampled(model, y, stats, steps=steps(20), seed=seed)
        _grid(out, "generation", [r.start, r.images], ["seed (32 px, upsampled)", "generated"], rows,
              "Class-conditional generation from upsampled low-resolution seeds")
        return {"target_prob_seeds": _probs(model, r.start, y), "target_prob_generated": _probs(model, r.images, y)}

    def inpainting():
        mask = synthesis.make_mask("center", x)
        r = synthesis.inpaint(model, x, y, mask, steps=steps(60), start="diffusion")
        _grid(out, "inpainting", [x, r.start, r.images], ["original", "diffusion start", "inpainted"], rows,
              "Inpainting (centre 25 % missing)")
        return {"psnr_start": metrics.psnr(r.start, x), "psnr_inpainted": metrics.psnr(r.images, x),
                "target_prob_inpainted": _probs(model, r.images, y)}

    def super_resolution():
        r = synthesis.super_resolve(model, synthesis.downsample(x, 4), y, factor=4, steps=steps(30))
        _grid(out, "super_resolution", [x, r.extras["bicubic"], r.images], ["original", "bicubic", "robust SR"],
              rows, "Super-resolution x4")
        return {"psnr_bicubic": metrics.psnr(r.extras["bicubic"], x), "psnr_robust": metrics.psnr(r.images, x)}

    def sketch_to_image():
        sketches = synthesis.make_sketch(x, "edges")
        r = synthesis.sketch_to_image(model, sketches, y, steps=steps(60))
        _grid(out, "sketch_to_image", [sketches, r.images], ["sketch", "result"], rows, "Sketch to image")
        return {"target_prob_sketch": _probs(model, sketches, y), "target_prob_result": _probs(model, r.images, y)}

    def translation():
        r = synthesis.translate(model, x, other, steps=steps(60))
        _grid(out, "translation", [x, r.images], ["source", "translated"],
              [f"{labels[a]}->{labels[b]}" for a, b in zip(y, other)], "Class-to-class translation")
        return {"target_prob_source": _probs(model, x, other), "target_prob_translated": _probs(model, r.images, other)}

    def manipulation():
        unit = synthesis.FeaturePainter(model, x[0]).top_units(class_id=present[-1])[0]
        region = synthesis.make_mask("center", 1, (side, side), fraction=0.3)[0]
        r = synthesis.manipulate(model, x, unit, region, steps=steps(40))
        _grid(out, "manipulation", [x, r.images], ["original", f"unit {unit} ({labels[present[-1]]}-like)"], rows,
              "Feature painting in the centre region")
        return {"feature_gain": float(np.mean(r.objective_values[-1] - r.objective_values[0]))}

    table = {"generation": generation, "inpainting": inpainting, "super_resolution": super_resolution,
             "sketch_to_image": sketch_to_image, "translation": translation, "manipulation": manipulation}
    chosen = list(table) if tasks is None else [tasks] if isinstance(tasks, str) else list(tasks)
    unknown = [t for t in chosen if t not in table]
    if unknown or not chosen:
        raise ValueError(f"Expected `tasks` among {list(table)}. Received: {chosen}")
    results = {}
    for name in progress(chosen, desc="tour"):
        start = time.time()
        results[name] = {**table[name](), "images": len(x), "seconds": round(time.time() - start, 1)}
    _io.write_text(out / "metrics.json", json.dumps(results, indent=1) + "\n")
    print(f"\nWrote {len(chosen)} grids and metrics.json to {out}/ (metrics: the model's own target "
          "probabilities and PSNR; no independent ImageNet judge)")
    return results
