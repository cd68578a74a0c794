"""Run the notebooks' setup cell as Colab runs it, against a local wheel.

Each distinct setup cell of `notebooks/*.ipynb` runs in a fresh virtual environment holding
Colab's recorded packages (`course/colab_versions.txt`), inside IPython made to identify as
Colab, with the cell's two test hooks pointed at local stand-ins: `ROBUSTKERAS_COLAB_SOURCE`
(a throwaway git repository holding `notebooks/tests`, on the configured branch, in place of
the GitHub clone) and `ROBUSTKERAS_COLAB_PACKAGE` (the wheel, in place of `./robustkeras`).
It checks that the cell ends with robustkeras importable at the wheel's version, Colab's
TensorFlow and Keras left as they were (no restart needed), the public tests copied into
./tests, otter's checker started, and no TensorFlow start-up noise.

Usage (run by `.ci/wheel`; needs `uv` and PyPI or uv's cache):

    python course/colab_check.py dist/robustkeras-0.1.0-py3-none-any.whl
"""

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from course import config  # noqa: E402

VERSIONS = Path(__file__).resolve().parent / "colab_versions.txt"
NOISE = ("I0000", "E0000", "W0000", "cuInit", "cuda", "oneDNN")

# Runs inside `ipython` in the fresh environment: a shell that identifies as Colab (otter and the
# setup cell both read `str(get_ipython())`), the cell, then what it left behind, as JSON.
HARNESS = '''\
import json, sys
shell = get_ipython()
type(shell).__repr__ = lambda self: "<google.colab._shell.Shell object>"
type(shell).__str__ = type(shell).__repr__
exec(compile(open(sys.argv[1]).read(), "setup-cell", "exec"))
import keras, otter, robustkeras, tensorflow
print("COLAB-CHECK", json.dumps({"robustkeras": robustkeras.__version__, "tensorflow": tensorflow.__version__,
      "keras": keras.__version__, "module": robustkeras.__file__, "grader": type(grader).__name__}))
'''


def colab_versions(path=VERSIONS):
    """Colab's recorded packages and Python version.

    Args:
        path: the versions file (`name==version` lines, `# python: X.Y`).

    Returns:
        `(pins, python)`: a dict of package name to version, and the Python version string.

    Example:
    >>> pins, python = colab_versions()
    >>> "tensorflow" in pins and python.startswith("3.")
    True
    """
    text = Path(path).read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", text, flags=re.M))
    python = re.search(r"^# python: (\S+)$", text, flags=re.M)
    if not pins or python is None:
        raise ValueError(f"Expected `name==version` lines and a `# python: X.Y` line in {path}. "
                         f"Received: {len(pins)} pins, python line {'found' if python else 'missing'}.")
    return pins, python.group(1)


def setup_cells(notebooks=config.NOTEBOOKS):
    """The distinct setup cells (the first code cell) of the student notebooks.

    Args:
        notebooks: the folder of student notebooks.

    Returns:
        A dict of cell source to the notebook names that share it.
    """
    cells = {}
    for path in sorted(Path(notebooks).glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if c.cell_type == "code")
        cells.setdefault(cell.source, []).append(path.name)
    return cells


def fake_repository(folder):
    """A local git repository standing in for the GitHub clone: `notebooks/tests` on `config.BRANCH`."""
    shutil.copytree(config.PUBLIC_TESTS, folder / "notebooks" / "tests")
    git = ["git", "-C", str(folder), "-c", "user.name=ci", "-c", "user.email=ci@localhost"]
    subprocess.run(git[:3] + ["init", "-q", "-b", config.BRANCH], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "public tests"], check=True)


def fresh_environment(folder, python):
    """A fresh virtual environment (with pip, which the cell calls) holding Colab's pins."""
    uv = [sys.executable, "-m", "uv"]
    subprocess.run(uv + ["venv", "-q", "--seed", "--python", python, str(folder)], check=True)
    subprocess.run(uv + ["pip", "install", "-q", "--python", str(folder / "bin" / "python"), "-r", str(VERSIONS)],
                   check=True)
    return folder / "bin" / "python"


