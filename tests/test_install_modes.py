"""The original library is never readable inside the grader's sandbox, however it is installed.

The sandbox imports the stage's stubbed copy of `robustkeras`; a notebook that drops it and looks
for the original (sys.path, site-packages, `.pyc` caches, the editable finder) must find nothing,
whether the grader's environment holds the package editable (`pip install -e .`, the
development setup) or as files in its site-packages (`pip install .`, which an instructor may
well do). The user site (`~/.local`) lies in the home folder, which the sandbox never binds.
"""

import csv
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course import sandbox  # noqa: E402

STAGE = "00_setup_and_data"
SANDBOX_OK, SANDBOX_WHY = sandbox.available()
pytestmark = pytest.mark.skipif(not SANDBOX_OK, reason=f"no bubblewrap sandbox here: {SANDBOX_WHY}")

# The answer is right only when it found and ran the original `to_float` (not the stub).
SEEKER = '''
import glob, importlib.util, os, site, sys

def _originals():
    roots = set(sys.path) | set(site.getsitepackages()) | {"/opt/venv", "/usr", "/root", "/home", "/opt", "/work"}
    for root in sorted(r for r in roots if r and os.path.isdir(r)):
        for pattern in ("robustkeras/data.py", "*/robustkeras/data.py", "lib/python*/site-packages/robustkeras/data.py",
                        "robustkeras/__pycache__/data.*.pyc", "lib/python*/site-packages/robustkeras/__pycache__/data.*.pyc"):
            for path in glob.glob(os.path.join(root, pattern)):
                try:
                    with open(path, "rb") as f:
                        if b"_RKReferenceUsed" not in f.read():
                            yield path
                except OSError:
                    pass
    for line in glob.glob("/opt/venv/lib/python*/site-packages/__editable__*finder.py"):
        yield line

def to_unit_range(images):
    for path in _originals():
        if path.endswith(".py") and "finder" not in path:
            spec = importlib.util.spec_from_file_location("original_data", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module.to_float(images)
    return None
'''


def _master_definitions():
    import ast

    from course import config
    from course.checks.notebook import definition_statements

    return "\n".join(ast.unparse(node) for node in definition_statements(config.SOLUTIONS / f"{STAGE}.py"))


def _grade_with(python, tmp_path):
    """Grade one notebook (the master's answers, to_unit_range replaced by SEEKER) with `python`."""
    import nbformat

    subs = tmp_path / "subs"
    (subs / "seeker").mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_master_definitions()),
                                         nbformat.v4.new_code_cell(textwrap.dedent(SEEKER))],
                                  metadata={"otter": {"assignment_name": STAGE}})
    nbformat.write(nb, subs / "seeker" / f"{STAGE}.ipynb")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([str(python), str(ROOT / "course" / "grade.py"), str(subs), "--out", str(tmp_path),
                           "--jobs", "1", "--seed", "3"], capture_output=True, text=True, timeout=600, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    with open(tmp_path / "grades.csv") as f:
        return {r["exercise"]: (float(r["points"]), r["message"]) for r in csv.DictReader(f)}


def _check(points):
    assert points["q00_to_unit_range"][0] == 0, points        # the original was found: it would be 2
    for question in ("q00_class_counts", "q00_image_grid", "q00_distances"):
        assert points[question][0] > 0, points                # the notebook itself was graded


@pytest.mark.slow
def test_editable_install_is_not_readable_in_the_sandbox(tmp_path):
    """The development setup: this interpreter, the package installed editable (or on PYTHONPATH).
    Slow (a grading run, about a minute on a loaded machine): the repository is never bound, and
    tests/test_grading.py's hostile batch reads for it in the default run."""
    _check(_grade_with(sys.executable, tmp_path))


def test_site_packages_install_is_masked_in_the_sandbox(tmp_path):
    """`pip install .` into a virtual environment: the package's files sit in the venv the sandbox
    binds read-only; `course/sandbox.py` masks them (an empty read-only tmpfs over the package)."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "setup.cfg", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "robustkeras", source / "robustkeras",
                    ignore=shutil.ignore_patterns("*.h5", "*.npz", "*.tflite"))
    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True,
                   timeout=300)
    python = venv / "bin" / "python"
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                           "--no-index", str(source)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    installed = list(venv.glob("lib/python*/site-packages/robustkeras/data.py"))
    assert installed, "the package is not in the venv's site-packages"
    hidden = sandbox.hidden_installs([(venv, sandbox.VENV)])
    assert any(path.endswith("/robustkeras") and is_dir for path, is_dir in hidden), hidden
    _check(_grade_with(python, tmp_path))
