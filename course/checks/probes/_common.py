"""Helpers shared by the probes: find an answer, turn what it returned into a plain array."""

import numpy as np

__all__ = ["ProbeError", "answer", "as_array", "rng"]


class ProbeError(Exception):
    """A short message for the student: the answer is missing or returned something unusable."""


def rng(seed, *salt):
    """A numpy generator for one question's inputs: `seed` and a per-question salt."""
    return np.random.default_rng([int(seed) % 2 ** 63, *[int(s) for s in salt]])


def answer(ns, name):
    """The notebook's `name`, or a ProbeError saying how to define it."""
    value = ns.get(name)
    if value is None:
        raise ProbeError(f"`{name}` is not defined. Define it at the top level of a code cell (def or class); "
                         "grading runs only the notebook's imports and definitions, not its other statements.")
    return value


def as_array(value, name, dtype=None):
    """What `name` returned, as a numeric numpy array (tensors are converted)."""
    if value is None:
        raise ProbeError(f"your function `{name}` returned None: end it with `return ...`.")
    if type(value).__module__.startswith(("tensorflow", "jax", "jaxlib", "keras", "torch")):
        value = np.asarray(value)
    try:
        array = np.asarray(value) if dtype is None else np.asarray(value, dtype)
    except Exception:
        raise ProbeError(f"`{name}` returned a {type(value).__name__}, which is not an array of numbers.") from None
    if array.dtype.kind not in "biuf":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError):
            raise ProbeError(f"`{name}` returned an array of {array.dtype}, not numbers.") from None
    return array


def attempt(out, key, thunk):
    """For questions with partial credit: `out[key] = thunk()`, or `out[key + "_failed"] = 1` if it raises.

    The verdict then scores the other parts and says this one failed (the student sees the error
    itself in the notebook's public check)."""
    try:
        out[key] = thunk()
    except Exception:
        out[key + "_failed"] = np.array(1)
