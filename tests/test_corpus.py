"""The wrong-answer corpus (course/corpus/) against the hidden checks (course/checks/).

Every corpus answer replaces the master's definitions of its names; the notebook is then graded
for its question as the grader does: the own-work AST check with the exercise's allow-list,
then the probe with the stage's library refused (in-process patches equal to the sandbox's
stubbed copy), then the verdict. Each must score at most its `MAX_FRACTION`, while the master
keeps full marks (tests/test_checks.py). A small sample also goes through the whole sandboxed
grader (`course/grade.py`).
"""

import functools
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course import config  # noqa: E402
from course.checks import probe_module, stage_allowed, stage_checks, validate_outputs  # noqa: E402
from course.checks.notebook import load_definitions, own_work_violations, patch_forbidden, restore  # noqa: E402
from course.corpus import wrong_answers  # noqa: E402

SEED = 20260517
CORPUS = wrong_answers()
# At least this many wrong answers per autograded question (issue 29 item 3; stages 00-04 first)
MINIMUM = {stage: 4 for stage in ("00_setup_and_data", "01_classification", "02_adversarial_examples",
                                  "03_adversarial_training", "04_robust_features")}


def _source(answer):
    master = (config.SOLUTIONS / f"{answer.stage}.py").read_text(encoding="utf-8")
    return master + "\n\n# %%\n" + answer.source


@functools.lru_cache(maxsize=None)
def _refused(stage):
    """Every name the stage's sandbox refuses at run time (its stubbed copy, as patches)."""
    from course.checks.stubbed import library_stubs

    forbidden = tuple(sorted({n for c in stage_checks(stage) for n in c.forbidden}))
    return tuple(sorted({*forbidden, *library_stubs(forbidden, stage_allowed(stage))}))


@functools.lru_cache(maxsize=None)
def _graded(stage):
    """`{answer name: (fraction, message)}` for every corpus answer of `stage` (one patch per stage)."""
    checks = {c.question: c for c in stage_checks(stage)}
    probes = importlib.import_module(probe_module(stage))
    answers = [a for a in CORPUS if a.stage == stage]
    results, outputs = {}, {}
    for answer in answers:
        check = checks[answer.question]
        found = own_work_violations(_source(answer), check.names, check.forbidden, allowed=check.allowed)
        if found:
            results[answer.name] = (0.0, "own work: " + " ".join(found))
    try:
        patch_forbidden(_refused(stage))
        for answer in answers:
            if answer.name in results:
                continue
            check = checks[answer.question]
            try:
                ns = load_definitions(_source(answer))
                outputs[answer.name] = validate_outputs(getattr(probes, check.probe)(ns, SEED))
            except Exception as err:   # the runner's error frame: zero
                outputs[answer.name] = err
    finally:
        restore()
    for answer in answers:
        if answer.name not in results:
            out = outputs[answer.name]
            results[answer.name] = (0.0, f"{type(out).__name__}: {out}") if isinstance(out, Exception) else \
                checks[answer.question].verdict(out, SEED)
    return results


def test_corpus_covers_every_question_of_the_first_stages():
    for stage, minimum in MINIMUM.items():
        for check in stage_checks(stage):
            count = sum(1 for a in CORPUS if a.stage == stage and a.question == check.question)
            assert count >= minimum, f"{stage} {check.question}: {count} wrong answers, expected >= {minimum}"
    questions = {(s.stem, c.question) for s in config.stages() for c in stage_checks(s.stem)}
    assert all((a.stage, a.question) in questions for a in CORPUS)


@pytest.mark.parametrize("stage", sorted({a.stage for a in CORPUS}))
def test_wrong_answers_score_at_most_their_max_fraction(stage):
    results = _graded(stage)
    too_high = {a.name: results[a.name] for a in CORPUS if a.stage == stage
                and not results[a.name][0] <= a.max_fraction + 1e-9}
    assert not too_high, too_high
    for answer in (a for a in CORPUS if a.stage == stage):
        fraction, message = results[answer.name]
        assert message and message != "correct", (answer.name, fraction, message)


@pytest.mark.parametrize("name", ["q00_distances__fab_private_distance", "q02_input_gradient__backend_helper",
                                  "q02_pgd__square_private_projection", "q03_adversarial_batch__engine_ascend",
                                  "q01_softmax__tf_nn_softmax"])
def test_library_escapes_of_issue_29_are_refused_as_own_work(name):
    """Library functions outside the exercise's allow-list: zero, with a message that says so."""
    answer = next(a for a in CORPUS if a.name == name.split("__", 1)[1] and a.question == name.split("__")[0])
    check = next(c for c in stage_checks(answer.stage) if c.question == answer.question)
    found = own_work_violations(_source(answer), check.names, check.forbidden, allowed=check.allowed)
    assert found and all("write it yourself" in m for m in found), found
    assert any("does not allow" in m or "reference implementation" in m or "for you" in m for m in found)


SAMPLE = ("q02_pgd__one_fgm_step", "q03_train_step__no_train_step", "q00_to_unit_range__min_max")


@pytest.mark.slow
@pytest.mark.skipif(not __import__("course.sandbox", fromlist=["available"]).available()[0],
                    reason="no bubblewrap sandbox here")
def test_a_sample_through_the_sandboxed_grader(tmp_path):
    """Three corpus answers as students' notebooks, graded by course/grade.py (sandboxed): the same
    caps hold, and the other questions of each notebook (the master's answers, stage 03's using the
    allowed step rules from the stubbed copy) keep full marks. Slow: about a minute (2 jobs)."""
    import csv

    import nbformat

    picked = [a for a in CORPUS if f"{a.question}__{a.name}" in SAMPLE]
    assert len(picked) == len(SAMPLE)
    subs = tmp_path / "subs"
    for answer in picked:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_source(answer))],
                                      metadata={"otter": {"assignment_name": answer.stage}})
        (subs / answer.name).mkdir(parents=True)
        nbformat.write(nb, subs / answer.name / f"{answer.stage}.ipynb")
    proc = subprocess.run([sys.executable, str(ROOT / "course" / "grade.py"), str(subs), "--out", str(tmp_path),
                           "--jobs", "2", "--seed", str(SEED)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(tmp_path / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    for answer in picked:
        mine = [r for r in rows if r["student"] == answer.name]
        points = {r["exercise"]: float(r["points"]) for r in mine}
        checks = {c.question: c for c in stage_checks(answer.stage)}
        assert set(points) == set(checks), (mine, proc.stdout[-2000:])
        assert points[answer.question] <= answer.max_fraction * checks[answer.question].points + 1e-6, mine
        for question, check in checks.items():
            if question != answer.question:
                assert points[question] == pytest.approx(check.points), (answer.name, question, rows)
