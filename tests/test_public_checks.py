"""The public checks (`grader.check`) against the wrong-answer corpus: a check that passes a wrong
answer, or fails it with a hint about something else, misleads the student the grader then zeroes.

For every answer in `course/corpus/<stage>/` with a `PUBLIC_HINT`, the question's public tests
(`notebooks/tests/<question>.py`, exactly what the student's `grader.check` runs, through otter's
own runner) run on the master's definitions with that answer's definitions substituted: they
must fail, with an `AssertionError` (a hint, never a crash inside the check's own code) whose
message matches `PUBLIC_HINT`. The masters pass every public check. Answers marked
`PUBLIC_WEAKER` (the public check must stay weaker than the grader there) are listed by name
in the skip reason.

The grader's side (every corpus answer scores at most its `MAX_FRACTION`) is tested with the
grader (tests/test_grading.py and the corpus tests beside it).
"""

import contextlib
import io
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

pytest.importorskip("otter", reason="the course needs the `grading` extra: pip install -e .[grading]")

from course import config  # noqa: E402
from course.corpus import wrong_answers  # noqa: E402

ANSWERS = wrong_answers()


def _master(stage):
    return config.SOLUTIONS / f"{stage}.py"


def run_public_checks(stage, question, answer_source=None, *, notebook=None):
    """Run one question's public tests as `grader.check` does.

    Args:
        stage: the stage name, `"02_adversarial_examples"`.
        question: the question name, `"q02_pgd"`.
        answer_source: Python source whose definitions replace the master's, or None.
        notebook: read the definitions from this notebook instead of the master.

    Returns:
        `(passed, messages, output)`: whether every test case passed, the failure messages
        (otter's text, what the student reads) and what the checks printed.
    """
    from otter.test_files.exception_test import ExceptionTestFile

    from course.checks.notebook import load_definitions

    if notebook is not None:
        ns = load_definitions(notebook)
    else:
        source = _master(stage).read_text(encoding="utf-8")
        if answer_source is not None:
            source += "\n# %%\n" + answer_source
        ns = load_definitions(source)
    test_file = ExceptionTestFile.from_file(str(config.PUBLIC_TESTS / f"{question}.py"))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        test_file.run(ns)
    failed = [r.message for r in test_file.test_case_results if not r.passed]
    return not failed, failed, printed.getvalue()


def _questions():
    """Every question with public tests, with its stage."""
    stages = {m.stem[:2]: m.stem for m in config.stages()}
    return [(stages[t.stem[1:3]], t.stem) for t in sorted(config.PUBLIC_TESTS.glob("q[0-9][0-9]_*.py"))]


def _checked():
    return [a for a in ANSWERS if a.public_hint is not None]


@pytest.mark.parametrize("stage,question", _questions(), ids=[q for _, q in _questions()])
def test_master_passes_its_public_checks_quietly(stage, question):
    passed, failed, printed = run_public_checks(stage, question)
    assert passed, "\n".join(failed)
    assert "━" not in printed and "Epoch " not in printed, f"{question}: the check prints progress bars:\n{printed[-500:]}"


@pytest.mark.parametrize("answer", _checked(), ids=[f"{a.question}__{a.name}" for a in _checked()])
def test_public_check_names_the_mistake(answer):
    passed, failed, _ = run_public_checks(answer.stage, answer.question, answer.source)
    assert not passed, f"{answer.path.name}: the public check passes this wrong answer ({answer.mistake})"
    text = "\n".join(failed)
    hints = [m for m in failed if "AssertionError" in m]
    assert hints, f"{answer.path.name}: the check failed without a hint (a crash, not an assertion):\n{text}"
    assert any(re.search(answer.public_hint, m, re.I | re.S) for m in hints), (
        f"{answer.path.name}: expected a hint matching {answer.public_hint!r} ({answer.mistake}). Received:\n{text}")


@pytest.mark.parametrize("stage,question", _questions(), ids=[q for _, q in _questions()])
def test_blank_exercise_gets_a_hint_not_a_crash(stage, question):
    """The student notebook as handed out (every answer still `...`): each check fails with an
    assertion that says what to do, never with an error raised inside the check's own code."""
    passed, failed, _ = run_public_checks(stage, question, notebook=config.NOTEBOOKS / f"{stage}.ipynb")
    assert not passed, f"{question}: the blank exercise passes its public check"
    crashes = [m for m in failed if "AssertionError" not in m]
    assert not crashes, f"{question}: the blank exercise crashes the check instead of getting a hint:\n" + "\n".join(crashes)


def test_weaker_public_checks_are_named():
    weaker = [a for a in ANSWERS if a.public_hint is None]
    for answer in weaker:
        assert answer.public_weaker and len(answer.public_weaker) > 20, answer.path
    if weaker:
        pytest.skip("public checks weaker than the grader by design: "
                    + "; ".join(f"{a.question}__{a.name} ({a.public_weaker})" for a in weaker))
