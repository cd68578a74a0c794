"""The wrong-answer corpus: plausible wrong or shortcut answers to the autograded exercises.

One file per wrong answer, `course/corpus/<stage>/<question>__<slug>.py`, so that answers can be
added without touching each other. A file is plain Python source in two parts:

* a header of constants (read here with `ast.literal_eval`, never executed by this module):

  ```python
  \"\"\"One FGM step: ignores `steps` and `step_size`.\"\"\"   # the mistake, in a sentence
  QUESTION = "q02_pgd"           # the autograded question it answers
  MAX_FRACTION = 0.0             # the most the grader may give: 0.0 for a shortcut that skips
                                 # the algorithm, at most 0.5 for a near miss
  PUBLIC_HINT = r"step"          # regex that the public check's failure message must match,
                                 # or None together with PUBLIC_WEAKER = "why the public check
                                 # must stay weaker than the grader here"
  ```

* the answer: the definitions (functions, classes, imports) that replace the solution's
  definitions of the same names; the other questions of the notebook keep the master's answers.

Example:

```python
from course.corpus import wrong_answers
for answer in wrong_answers("02_adversarial_examples"):
    print(answer.question, answer.name, answer.max_fraction, answer.mistake)
```
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WrongAnswer", "wrong_answers", "CORPUS_DIR"]

CORPUS_DIR = Path(__file__).resolve().parent
_HEADER = ("QUESTION", "MAX_FRACTION", "PUBLIC_HINT", "PUBLIC_WEAKER")


@dataclass(frozen=True)
class WrongAnswer:
    """One wrong answer of the corpus (see the module docstring for the file format)."""

    stage: str
    question: str
    name: str
    mistake: str
    max_fraction: float
    public_hint: str | None
    public_weaker: str | None
    source: str
    path: Path


def _read(path: Path, stage: str) -> WrongAnswer:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    header = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name) and node.targets[0].id in _HEADER:
            header[node.targets[0].id] = ast.literal_eval(node.value)
    mistake = ast.get_docstring(tree)
    if not mistake or "QUESTION" not in header or "MAX_FRACTION" not in header:
        raise ValueError(f"Expected a docstring, QUESTION and MAX_FRACTION in {path}. Received: "
                         f"docstring={bool(mistake)}, constants={sorted(header)}")
    if header.get("PUBLIC_HINT") is None and not header.get("PUBLIC_WEAKER"):
        raise ValueError(f"Expected PUBLIC_HINT, or PUBLIC_WEAKER with a reason, in {path}.")
    fraction = float(header["MAX_FRACTION"])
    if not 0.0 <= fraction <= 0.5:
        raise ValueError(f"Expected 0 <= MAX_FRACTION <= 0.5 in {path}. Received: {fraction}")
    question = header["QUESTION"]
    if not path.stem.startswith(question + "__"):
        raise ValueError(f"Expected the file name to start with {question}__. Received: {path.name}")
    return WrongAnswer(stage=stage, question=question, name=path.stem.split("__", 1)[1],
                       mistake=mistake.strip(), max_fraction=fraction,
                       public_hint=header.get("PUBLIC_HINT"), public_weaker=header.get("PUBLIC_WEAKER"),
                       source=source, path=path)


def wrong_answers(stage: str | None = None) -> list[WrongAnswer]:
    """The corpus, sorted by stage, question and name.

    Args:
        stage: a stage name such as `"02_adversarial_examples"`, or None for every stage.

    Returns:
        A list of `WrongAnswer`.
    """
    stages = [stage] if stage else sorted(p.name for p in CORPUS_DIR.iterdir()
                                          if p.is_dir() and p.name[:2].isdigit())
    return [_read(path, name) for name in stages
            for path in sorted((CORPUS_DIR / name).glob("q*__*.py"))]
