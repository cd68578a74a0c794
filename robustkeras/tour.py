"""`robustkeras tour`: every synthesis task on the bundled robust model, as PNG grids and a metrics table.

Images come from the bundled sample (the first 200 offline CIFAR-10 test
images); metrics are measured on it, with the judge (an independent standard
classifier) deciding whether generated images show their class.
"""

import json
import time
from pathlib import Path

import numpy as np

from robustkeras import _checks, _io, metrics, pretrained, synthesis
from robustkeras.data import CLASSES, load_sample
from robustkeras.plotting import class_grid, image_grid
from robustkeras.progress import progress


def _one_per_class(labels, count=1):
    return np.concatenate([np.flatnonzero(labels == c)[:count] for c in range(10)])


def _probs(model, images, targets):
    return float(np.mean(synthesis.class_probability(model, images, targets)))


def _generation(models, x, y, out, quick, seed):
    robust, standard, judge = models["robust"], models["standard"], models["judge"]
    per_class = 2 if quick else 8
    classes = np.repeat(np.arange(10), per_class)
    kw = dict(steps=8, seed=seed) if quick else dict(seed=seed)  # generate's own default steps otherwise
    gen_r = synthesis.generate(robust, classes, **kw)
    gen_s = synthesis.generate(standard, classes, **kw)
    shown = min(per_class, 4)
    columns = [np.concatenate([gen_r.images[classes == c][:shown], gen_s.images[classes == c][:shown]])
               for c in range(10)]
    rows = [f"robust {i + 1}" for i in range(shown)] + [f"standard {i + 1}" for i in range(shown)]
    image_grid(columns, column_titles=list(CLASSES), row_labels=rows, path=out / "generation_robust_vs_standard.png",
               title="Class-conditional generation: robust model (top) vs standard model (bottom), same seeds")
    class_grid(gen_r.images, classes, CLASSES, per_class=per_class, path=out / "generation.png",
               title="Generation with the robust model (columns: classes)")
    return {
        "judge_accuracy_robust": metrics.judge_accuracy(judge, gen_r.images, classes),
        "judge_accuracy_standard": metrics.judge_accuracy(judge, gen_s.images, classes),
        "lowpass_judge_accuracy_robust": metrics.judge_accuracy(judge, gen_r.images, classes, low_pass_factor=2),
        "lowpass_judge_accuracy_standard": metrics.judge_accuracy(judge, gen_s.images, classes, low_pass_factor=2),
        "judge_accuracy_seeds": metrics.judge_accuracy(judge, gen_r.start, classes),
        **_feature_scores(models, {"robust": gen_r.images, "standard": gen_s.images, "seeds": gen_r.start}, x),
        "images": len(classes),
    }


def _feature_scores(models, sets, x):
    """Small-N distances of each image set to the sample, in robust and in judge features.

    Only the KID formula is unbiased at this N (80 images against 200): the
    figures of docs/results.md on 1,000 generated images against 10,000 test images come
    from benchmarks/generation_quality.py.
    """
    scores = {}
    for key, extractor in (("robust_features", models["extractor"]), ("judge_features", models["judge"])):
        reference = metrics.features(extractor, x)
        by_set = {name: metrics.feature_scores(extractor, images, None, reference_features=reference, subsets=20)
                  for name, images in sets.items()}
        scores[f"kid_{key}_small_n"] = {name: s["kid"] for name, s in by_set.items()}
        scores[f"frechet_{key}_small_n"] = {name: s["frechet"] for name, s in by_set.items()}
    return scores


def _inpainting(models, x, y, out, quick, seed):
    robust, judge = models["robust"], models["judge"]
    pick = _one_per_class(y)
    xs, ys = x[pick], y[pick]
    mask = synthesis.make_mask("center", xs)
    result = synthesis.inpaint(robust, xs, ys, mask, steps=8 if quick else 60)
    diffusion = synthesis.diffusion_fill(xs, mask)  # the no-classifier baseline a classifier must beat
    image_grid([xs, result.start, diffusion, result.images],
               column_titles=["original", "masked", "diffusion (no classifier)", "inpainted"],
               row_labels=[CLASSES[c] for c in ys], path=out / "inpainting.png",
               title="Inpainting (centre 25 % missing)")
    return {"target_prob_masked": _probs(robust, result.start, ys), "target_prob_inpainted": _probs(robust, result.images, ys),
            "judge_accuracy_masked": metrics.judge_accuracy(judge, result.start, ys),
            "judge_accuracy_inpainted": metrics.judge_accuracy(judge, result.images, ys),
            "lowpass_judge_accuracy_inpainted": metrics.judge_accuracy(judge, result.images, ys, low_pass_factor=2),
            "psnr_masked": metrics.psnr(result.start, xs), "psnr_inpainted": metrics.psnr(result.images, xs),
            "hole_psnr_mean_fill": synthesis.hole_psnr(synthesis.mean_fill(xs, mask), xs, mask),
            "hole_psnr_diffusion": synthesis.hole_psnr(diffusion, xs, mask),
            "hole_psnr_inpainted": synthesis.hole_psnr(result.images, xs, mask)}


