"""Class-conditional generation: a class-Gaussian seed, pushed towards its class."""

import numpy as np

from robustkeras import _checks, imageops
from robustkeras.synthesis import optimizer
from robustkeras.synthesis.optimizer import SynthesisResult
from robustkeras.synthesis.seeds import load_class_stats, sample_seeds, stats_shape
from robustkeras.synthesis.terms import class_log_prob


def class_objective(params, x, logits, features):
    """Maximise log p(target | x)."""
    return class_log_prob(logits, params["target"])


def _model_side(spec):
    if spec.shape is None or spec.shape[0] is None or spec.shape[0] != spec.shape[1]:
        raise ValueError(f"Expected `model` with a square input of known size for generation. "
                         f"Received: input shape {spec.shape}")
    return spec.shape[0]


def generate(model, target, *, steps=20, step_size=1.0, radius=30.0, multiscale=False, mixture=False,
             stats=None, seed=0):
    """Generate one image per entry of `target` with a robust classifier.

    Defaults (measured on the shipped models, see docs/results.md): 20 steps of L2 length 1
    (cosine-decayed) inside a ball of radius 30 around the seed. More steps barely
    change the judge accuracy but push colours and contrast past the data's (the
    distance to real images in robust features grows). Step size and radius are in
    units of a 32x32 image and scale with the model's input side.

    Args:
        model: robust classifier (logits, [0, 1] inputs, any square size and channels).
        target: int class ids `(N,)`: the class each image should show.
        steps, step_size, radius: the optimizer.
        multiscale: coarse to fine: a quarter of the steps at a quarter of the
            side, a quarter at half, the rest at full size (radius and step scaled
            with resolution).
        mixture: draw seeds from the per-class k-means mixture.
        stats: class statistics from `compute_class_stats` on images of the
            model's shape (default: the shipped CIFAR-10 ones, for 32x32 RGB
            10-class models).
        seed: random seed of the seeds.

    Returns:
        `SynthesisResult` (`extras["target"]` holds the classes).

    Example:
        >>> images = generate(model, np.repeat(np.arange(10), 8)).images
    """
    spec = optimizer.checked_model(model)
    side = _model_side(spec)
    classes = _checks.labels("target", np.atleast_1d(target), n=len(np.atleast_1d(target)),
                             num_classes=spec.num_classes)
    steps = _checks.positive_int("steps", steps, minimum=4 if multiscale else 1)
    steps, step_size, radius = optimizer.check_settings(steps, step_size, radius)
    seed = None if seed is None else _checks.positive_int("seed", seed, minimum=0)
    default = stats is None
    stats = load_class_stats() if stats is None else stats
    sizes = (side // 4, side // 2, side) if multiscale else (side,)
    for size in sizes:
        classes_in_stats, shape = stats_shape(stats, size)
        if shape != (size, size, spec.channels) or classes_in_stats != spec.num_classes:
            got = (f"stats with no statistics at {size}x{size} px" if shape is None
                   else f"stats for {classes_in_stats} classes of {'x'.join(map(str, shape))} images")
            if default:
                got += " (`stats` left out: the shipped CIFAR-10 statistics, 10 classes of RGB images at 8, 16 and 32 px)"
            raise ValueError(
                f"Expected `stats` for {spec.num_classes} classes of {size}x{size}x{spec.channels} images "
                f"(compute_class_stats on this model's data; multiscale needs side/4 and side/2 too). "
                f"Received: {got}")
    params = {"target": classes}
    scale_of = lambda size: size / 32  # noqa: E731  (step and radius are in 32x32-image units)
    if not multiscale:
        start = sample_seeds(classes, size=side, mixture=mixture, stats=stats, seed=seed)
        result = optimizer.run(model, start, objective=class_objective, params=params, steps=steps,
                               step_size=step_size * scale_of(side), radius=radius * scale_of(side))
    else:
        x = sample_seeds(classes, size=sizes[0], mixture=mixture, stats=stats, seed=seed)
        first, values = x, []
        for size, n in ((sizes[0], steps // 4), (sizes[1], steps // 4), (side, steps - 2 * (steps // 4))):
            if x.shape[1] != size:
                x = np.clip(np.asarray(imageops.resize(x, (size, size)), np.float32), 0.0, 1.0)
            part = optimizer.run(model, x, objective=class_objective, params=params, steps=n,
                                 step_size=step_size * scale_of(size), radius=radius * scale_of(size))
            x, values = part.images, values + [part.objective_values]
        result = SynthesisResult(x, np.concatenate(values), first)
    result.extras["target"] = classes
    return result
