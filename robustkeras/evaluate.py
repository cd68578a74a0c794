"""Clean and robust accuracy over a dataset, batched and reproducible."""

import numpy as np

from robustkeras import _checks
from robustkeras.attacks.pgd import pgd
from robustkeras.progress import progress


def _batches(n, batch_size):
    return [(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def predict_logits(model, x, *, batch_size=500):
    """Logits of `model` on `x` in inference mode, in batches (numpy float32).

    Example:
        >>> logits = predict_logits(model, x)
    """
    out = [np.asarray(model(x[a:b], training=False), np.float32) for a, b in _batches(len(x), batch_size)]
    return np.concatenate(out)


def clean_accuracy(model, x, y, *, batch_size=500):
    """Fraction of `x` classified as `y`.

    Example:
        >>> clean_accuracy(model, x, y)
        0.81
    """
    x = _checks.images("x", x, channels=None)
    y = _checks.labels("y", y, n=len(x), num_classes=10)
    return float(np.mean(np.argmax(predict_logits(model, x, batch_size=batch_size), 1) == y))


def robust_accuracy(model, x, y, *, norm="l2", eps=0.5, steps=20, step_size=None, restarts=1,
                    batch_size=500, seed=0, show_progress=False):
    """Clean and PGD robust accuracy (the standard PGD-k evaluation).

    Step size defaults to `2.5 * eps / steps` (Madry et al.). Cross-entropy on
    logits, model in inference mode, each image's worst case over restarts.

    Args:
        model: classifier returning logits, inputs in [0, 1].
        x, y: float images in [0, 1] and int labels.
        norm, eps, steps, step_size, restarts: the attack.
        batch_size: images per attack batch.
        seed: seed of the random starts (per batch: `seed + batch index`).
        show_progress: show a progress bar.

    Returns:
        dict with `clean`, `robust` (fractions in [0, 1]), `n`, and the attack settings.

    Example:
        >>> robust_accuracy(model, x, y, norm="l2", eps=0.5, steps=20)["robust"]
        0.58
    """
    x = _checks.images("x", x, channels=None)
    y = _checks.labels("y", y, n=len(x), num_classes=10)
    steps = _checks.positive_int("steps", steps)
    eps = _checks.non_negative("eps", eps)
    step_size = 2.5 * eps / steps if step_size is None else _checks.non_negative("step_size", step_size)
    batch_size = _checks.positive_int("batch_size", batch_size)
    clean_ok, robust_ok = 0, 0
    for k, (a, b) in enumerate(progress(_batches(len(x), batch_size), desc=f"PGD-{steps}", enable=show_progress)):
        xb, yb = x[a:b], y[a:b]
        clean_pred = np.argmax(predict_logits(model, xb), 1)
        x_adv = pgd(model, xb, yb, norm=norm, eps=eps, step_size=step_size, steps=steps,
                    restarts=restarts, seed=seed + k)
        adv_pred = np.argmax(predict_logits(model, x_adv), 1)
        clean_ok += int(np.sum(clean_pred == yb))
        robust_ok += int(np.sum((adv_pred == yb) & (clean_pred == yb)))
    n = len(x)
    return {"clean": clean_ok / n, "robust": robust_ok / n, "n": n, "attack": f"PGD-{steps}",
            "norm": norm, "eps": eps, "step_size": step_size, "restarts": restarts, "seed": seed}
