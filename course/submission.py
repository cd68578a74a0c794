"""Read a submitted notebook once, within limits, in the grader's own process.

Everything the grader learns from a notebook file without running it comes from one call of
`read_submission`: its stage (otter metadata), its code cells, and the definition statements
the own-work check reads (`course.checks.notebook.definition_statements`). The file is read
once and its JSON parsed once; every step runs within the limits below, and a notebook past
one is refused with a message for the student (its stage then scores zero) instead of costing
the grader more CPU, memory or a crash. The sandbox never sees the submitted file: it gets
`Submission.source`, a notebook holding the code cells only, the same text the own-work check
reads.

Limits, checked in this order (each before the work it bounds):

* a regular file (a FIFO or a device is refused unread) of at most `MAX_NOTEBOOK_MB`;
* `MAX_CELLS` cells and `MAX_JSON_VALUES` values (counted in the raw bytes, before parsing:
  commas and opening brackets bound the values from above, so the parser's memory is bounded);
* JSON nesting: deeper than the interpreter's recursion limit is refused by the parser, then
  `MAX_JSON_DEPTH` levels (and the values again) by an iterative walk, never recursive;
* `MAX_CODE_KB` of code in the code cells (before any of it is parsed as Python);
* `MAX_AST_DEPTH` levels of nesting in the parsed definitions;
* `MAX_READ_CPU_S` seconds of CPU in all, checked between steps and cells.

Example:

```python
from course.submission import read_submission
sub = read_submission("submissions/alice/00_setup_and_data.ipynb", known=["00_setup_and_data"])
sub.stage, sub.refused, len(sub.cells)    # ('00_setup_and_data', None, 12)
```
"""

from __future__ import annotations

import ast
import json
import os
import re
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Submission", "read_submission", "MAX_NOTEBOOK_MB", "MAX_CELLS", "MAX_JSON_DEPTH",
           "MAX_JSON_VALUES", "MAX_CODE_KB", "MAX_AST_DEPTH", "MAX_READ_CPU_S"]

MAX_NOTEBOOK_MB = 50        # file size
MAX_CELLS = 2000            # cells of any kind (a course notebook has about 100)
MAX_JSON_DEPTH = 64         # nesting of the notebook's JSON (nbformat itself needs about 8)
MAX_JSON_VALUES = 2_000_000  # JSON values (numbers, strings, lists, ...) in the whole file
MAX_CODE_KB = 256           # code cells together, read as an AST
MAX_AST_DEPTH = 400         # nesting of one definition's AST (the interpreter recurses about 1000 deep)
MAX_READ_CPU_S = 5.0        # CPU seconds for reading one notebook, all steps together

_STAGE = re.compile(rb'"assignment_name"\s*:\s*"([0-9]{2}_[a-z0-9_]{1,60})"')
_CELL = b'"cell_type"'
_TOO_MANY_VALUES = (f"the notebook's JSON holds more than {MAX_JSON_VALUES:,} values (or commas): "
                    "clear its outputs")


@dataclass
class Submission:
    """What the grader knows of one notebook file, read once.

    Attributes:
        stage: the stage (otter metadata, else a stage name in the file name), or None.
        refused: None, or why the notebook is not graded (a message for the student).
        cells: the code cells' sources (empty when refused).
        source: notebook JSON holding only those code cells: what the sandbox loads and the
            own-work check reads.
        statements: `definition_statements(source)`, parsed once for every question.
        cpu_s: CPU seconds the reading took.
    """

    stage: str | None
    refused: str | None = None
    cells: list = field(default_factory=list)
    source: str = ""
    statements: list = field(default_factory=list)
    cpu_s: float = 0.0


class _Refused(Exception):
    """A limit was passed: the message says which, for the student."""


class _Clock:
    def __init__(self, limit):
        self.start, self.limit = time.thread_time(), limit

    def used(self):
        return time.thread_time() - self.start

    def check(self, step):
        if self.used() > self.limit:
            raise _Refused(f"reading the notebook took over {self.limit:g} s of the grader's CPU ({step}): "
                           "submit the notebook Jupyter saved, with its outputs cleared")


def stage_from_name(name, known):
    """A stage name that occurs in a file name, else None."""
    return next((stem for stem in known if stem in str(name)), None)