def _super_resolution(models, x, y, out, quick, seed):
    robust = models["robust"]
    row = {}
    for factor in (4, 2):
        lowres = synthesis.downsample(x, factor)
        result = synthesis.super_resolve(robust, lowres, y, factor=factor, steps=8 if quick else 30)
        bic = result.extras["bicubic"]
        row[f"x{factor}"] = {"psnr_bicubic": metrics.psnr(bic, x), "psnr_robust": metrics.psnr(result.images, x),
                             "ssim_bicubic": metrics.ssim(bic, x), "ssim_robust": metrics.ssim(result.images, x),
                             "images": len(x)}
        if factor == 4:
            pick = _one_per_class(y)
            nearest = np.repeat(np.repeat(lowres[pick], 4, 1), 4, 2)
            image_grid([x[pick], nearest, bic[pick], result.images[pick]],
                       column_titles=["original", "8x8 input", "bicubic", "robust SR"],
                       row_labels=[CLASSES[c] for c in y[pick]], path=out / "super_resolution.png",
                       title="Super-resolution x4")
    return row


def _sketch(models, x, y, out, quick, seed):
    robust, judge = models["robust"], models["judge"]
    pick = _one_per_class(y)
    xs, ys = x[pick], y[pick]
    sketches = synthesis.make_sketch(xs, "edges")
    result = synthesis.sketch_to_image(robust, sketches, ys, steps=8 if quick else 60)
    image_grid([xs, sketches, result.images], column_titles=["original", "sketch", "result"],
               row_labels=[CLASSES[c] for c in ys], path=out / "sketch_to_image.png", title="Sketch to image")
    return {"judge_accuracy_sketch": metrics.judge_accuracy(judge, sketches, ys),
            "judge_accuracy_result": metrics.judge_accuracy(judge, result.images, ys),
            "target_prob_result": _probs(robust, result.images, ys)}


def _translation(models, x, y, out, quick, seed):
    robust, judge = models["robust"], models["judge"]
    sources, targets = [], []
    for src, dst in synthesis.PAIRS:
        idx = np.flatnonzero(y == CLASSES.index(src))[:2]
        sources.append(idx)
        targets.append(np.full(len(idx), CLASSES.index(dst)))
    sources, targets = np.concatenate(sources), np.concatenate(targets)
    result = synthesis.translate(robust, x[sources], targets, steps=8 if quick else 60)
    labels = [f"{CLASSES[y[s]]}->{CLASSES[t]}" for s, t in zip(sources, targets)]
    image_grid([x[sources], result.images], column_titles=["source", "translated"], row_labels=labels,
               path=out / "translation.png", title="Class-to-class translation")
    return {"judge_accuracy_target": metrics.judge_accuracy(judge, result.images, targets),
            "target_prob_source": _probs(robust, x[sources], targets),
            "target_prob_translated": _probs(robust, result.images, targets)}


def _manipulation(models, x, y, out, quick, seed):
    robust = models["robust"]
    pick = _one_per_class(y)[:5]
    region = synthesis.make_mask("center", 1, x.shape[1:3], fraction=0.3)[0]
    columns, titles, gains = [x[pick]], ["original"], []
    for goal in ("horse", "ship"):
        painter = synthesis.FeaturePainter(robust, x[pick[0]])
        unit = painter.top_units(class_id=CLASSES.index(goal))[0]
        result = synthesis.manipulate(robust, x[pick], unit, region, steps=8 if quick else 40)
        columns.append(result.images)
        titles.append(f"unit {unit} ({goal}-like)")
        gains.append(float(np.mean(result.objective_values[-1] - result.objective_values[0])))
    image_grid(columns, column_titles=titles, row_labels=[CLASSES[c] for c in y[pick]], path=out / "manipulation.png",
               title="Feature painting in the centre region")
    return {"feature_gain": float(np.mean(gains))}


