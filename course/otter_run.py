"""otter's path: the autograder zips `course/build.py` makes for Gradescope, and plain `otter run`.

Marks from this path are computed by otter inside the student's own kernel: a notebook can
forge them (course/README.md says what Gradescope's container adds). `course/grade.py` does
not use it; the build and `benchmarks/grading_speed.py` do.

Example:
    >>> question_points("dist/00_setup_and_data-autograder.zip")   # doctest: +SKIP
    {'q00_class_counts': 1, ...}
"""

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path


def question_points(zip_path):
    """Question name -> possible points, read from an autograder's test files."""
    from otter.nbmeta_config import NBMetadataConfig
    from otter.test_files import create_test_file

    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(zip_path) as z:
            z.extractall(tmp)
        return {tf.name: tf.possible for tf in
                (create_test_file(str(p), NBMetadataConfig()) for p in sorted(Path(tmp, "tests").glob("*.py")))}


def with_hidden_tests(zip_path, hidden_dir, stage, dest):
    """A copy of `zip_path` with the instructor's extra otter tests `qNN_*.py` for `stage` added.

    Returns:
        `dest`, or `zip_path` itself when `hidden_dir` has no test for the stage.
    """
    extra = sorted(Path(hidden_dir).glob(f"q{stage[:2]}_*.py")) if hidden_dir else []
    if not extra:
        return zip_path
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        names = {f"tests/{p.name}" for p in extra}
        for item in src.infolist():
            if item.filename not in names:
                out.writestr(item, src.read(item.filename))
        for p in extra:
            out.write(p, f"tests/{p.name}")
    return Path(dest)


def otter_run(notebook, zip_path, out_dir, *, env=None, timeout=None):
    """`otter run -a ZIP -o OUT NOTEBOOK` in a subprocess, unsandboxed; returns otter's results.json
    as a dict (Gradescope's format: `tests`, each with name, score, max_score), or raises `RuntimeError` with otter's output."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(zip_path), "-o", str(out_dir),
                           "--no-logo", str(notebook)], capture_output=True, text=True, env=env, timeout=timeout)
    results = Path(out_dir) / "results.json"
    if not results.is_file():
        raise RuntimeError(f"otter run failed (exit {proc.returncode}): {(proc.stdout + proc.stderr)[-2000:]}")
    import json

    return json.loads(results.read_text())
