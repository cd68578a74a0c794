"""Helpers shared by the probes: find an answer, turn what it returned into a plain array."""

import numpy as np

__all__ = ["MESSAGES", "ProbeError", "answer", "as_array", "rng"]


# What a probe may say to the student, by message identifier. The probe (in the sandbox) sends
# only the identifier and its fields; the grader renders the text here, in its own process, from
# its own copy of this table (course/grade.py `render_error`), so nothing the notebook writes can
# read as the grader's words. Fields are names (identifiers, dotted names, dtype names); the
# field `raised` alone carries the student's own text, and the grader shows it quoted, inside a
# template that labels it (`your code raised ValueError: "..."`).
MESSAGES = {
    "undefined": "`{name}` is not defined. Define it at the top level of a code cell (def or class); "
                 "grading runs only the notebook's imports and definitions, not its other statements.",
    "returned_none": "your function `{name}` returned None: end it with `return ...`.",
    "not_array": "`{name}` returned a {type}, which is not an array of numbers.",
    "not_numbers": "`{name}` returned an array of {dtype}, not numbers.",
    "history_none": "your function `{name}` returned None: return what `model.fit` returns.",
    "not_history": "`{name}` should return the History that `model.fit` returns.",
    "nothing_usable": "`{name}` and `{other}` returned nothing usable.",
    "fit_failed": "`fit` with your {name} failed: your code raised {type}: {raised}. Does train_step "
                  "return {{m.name: m.result() for m in self.metrics}}?",
    "reference_used": "reference implementation used: `{name}` is the library's answer; write it yourself.",
    "raised": "your code raised {type}: {raised}",
}


class ProbeError(Exception):
    """The answer is missing or returned something unusable: a message identifier of `MESSAGES`
    and its fields (names only; `raised=` for text the student's code produced).

    Example:
        >>> raise ProbeError("undefined", name="fgsm")   # doctest: +SKIP
    """

    def __init__(self, message_id, **fields):
        if message_id not in MESSAGES:
            raise ValueError(f"Expected a message identifier of MESSAGES. Received: message_id={message_id!r}")
        super().__init__(message_id, fields)
        self.message_id, self.fields = message_id, {k: str(v) for k, v in fields.items()}

    def __str__(self):
        return MESSAGES[self.message_id].format_map({"name": "?", "other": "?", "type": "?", "dtype": "?",
                                                     **self.fields, "raised": f'"{self.fields.get("raised", "")}"'})


def rng(seed, *salt):
    """A numpy generator for one question's inputs: `seed` and a per-question salt."""
    return np.random.default_rng([int(seed) % 2 ** 63, *[int(s) for s in salt]])


def answer(ns, name):
    """The notebook's `name`, or a ProbeError saying how to define it."""
    value = ns.get(name)
    if value is None:
        raise ProbeError("undefined", name=name)
    return value


def as_array(value, name, dtype=None):
    """What `name` returned, as a numeric numpy array (tensors are converted)."""
    if value is None:
        raise ProbeError("returned_none", name=name)
    if type(value).__module__.startswith(("tensorflow", "jax", "jaxlib", "keras", "torch")):
        value = np.asarray(value)
    try:
        array = np.asarray(value) if dtype is None else np.asarray(value, dtype)
    except Exception:
        raise ProbeError("not_array", name=name, type=type(value).__name__) from None
    if array.dtype.kind not in "biuf":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError):
            raise ProbeError("not_numbers", name=name, dtype=array.dtype.name) from None
    return array


def attempt(out, key, thunk):
    """For questions with partial credit: `out[key] = thunk()`, or `out[key + "_failed"] = 1` if it raises.

    The verdict then scores the other parts and says this one failed (the student sees the error
    itself in the notebook's public check)."""
    try:
        out[key] = thunk()
    except Exception:
        out[key + "_failed"] = np.array(1)