TASKS = {"generation": _generation, "inpainting": _inpainting, "super_resolution": _super_resolution,
         "sketch_to_image": _sketch, "translation": _translation, "manipulation": _manipulation}


def _print_table(results):
    print("\nTour metrics (bundled sample: first 200 offline CIFAR-10 test images)")
    for task, row in results.items():
        flat = {f"{k}.{kk}" if isinstance(v, dict) else k: vv if isinstance(v, dict) else v
                for k, v in row.items() for kk, vv in (v.items() if isinstance(v, dict) else [(None, v)])}
        cells = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in flat.items())
        print(f"  {task:17s} {cells}")


def _writable_folder(out_dir):
    """`out_dir` created if needed; a ValueError naming it when it cannot be written."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / ".write-test").touch()
        (out / ".write-test").unlink()
    except OSError as err:
        raise ValueError(f"Expected `out_dir` to be a folder the tour can write to. Received: out_dir={str(out_dir)!r} "
                         f"({type(err).__name__}: {err.strerror or err})") from None
    return out


def run_tour(out_dir="tour_output", *, model_name="fastnet_l2_robust", quick=False, seed=0, tasks=None, images=None,
             classes=None):
    """Run the synthesis tasks, write one PNG per task and `metrics.json` into `out_dir`.

    Args:
        out_dir: output folder.
        model_name: the pretrained robust model, or its name with "_int8" for its int8 twin, or a model
            converted with `robustkeras.models.from_torch` (then `images` and `classes` are needed: see
            `robustkeras.tour_folder.run_folder_tour`).
        images, classes: for a converted model: a folder of class sub-folders and the class list file.
        quick: tiny step counts (seconds; for tests).
        seed: seed of generation.
        tasks: subset of task names (default all).

    Returns:
        dict of metrics per task.

    Example:
        >>> run_tour("tour_output")
    """
    seed = _checks.positive_int("seed", seed, minimum=0)
    quick = _checks.boolean("quick", quick)
    names = list(TASKS) if tasks is None else [_checks.one_of("tasks", t, TASKS) for t in
                                                ([tasks] if isinstance(tasks, str) else tasks)]
    if not names:
        raise ValueError("Expected `tasks` to name at least one task. Received: tasks=[]")
    out = _writable_folder(out_dir)  # before the models load: a bad folder fails in a second
    if isinstance(model_name, str) and model_name not in pretrained.manifest() and pretrained._user_entry(model_name):
        if images is None or classes is None:
            raise ValueError(f"Expected `images` and `classes` (--images DIR --classes FILE) for the converted model "
                             f"{model_name!r}. Received: images={images!r}, classes={classes!r}")
        from robustkeras.tour_folder import run_folder_tour

        return run_folder_tour(pretrained.load(model_name), images=images, classes=classes, out_dir=out_dir,
                               quick=quick, seed=seed, tasks=tasks)
    # The tour contrasts a robust model with the standard one, judged by the judge: another role
    # (the judge judging its own images) would print meaningless figures.
    if images is not None or classes is not None:
        raise ValueError(f"Expected `images` and `classes` (--images, --classes) only with a model converted by "
                         f"from_torch. Received: model_name={model_name!r}, a shipped CIFAR-10 model or no "
                         "converted model of that name")
    robust = {name for name, entry in pretrained.manifest().items() if entry.get("role") == "robust"}
    int8 = {f"{name}_int8": name for name in robust}  # the int8 twin, quantised at load (pretrained.load_quantized)
    model_name = _checks.one_of("model_name", model_name, robust | set(int8))
    chosen = pretrained.load_quantized(int8[model_name]).twin if model_name in int8 else pretrained.load(model_name)
    models = {"robust": chosen, "standard": pretrained.load("fastnet_standard"),
              "judge": pretrained.load("fastnet_judge"), "extractor": pretrained.load("fastnet_small_l2_robust")}
    x, y = load_sample()
    results = {}
    for name in progress(names, desc="tour"):
        start = time.time()
        results[name] = TASKS[name](models, x, y, out, quick, seed)
        results[name]["seconds"] = round(time.time() - start, 1)
    _io.write_text(out / "metrics.json", json.dumps(results, indent=1) + "\n")
    _print_table(results)
    print(f"\nWrote {len(names)} grids and metrics.json to {out}/")
    return results