def read_submission(path, known, *, cpu_limit=MAX_READ_CPU_S) -> Submission:
    """Read one notebook file within the limits of this module.

    Args:
        path: the `.ipynb` file.
        known: stage names of the course (`00_setup_and_data`, ...).
        cpu_limit: CPU seconds for the whole reading (`MAX_READ_CPU_S`).

    Returns:
        A `Submission`; `refused` says why when a limit was passed or the file is not a notebook.
        Never raises for anything the file holds.
    """
    clock, path = _Clock(cpu_limit), Path(path)
    sub = Submission(stage=stage_from_name(path.name, known))
    try:
        raw = _raw(path)
        found = _STAGE.search(raw[:2**20]) or _STAGE.search(raw[-2**20:])  # metadata: usually at an end
        if found and found.group(1).decode() in known:
            sub.stage = found.group(1).decode()
        if raw.count(_CELL) > MAX_CELLS:
            raise _Refused(f"the notebook has more than {MAX_CELLS} cells: submit the notebook of the course")
        if raw.count(b",") + raw.count(b"[") + raw.count(b"{") >= MAX_JSON_VALUES:  # at least as many as values
            raise _Refused(_TOO_MANY_VALUES)
        nb = _parse(raw, clock)
        name = _get(nb, "metadata", "otter", "assignment_name")
        if isinstance(name, str) and name in known:
            sub.stage = name
        sub.cells = _code_cells(nb, clock)
        sub.source = json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "source": c} for c in sub.cells],
                                 "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
        sub.statements = _statements(sub.source, clock)
    except _Refused as why:
        sub.refused, sub.cells, sub.source, sub.statements = str(why), [], "", []
    except OSError as err:
        sub.refused = f"the notebook could not be read ({type(err).__name__})"
    except Exception as err:  # a backstop (RecursionError, MemoryError, ...): the walks below are iterative
        sub.refused = f"the notebook could not be read ({type(err).__name__}): submit the notebook Jupyter saved"
        sub.cells, sub.source, sub.statements = [], "", []
    sub.cpu_s = round(clock.used(), 3)
    return sub


def _raw(path):
    """The file's bytes; a FIFO or device (which could block the grader) is refused unread."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _Refused("not a regular file: submit the .ipynb file Jupyter saved")
        if info.st_size > MAX_NOTEBOOK_MB * 2**20:
            raise _Refused(f"the notebook is larger than {MAX_NOTEBOOK_MB} MB: clear its outputs")
        return f.read(MAX_NOTEBOOK_MB * 2**20 + 1)


def _parse(raw, clock):
    invalid = "not a valid notebook (its JSON cannot be read): submit the .ipynb file Jupyter saved"
    try:
        nb = json.loads(raw.decode("utf-8", errors="replace"))
    except RecursionError:
        raise _Refused(f"the notebook's JSON is nested more than {MAX_JSON_DEPTH} levels deep: "
                       "submit the .ipynb file Jupyter saved") from None
    except ValueError:
        raise _Refused(invalid) from None
    clock.check("parsing its JSON")
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise _Refused(invalid)
    if len(nb["cells"]) > MAX_CELLS:
        raise _Refused(f"the notebook has more than {MAX_CELLS} cells: submit the notebook of the course")
    _check_shape(nb, clock)
    return nb


def _check_shape(value, clock):
    """Refuse JSON deeper than `MAX_JSON_DEPTH` or with more than `MAX_JSON_VALUES` values
    (an explicit stack: never recursive)."""
    stack, count = [(value, 1)], 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if depth > MAX_JSON_DEPTH:
            raise _Refused(f"the notebook's JSON is nested more than {MAX_JSON_DEPTH} levels deep: "
                           "submit the .ipynb file Jupyter saved")
        if count > MAX_JSON_VALUES:
            raise _Refused(_TOO_MANY_VALUES)
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
        if not count % 100_000:
            clock.check("reading its JSON")


def _get(nb, *keys):
    for key in keys:
        if not isinstance(nb, dict):
            return None
        nb = nb.get(key)
    return nb


def _code_cells(nb, clock):
    cells, size = [], 0
    for cell in nb["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(s for s in src if isinstance(s, str)) if isinstance(src, list) else \
            src if isinstance(src, str) else ""
        size += len(src)
        if size > MAX_CODE_KB * 1024:
            raise _Refused(f"the notebook's code cells hold more than {MAX_CODE_KB} KB: "
                           "remove large literals (load data from files instead)")
        cells.append(src)
    clock.check("reading its cells")
    return cells


def _statements(source, clock):
    from course.checks.notebook import definition_statements

    statements = definition_statements(source)
    clock.check("parsing its code")
    for node in statements:
        stack = [(node, 1)]
        while stack:
            item, depth = stack.pop()
            if depth > MAX_AST_DEPTH:
                raise _Refused(f"a definition nests more than {MAX_AST_DEPTH} levels deep: "
                               "split the expression into steps")
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(item))
    clock.check("reading its definitions")
    return statements
