"""Helpers for verdicts (grader's process only; never copied into the sandbox).

A verdict is written as straight-line checks: `need(...)` fetches an output and checks its shape,
`ensure(condition, hint)` fails the question with a hint. `@judged` turns a verdict written this way
into `verdict(outputs, seed) -> (fraction, message)`: `Wrong` gives 0 (or the fraction it carries),
returning None gives full marks, returning `(fraction, message)` passes through.
"""

import functools

import numpy as np

__all__ = ["Wrong", "judged", "need", "ensure", "close", "parts"]

CORRECT = "correct"


class Wrong(Exception):
    """The answer is wrong: `message` is the hint shown to the student."""

    def __init__(self, message, fraction=0.0):
        super().__init__(message)
        self.message, self.fraction = message, float(fraction)


def judged(fn):
    """Wrap a verdict: exceptions become a score, never a crash of the grader."""

    @functools.wraps(fn)
    def verdict(outputs, seed):
        try:
            result = fn(outputs, seed)
        except Wrong as wrong:
            return wrong.fraction, wrong.message
        except Exception as err:  # malformed outputs: zero, with a neutral message
            return 0.0, f"the outputs of your answer could not be checked ({type(err).__name__})"
        if result is None:
            return 1.0, CORRECT
        fraction, message = result
        return float(min(1.0, max(0.0, fraction))), message
    return verdict


def need(outputs, key, shape=None, what=None, kinds="biuf"):
    """`outputs[key]` as an array, checked for shape (None entries match any size)."""
    if key not in outputs:
        raise Wrong(f"no result for {what or key} (the probe produced no `{key}`)")
    value = np.asarray(outputs[key])
    if value.dtype.kind not in kinds:
        raise Wrong(f"{what or key}: expected numbers, received dtype {value.dtype}")
    if shape is not None:
        ok = value.ndim == len(shape) and all(s is None or s == v for s, v in zip(shape, value.shape))
        if not ok:
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + (",)" if len(shape) == 1 else ")")
            raise Wrong(f"{what or key}: expected shape {want}, received {tuple(value.shape)}")
    return value


def ensure(condition, message, fraction=0.0):
    """Fail with `message` unless `condition`."""
    if not bool(condition):
        raise Wrong(message, fraction)


def close(a, b, rtol=1e-5, atol=1e-6):
    """Finite and within tolerance of the reference."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if b.ndim == 0:
        b = np.broadcast_to(b, a.shape)
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def l2_distances(a, b):
    """Per-image L2 distance between two batches, in float64."""
    return np.sqrt(((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2).reshape(len(a), -1).sum(1))


def ensure_in_ball(out, anchor, radius, message, tol=1e-3):
    """Fail unless `out` is finite, in [0, 1] and each image within L2 `radius` (+ `tol`) of `anchor`.

    Returns the per-image distances.
    """
    ensure(np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1, "the images must stay in [0, 1]")
    d = l2_distances(out, anchor)
    ensure(np.all(d <= radius + tol), message)
    return d


def parts(*results):
    """Partial credit over named parts: each `(weight, ok, hint)`; the fraction passed and the hints."""
    total = sum(w for w, _, _ in results)
    got = sum(w for w, ok, _ in results if ok)
    hints = [h for _, ok, h in results if not ok]
    return got / total, ("; ".join(hints) if hints else CORRECT)
