"""Hidden checks of the course, in the judge's format (issue 17).

Each autograded question of a stage has one `Check`: the notebook names its probe needs, the
library names the answer must not reach (its reference implementation), and a verdict.

* The **probe** (`course/checks/probes/sNN_topic.py`, `probe_<question>(ns, seed)`) runs in the
  submission's sandbox: it calls the student's functions on inputs built from `seed` and returns
  plain numeric arrays. Probe modules hold no reference answers.
* The **verdict** (`course/checks/sNN_topic.py`, `verdict(outputs, seed) -> (fraction, message)`)
  runs in the grader's own process on the probe's outputs (after `validate_outputs`) and compares
  them with references it computes itself (the library is fine there).

This module and `course/checks/notebook.py` are copied into the sandbox: importing them must not
import any verdict module (`stage_checks` imports them lazily).

How a notebook is graded with these pieces (course/grade.py and course/probe_runner.py):

1. Grader: `own_work_violations(notebook, check.names, check.forbidden)` per check; a violation
   gives that question zero with its message.
2. Sandbox: `ns = load_definitions(notebook, forbidden=<union of the stage's forbidden names>)`,
   then per question `getattr(importlib.import_module(probe_module(stage)), check.probe)(ns, seed)`;
   save `validate_outputs(result)` with `np.savez`. A `ProbeError` carries a message written for
   the student ("your function `fgsm` returned None ..."); any other exception is the student's
   own code failing.
3. Grader: `check.verdict(validate_outputs(np.load(path, allow_pickle=False)), seed)`.

Writing a check for a new exercise: add `<question>_inputs(seed)` and `probe_<question>(ns, seed)` to
the stage's probe module (inputs from `probes._common.rng(seed, ...)`, tiny models from
`probes._models.tiny_model`, no reference answers), a verdict decorated with `_judge.judged` to the
stage's verdict module, and a `Check` with the master's points; `tests/test_checks.py` then
requires the master to get full marks and the student version zero.

Example:

```python
from course.checks import stage_checks
for check in stage_checks("00_setup_and_data"):
    print(check.question, check.points, check.names, check.forbidden)
```
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Check", "stage_checks", "stage_allowed", "validate_outputs", "verdict_module", "probe_module",
           "MAX_KEYS", "MAX_KEY_LENGTH", "MAX_ELEMENTS", "MAX_TOTAL_BYTES"]

MAX_KEYS = 64                      # arrays per question
MAX_KEY_LENGTH = 64                # characters per key
MAX_ELEMENTS = 4_000_000           # elements per array
MAX_TOTAL_BYTES = 64 * 2 ** 20     # bytes per question, all arrays together
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STAGE = re.compile(r"^(\d\d)_([a-z0-9_]+)$")


@dataclass(frozen=True)
class Check:
    """One autograded question: what the probe needs, what it must not use, how it is judged.

    Args:
        question: otter question name, as in the master (`"q02_fgsm"`).
        points: the question's points in the master.
        names: notebook names (functions / classes) the probe calls.
        forbidden: dotted library names the answer must not reach (its reference
            implementation), e.g. `"robustkeras.attacks.fgsm"`; checked on the source (AST) and
            at run time stubbed in the sandbox's copy of robustkeras (other packages: patched).
            One list per exercise, here, so a library rename needs one edit
            (`tests/test_checks.py` proves every name resolves).
        verdict: `verdict(outputs, seed) -> (fraction in [0, 1], message)`, run in the
            grader's process on the probe's validated outputs.
        allowed: the allow-list: the `robustkeras` functions and classes the answer may use
            (a class allows its methods), e.g. the step rules where the exercise says so.
            Every other function or class of `robustkeras` is refused: the AST check flags an
            answer that reaches one, and the sandbox's copy of the package stubs every
            definition that the stage's allowed names do not need (`course.checks.stubbed`).
        uses: what the answer may use besides its own notebook's functions, in words, for the
            student notebook (`course/build.py` prints it beside the exercise), e.g.
            `"numpy"` or `"tf tensor ops and tf.GradientTape; keras.losses"`.

    `forbidden` names outside `robustkeras` are the other libraries' functions that compute the
    exercise's answer directly (`tf.nn.softmax` for a softmax exercise): refused by the AST
    check, and at run time patched where the framework does not call them itself
    (`course.checks.notebook.RUNTIME_ROOTS`).
    """

    question: str
    points: float
    names: tuple[str, ...]
    forbidden: tuple[str, ...]
    verdict: Callable
    allowed: tuple[str, ...] = ()
    uses: str = "numpy"

    @property
    def probe(self) -> str:
        """Name of the probe function in the stage's probe module."""
        return f"probe_{self.question}"


