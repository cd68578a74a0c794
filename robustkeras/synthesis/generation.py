"""Class-conditional generation: a class-Gaussian seed, pushed towards its class."""

import numpy as np
from keras import ops

from robustkeras import _checks
from robustkeras.synthesis.optimizer import SynthesisResult, optimize
from robustkeras.synthesis.seeds import sample_seeds
from robustkeras.synthesis.terms import class_log_prob


def class_objective(params, x, logits, features):
    """Maximise log p(target | x)."""
    return class_log_prob(logits, params["target"])


def generate(model, target, *, steps=60, step_size=1.0, radius=30.0, multiscale=False, mixture=False,
             stats=None, seed=0):
    """Generate one image per entry of `target` with a robust classifier.

    Defaults (measured on the shipped fastnet, see README): 60 steps of L2 length 1
    inside a ball of radius 30 around the seed; more steps barely change the
    judge accuracy.

    Args:
        model: robust classifier (logits, inputs in [0, 1]).
        target: int class ids `(N,)`: the class each image should show.
        steps, step_size, radius: the optimizer (L2, 32x32 pixel units).
        multiscale: coarse to fine: a quarter of the steps at 8x8, a quarter at
            16x16, the rest at 32x32 (radius and step scaled with resolution).
        mixture: draw seeds from the per-class k-means mixture.
        stats: class statistics (default: the shipped ones).
        seed: random seed of the seeds.

    Returns:
        `SynthesisResult` (`extras["target"]` holds the classes).

    Example:
        >>> images = generate(model, np.repeat(np.arange(10), 8)).images
    """
    classes = _checks.labels("target", np.atleast_1d(target), n=len(np.atleast_1d(target)), num_classes=10)
    steps = _checks.positive_int("steps", steps, minimum=4 if multiscale else 1)
    params = {"target": classes}
    if not multiscale:
        start = sample_seeds(classes, size=32, mixture=mixture, stats=stats, seed=seed)
        result = optimize(model, start, objective=class_objective, params=params, steps=steps,
                          step_size=step_size, radius=radius)
    else:
        x = sample_seeds(classes, size=8, mixture=mixture, stats=stats, seed=seed)
        first, values = x, []
        for size, n in ((8, steps // 4), (16, steps // 4), (32, steps - 2 * (steps // 4))):
            if x.shape[1] != size:
                x = np.asarray(ops.image.resize(x, (size, size), interpolation="bilinear"), np.float32)
                x = np.clip(x, 0.0, 1.0)
            scale = size / 32
            part = optimize(model, x, objective=class_objective, params=params, steps=n,
                            step_size=step_size * scale, radius=radius * scale)
            x, values = part.images, values + [part.objective_values]
        result = SynthesisResult(x, np.concatenate(values), first)
    result.extras["target"] = classes
    return result