def check_cell(source, wheel, work, python):
    """Run one setup cell in a fresh Colab-like environment and check what it leaves.

    Returns:
        A list of problems (empty when the cell did its job).
    """
    pins, _ = colab_versions()
    version = Path(wheel).name.split("-")[1]
    venv_python = fresh_environment(work / "venv", python)
    fake_repository(work / "source")
    content = work / "content"   # Colab's working directory
    content.mkdir()
    (work / "cell.py").write_text(source)
    (work / "harness.py").write_text(HARNESS)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PIP_CONSTRAINT")}
    env.update(ROBUSTKERAS_COLAB_SOURCE=str(work / "source"), ROBUSTKERAS_COLAB_PACKAGE=str(wheel),
               PATH=f"{venv_python.parent}:{env['PATH']}", MPLBACKEND="Agg")
    run = subprocess.run([str(venv_python), "-m", "IPython", "--quick", "--no-banner", "--colors=NoColor",
                          "--TerminalInteractiveShell.term_title=False",
                          str(work / "harness.py"), str(work / "cell.py")],
                         cwd=content, env=env, capture_output=True, text=True, timeout=900)
    problems = []
    line = next((x.split("COLAB-CHECK ", 1)[1] for x in run.stdout.splitlines() if "COLAB-CHECK " in x), None)
    if run.returncode or line is None:
        return [f"the cell failed (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"]
    got = json.loads(line)
    if got["robustkeras"] != version or not got["module"].startswith(str(work / "venv")):
        problems.append(f"robustkeras {got['robustkeras']} from {got['module']}: expected the wheel's {version}")
    for name in ("tensorflow", "keras"):
        if got[name] != pins[name]:
            problems.append(f"{name} became {got[name]} (Colab has {pins[name]}: students would need a restart)")
    expected = sorted(p.name for p in config.PUBLIC_TESTS.glob("*.py"))
    copied = sorted(p.name for p in (content / "tests").glob("*.py"))
    if copied != expected:
        problems.append(f"./tests holds {len(copied)} test files, expected the {len(expected)} public ones")
    noise = [x for x in (run.stdout + run.stderr).splitlines() if any(m in x for m in NOISE)]
    if noise:
        problems.append("TensorFlow start-up noise:\n" + "\n".join(noise[:10]))
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help="the robustkeras wheel to install in place of the clone")
    args = parser.parse_args(argv)
    if not args.wheel.is_file() or args.wheel.suffix != ".whl":
        raise SystemExit(f"Expected `wheel` to be a robustkeras .whl file. Received: {args.wheel}")
    pins, colab_python = colab_versions()
    python, used = sys.executable, platform.python_version()
    if shutil.which(f"python{colab_python}"):   # Colab's Python where installed (a pyenv shim may not run)
        probe = subprocess.run([f"python{colab_python}", "-c", "import platform; print(platform.python_version())"],
                               capture_output=True, text=True)
        if probe.returncode == 0:
            python, used = shutil.which(f"python{colab_python}"), probe.stdout.strip()
    print(f"Colab (course/colab_versions.txt): Python {colab_python}, tensorflow {pins['tensorflow']}, "
          f"keras {pins['keras']}, numpy {pins['numpy']}; this check: Python {used}")
    failed = False
    for source, names in setup_cells().items():
        start = time.monotonic()
        with tempfile.TemporaryDirectory() as work:
            problems = check_cell(source, args.wheel.resolve(), Path(work), python)
        label = f"setup cell of {len(names)} notebook(s) ({names[0]}...)"
        print(f"{label}: {'ok' if not problems else 'FAILED'} in {time.monotonic() - start:.0f} s")
        for problem in problems:
            print("  " + problem)
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