def _module_name(stage):
    match = _STAGE.match(str(stage))
    if not match:
        raise ValueError(f"Expected a stage name like `02_adversarial_examples`. Received: stage={stage!r}")
    return f"s{match.group(1)}_{match.group(2)}"


def verdict_module(stage):
    """Dotted name of a stage's verdict module: `course.checks.s02_adversarial_examples`."""
    return f"{__name__}.{_module_name(stage)}"


def probe_module(stage):
    """Dotted name of a stage's probe module: `course.checks.probes.s02_adversarial_examples`."""
    return f"{__name__}.probes.{_module_name(stage)}"


def stage_checks(stage: str) -> list[Check]:
    """The checks of one stage, in the master's question order.

    Args:
        stage: stage name, e.g. `"02_adversarial_examples"`.

    Returns:
        A list of `Check` (a fresh list; the checks themselves are immutable).

    Example:

    >>> [c.question for c in stage_checks("00_setup_and_data")][:2]
    ['q00_to_unit_range', 'q00_class_counts']
    """
    name = verdict_module(stage)
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name == name:
            raise ValueError(f"No checks for stage {stage!r} (expected module {name}).") from None
        raise
    return list(module.CHECKS)


def stage_allowed(stage: str) -> tuple[str, ...]:
    """Every `robustkeras` name some question of `stage` may use (what its sandbox keeps working).

    Example:

    >>> stage_allowed("00_setup_and_data")
    ()
    """
    return tuple(sorted({name for check in stage_checks(stage) for name in check.allowed}))


def validate_outputs(outputs) -> dict:
    """Check a probe's outputs against the schema; return them as a plain dict of arrays.

    Schema: a mapping of at most `MAX_KEYS` identifier keys (each at most `MAX_KEY_LENGTH`
    characters) to numeric or boolean numpy arrays (no object, string or structured dtypes),
    each of at most `MAX_ELEMENTS` elements, at most `MAX_TOTAL_BYTES` together.

    Args:
        outputs: a mapping (a dict, or the `NpzFile` of `np.load(path, allow_pickle=False)`).

    Returns:
        `dict[str, np.ndarray]`.

    Raises:
        ValueError: naming the first key or limit that does not fit.

    Example:

    >>> validate_outputs({"out": np.zeros(3)})["out"].shape
    (3,)
    """
    if not isinstance(outputs, Mapping) and not hasattr(outputs, "files"):
        raise ValueError(f"Expected a mapping of names to arrays. Received: {type(outputs).__name__}")
    keys = list(outputs.files if hasattr(outputs, "files") else outputs.keys())
    if len(keys) > MAX_KEYS:
        raise ValueError(f"Expected at most {MAX_KEYS} arrays. Received: {len(keys)}")
    clean, total = {}, 0
    for key in keys:
        if not isinstance(key, str) or len(key) > MAX_KEY_LENGTH or not _KEY.match(key):
            raise ValueError(f"Expected identifier keys of at most {MAX_KEY_LENGTH} characters. "
                             f"Received: {str(key)[:80]!r}")
        value = outputs[key]
        if not isinstance(value, (np.ndarray, np.generic, bool, int, float)):
            raise ValueError(f"Expected a numpy array at {key!r}. Received: {type(value).__name__}")
        value = np.asarray(value)
        if value.dtype.kind not in "biuf" or value.dtype.fields is not None:
            raise ValueError(f"Expected a numeric or boolean array at {key!r}. Received: dtype={value.dtype}")
        if value.size > MAX_ELEMENTS:
            raise ValueError(f"Expected at most {MAX_ELEMENTS} elements at {key!r}. Received: {value.size}")
        total += value.nbytes
        if total > MAX_TOTAL_BYTES:
            raise ValueError(f"Expected at most {MAX_TOTAL_BYTES} bytes in all. Received more at {key!r}")
        clean[key] = value
    return clean
