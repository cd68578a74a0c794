"""Build the course: master notebooks -> student notebooks, public tests and autograder zips.

    python course/build.py                 # every stage (executes each solution notebook once)
    python course/build.py 00 02           # some stages
    python course/build.py --no-run-tests  # skip executing the solutions (fast; same student files)
    python course/build.py --check         # fail if notebooks/ differs from a fresh build
    python course/build.py --release       # refuse a REPOSITORY left at the placeholder

For each `solutions/NN_topic.py` (jupytext percent, otter-assign format):
jupytext -> .ipynb, a Colab badge and setup cell prepended, then `otter assign`,
which executes the solutions in grading mode and fails unless they get full marks.
Outputs: `notebooks/NN_topic.ipynb` and `notebooks/tests/qNN_*.py` (public tests,
committed; Colab copies them), `dist/NN_topic-autograder.zip` (public and hidden
tests, for `course/grade.py`, `otter run` and Gradescope) and
`dist/solutions/NN_topic.ipynb` (the executed-solution notebook, never committed).
"""

import argparse
import difflib
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from course import config  # noqa: E402

SETUP_SOURCE = '''\
# Setup (run this first). On Colab it installs robustkeras and fetches this course's
# public tests (about two minutes, once per session); locally it only starts otter's checker.
# A CPU runtime is enough: every stage runs in about two minutes on two cores (a GPU only
# speeds up stage 03). Restart (Colab: Runtime -> Restart session) and run this cell again
# only if pip warns that a package this session already imported was upgraded, or after you
# change the runtime type; a restart keeps the installed library.
import os, subprocess, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # no CUDA start-up errors on a CPU runtime
if "google.colab" in str(get_ipython()):
    if not os.path.isdir("robustkeras"):
        # ROBUSTKERAS_COLAB_SOURCE and _PACKAGE: a test's local repository and wheel (course/colab_check.py)
        repository, branch = os.environ.get("ROBUSTKERAS_COLAB_SOURCE", "{url}"), "{branch}"
        step = subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", branch,
                               repository, "robustkeras"], capture_output=True, text=True)
        if step.returncode:
            raise RuntimeError(f"Could not download the course from {{repository}} (branch {{branch}}):\\n"
                               + step.stderr.strip() + "\\nCheck your internet connection; if the "
                               "repository does not exist, ask your instructor for the right notebook "
                               "link (instructors: set REPOSITORY in course/config.py and rebuild).") from None
        package = os.environ.get("ROBUSTKERAS_COLAB_PACKAGE", "./robustkeras") + "[grading]"
        step = subprocess.run([sys.executable, "-m", "pip", "install", "-q", package],
                              capture_output=True, text=True)
        if step.returncode:
            raise RuntimeError("Could not install robustkeras:\\n" + step.stderr.strip()[-2000:]) from None
    if not os.path.isdir("tests"):
        subprocess.run(["cp", "-r", "robustkeras/notebooks/tests", "tests"], check=True)
# TensorFlow's C++ start-up lines (no CUDA driver, oneDNN) reach the process's stderr before
# any setting applies: load it once here with that stream muted (errors still show).
saved, muted = os.dup(2), os.open(os.devnull, os.O_WRONLY)
os.dup2(muted, 2)
try:
    import tensorflow
finally:
    os.dup2(saved, 2)
    os.close(saved), os.close(muted)
import otter
grader = otter.Notebook(tests_dir="tests")'''

BADGE_SOURCE = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"

ASSIGN_CONFIG = """\
# shared otter-assign settings, written by course/build.py (the master's own keys override these)
init_cell: false
check_all_cell: false
export_cell: false
strip_solutions_from_all_cells: true
tests:
  files: true
  ok_format: false
requirements: requirements.txt
python_version: "3.11"
autograder_files:
  - {marker}
generate:
  pdf: false
  show_stdout: true
  show_hidden: false
  zips: false
"""

QUESTION_NAME = re.compile(r"^\s*name:\s*(\S+)\s*$", re.M)

# Characters that never belong in a master: a "\f" typed in a Python string where "\\f" was
# meant turns "\frac" into a form feed and "rac" (it rendered so in stage 03); a "\t" turns
# "\times" into a tab and "imes" (stage 05). Masters indent with spaces, so tabs fail too.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x09\x0b\x0c\x0e-\x1f\x7f]")
# otter-assign's raw delimiter cells: the delimiter line, then YAML only where otter reads some.
DELIMITER = re.compile(r"#\s*(ASSIGNMENT CONFIG|BEGIN QUESTION|END QUESTION|BEGIN SOLUTION|END SOLUTION|"
                       r"BEGIN TESTS|END TESTS|BEGIN PROMPT|END PROMPT)\b", re.I)
WITH_YAML = ("ASSIGNMENT CONFIG", "BEGIN QUESTION")
MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$", re.S)
# MathJax (what Jupyter and Colab render) knows these; matplotlib's mathtext, used here as an
# offline parser, spells them differently or has no sizing commands: translate before parsing.
MATHJAX_ALIASES = [(re.compile(r"\\(?:big|Big|bigg|Bigg)[lr]?(?![a-zA-Z])"), ""),
                   (re.compile(r"\\le(?![a-zA-Z])"), r"\\leq"), (re.compile(r"\\ge(?![a-zA-Z])"), r"\\geq"),
                   (re.compile(r"\\ne(?![a-zA-Z])"), r"\\neq"), (re.compile(r"\\[lr]Vert(?![a-zA-Z])"), r"\\|"),
                   (re.compile(r"\\tfrac(?![a-zA-Z])"), r"\\frac")]


def check_master_text(master):
    """Fail on control characters in a master and on LaTeX in its markdown that does not parse.

    Returns:
        A list of problems, `path:line: message` (empty when clean).
    """
    problems = []
    text = Path(master).read_text(encoding="utf-8")
    for number, line in enumerate(text.split("\n"), 1):
        for match in CONTROL_CHARS.finditer(line):
            problems.append(f"{master}:{number}: control character {match.group()!r} (a \\t, \\f, \\b, \\v or \\x.. "
                            f"escape in a normal string? use a raw string or \\\\)")
    from matplotlib.mathtext import MathTextParser

    parser = MathTextParser("path")
    cells = jupytext.reads(text, fmt="py:percent").cells
    problems += check_raw_cells(master, cells)
    for cell in cells:
        if cell.cell_type != "markdown":
            continue
        prose = re.sub(r"`[^`]*`", "", cell.source)  # code spans may hold dollar signs
        for span in MATH_SPAN.finditer(prose):
            tex = span.group(1) if span.group(1) is not None else span.group(2)
            for pattern, replacement in MATHJAX_ALIASES:
                tex = pattern.sub(replacement, tex)
            try:
                parser.parse(f"${tex}$")
            except Exception as error:  # pyparsing's ParseException family
                detail = str(error).strip().splitlines()[-1]
                problems.append(f"{master}: LaTeX does not parse: ${span.group(0).strip('$')}$: {detail}")
    return problems


def check_raw_cells(master, cells):
    """A raw cell is an otter delimiter and nothing else: the delimiter line, then YAML where
    otter reads it (`ASSIGNMENT CONFIG`, `BEGIN QUESTION`). Prose left in a raw cell (a
    markdown section typed after `# END QUESTION` without a `# %% [markdown]` line) is
    dropped by otter without a word, so it fails here.

    Returns:
        A list of problems (empty when clean).
    """
    import yaml

    problems = []
    for cell in cells:
        if cell.cell_type != "raw":
            continue
        lines = cell.source.strip().split("\n")
        match = DELIMITER.fullmatch(lines[0].strip())
        rest = "\n".join(lines[1:]).strip()
        first = lines[0].strip()[:60]
        if not match:
            problems.append(f"{master}: a raw cell must be an otter delimiter (# BEGIN QUESTION, ...). "
                            f"Received: {first!r}")
        elif match.group(1).upper() in WITH_YAML:
            try:
                parsed = yaml.safe_load(rest) if rest else {}
            except yaml.YAMLError:
                parsed = None
            if not isinstance(parsed, dict):
                problems.append(f"{master}: the raw cell {first!r} may hold only its YAML settings; it holds "
                                f"other text (start prose with a `# %% [markdown]` line): {rest[:80]!r}")
        elif rest:
            problems.append(f"{master}: the raw cell {first!r} may hold only its delimiter; otter drops the "
                            f"rest (start prose with a `# %% [markdown]` line): {rest[:80]!r}")
    return problems


def stem_of(path):
    return Path(path).stem


def select(stages):
    """Master paths for stage prefixes like `02` (all stages when empty)."""
    masters = config.stages()
    if not stages:
        return masters
    chosen = [m for m in masters if any(m.name.startswith(s) for s in stages)]
    missing = [s for s in stages if not any(m.name.startswith(s) for m in masters)]
    if missing:
        raise SystemExit(f"Expected stage prefixes of {[m.stem for m in masters]}. Received: {missing}")
    return chosen


def master_notebook(master):
    """Read a master with jupytext, check it, prepend the badge and the setup cell."""
    problems = check_master_text(master)
    if problems:
        raise SystemExit("\n".join(problems))
    nb = jupytext.read(master)
    if "kernelspec" not in nb.metadata:
        raise SystemExit(f"{master}: the jupytext header needs a kernelspec (`jupytext --set-kernel python3`)")
    stem = stem_of(master)
    prefix = "q" + stem[:2] + "_"
    for cell in nb.cells:
        if cell.cell_type == "raw" and re.match(r"#\s*BEGIN\s+QUESTION", cell.source, re.I):
            name = QUESTION_NAME.search(cell.source)
            if not name or not name.group(1).startswith(prefix):
                raise SystemExit(f"{master}: question names must start with {prefix!r} (public tests share "
                                 f"one folder). Received: {cell.source!r}")
    add_own_work_notes(nb, stem)
    add_reading_list(nb, stem)
    badge = nbformat.v4.new_markdown_cell(BADGE_SOURCE.format(url=config.colab_url(stem)))
    setup = nbformat.v4.new_code_cell(SETUP_SOURCE.format(url=config.repo_url(), branch=config.BRANCH))
    nb.cells[:0] = [badge, setup]
    nb.metadata.pop("jupytext", None)
    return nb


def own_work_note(check):
    """The sentence a student reads beside an autograded exercise: what the answer may use.

    Generated from the exercise's `Check` (`uses`, `allowed`, `forbidden`: the allow-list the
    grader enforces), so the notebook and the grader say the same thing.
    """
    allowed = ", ".join(f"`{name}`" for name in check.allowed)
    direct = list(dict.fromkeys(name.replace("tensorflow.", "tf.") for name in check.forbidden
                                if not name.startswith("robustkeras.")))
    text = (f"*Your own work:* this answer may use {check.uses}"
            + (f" (from the library: {allowed} only)" if allowed and "robustkeras" not in check.uses else "")
            + f", and the functions you wrote above. Every {'other ' if allowed else ''}function of `robustkeras` "
            "is switched off while it is graded, and an answer that reaches one (directly or not) scores zero here")
    if direct:
        text += "; so does one that calls " + ", ".join(f"`{name}`" for name in direct[:6]) + \
            (" or a similar function that computes the answer for you" if len(direct) > 6 else "")
    return text + "."


def add_own_work_notes(nb, stem):
    """After each autograded question's first prompt cell, say what its answer may use.

    The note comes from the question's check in `course/checks` (its allow-list, as data), so a
    library rename updates the checks and the notebooks together.
    """
    from course.checks import stage_checks

    checks = {check.question: check for check in stage_checks(stem)}
    question, cells = None, []
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type == "raw" and re.match(r"#\s*BEGIN\s+QUESTION", cell.source, re.I):
            match = QUESTION_NAME.search(cell.source)
            question = match.group(1) if match else None
        elif question and cell.cell_type == "markdown":
            if question in checks:
                cells.append(nbformat.v4.new_markdown_cell(own_work_note(checks[question])))
            question = None
    nb.cells = cells


def add_reading_list(nb, stem):
    """Under the stage's title cell (its first markdown cell): the papers (with sections), the
    Keras guides and the library's API reference it builds on (`course/config.py`, one base URL)."""
    first = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown")
    nb.cells.insert(first + 1, nbformat.v4.new_markdown_cell(config.reading_list(stem)))


def normalise(nb, stem):
    """Deterministic cell ids and metadata, no outputs: rebuilds are byte-identical."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for i, cell in enumerate(nb.cells):
        cell.id = hashlib.sha1(f"{stem}:{i}".encode()).hexdigest()[:12]
        for key in ("lines_to_next_cell", "execution"):  # jupytext / runtime bookkeeping
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("jupytext", None)
    nb.metadata.pop("language_info", None)
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def write_notebook(nb, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")


def requirements():
    """What the Gradescope image installs: robustkeras from the same single source."""
    return f"robustkeras[grading] @ git+{config.repo_url()}@{config.BRANCH}\n"


def _children_cpu():
    """CPU seconds (user + sys) of all finished child processes, kernels included."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def assign(master, work, *, run_tests=True, verbose=False):
    """Run `otter assign` on one master inside `work`.

    Returns:
        `(result folder, wall seconds, CPU seconds of otter and the kernel)`.
    """
    stem = stem_of(master)
    work.mkdir(parents=True, exist_ok=True)
    nbformat.write(master_notebook(master), work / f"{stem}.ipynb")
    (work / "assign.yaml").write_text(ASSIGN_CONFIG.format(marker=config.GRADING_MARKER))
    (work / "requirements.txt").write_text(requirements())
    (work / config.GRADING_MARKER).write_text("1\n")
    start = time.time()
    if not run_tests:  # nothing executes: run otter in this process (no start-up cost per stage)
        from otter.assign import main as otter_assign

        otter_assign(str(work / f"{stem}.ipynb"), str(work / "out"), no_run_tests=True, no_pdfs=True)
        return work / "out", time.time() - start, 0.0
    env = {**os.environ, config.GRADING_ENV: "1", "PYTHONHASHSEED": "0"}
    cmd = [sys.executable, "-m", "otter", "assign", f"{stem}.ipynb", "out"]
    before = _children_cpu()
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=not verbose, text=True)
    if proc.returncode:
        raise SystemExit(f"otter assign failed for {stem}:\n{proc.stdout}\n{proc.stderr}")
    return work / "out", time.time() - start, _children_cpu() - before


def build_stage(master, *, notebooks_dir, dist_dir, run_tests=True, verbose=False, hidden_tests=None):
    """Build one stage; return a summary dict.

    `hidden_tests`: a folder of extra instructor tests `qNN_*.py` merged into the autograder zip.
    """
    stem = stem_of(master)
    with tempfile.TemporaryDirectory(prefix=f"build-{stem}-") as tmp:
        out, seconds, cpu = assign(master, Path(tmp), run_tests=run_tests, verbose=verbose)
        student = nbformat.read(out / "student" / f"{stem}.ipynb", as_version=4)
        write_notebook(normalise(student, stem), notebooks_dir / f"{stem}.ipynb")
        tests_dir = notebooks_dir / "tests"
        tests_dir.mkdir(parents=True, exist_ok=True)
        for old in tests_dir.glob(f"q{stem[:2]}_*.py"):
            old.unlink()
        public = sorted((out / "student" / "tests").glob("*.py"))
        for test in public:
            shutil.copy(test, tests_dir / test.name)
        zips = sorted((out / "autograder").glob("*-autograder_*.zip"))
        dist_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(zips[-1], dist_dir / f"{stem}-autograder.zip")
        if hidden_tests:
            from course.otter_run import with_hidden_tests

            merged = with_hidden_tests(zips[-1], hidden_tests, stem, Path(tmp) / "merged.zip")
            shutil.copy(merged, dist_dir / f"{stem}-autograder.zip")
        (dist_dir / "solutions").mkdir(exist_ok=True)
        shutil.copy(out / "autograder" / f"{stem}.ipynb", dist_dir / "solutions" / f"{stem}.ipynb")
    return {"stage": stem, "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), "public_tests": [t.stem for t in public],
            "executed": run_tests}


def diff_trees(a, b):
    """Unified diffs between the files of two folders (empty when identical)."""
    names = sorted({p.relative_to(a) for p in a.rglob("*") if p.is_file()}
                   | {p.relative_to(b) for p in b.rglob("*") if p.is_file()})
    out = []
    for name in names:
        x = (a / name).read_text().splitlines() if (a / name).is_file() else []
        y = (b / name).read_text().splitlines() if (b / name).is_file() else []
        if x != y:
            out += list(difflib.unified_diff(x, y, f"committed/{name}", f"rebuilt/{name}", lineterm=""))[:40]
    return out


def check_release_repository():
    """Refuse a release whose Colab badges and setup cells point at the placeholder repository."""
    repository = config.REPOSITORY
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+", repository or ""):
        raise SystemExit(f"Expected `REPOSITORY` in course/config.py to be a GitHub 'owner/name'. "
                         f"Received: REPOSITORY={repository!r}")
    if repository == config.PLACEHOLDER_REPOSITORY:
        raise SystemExit(f"course/config.py: REPOSITORY is still the placeholder {repository!r}, which "
                         f"nobody chose and may not exist. Set it to the GitHub 'owner/name' students "
                         f"should install from, then run `python course/build.py --release` again.")
    print(f"release: Colab badges, setup cells and the Gradescope requirements point to "
          f"{config.repo_url()} (branch {config.BRANCH})", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stages", nargs="*", help="stage prefixes, e.g. 00 03 (default: all)")
    parser.add_argument("--no-run-tests", action="store_true", help="do not execute the solutions")
    parser.add_argument("--check", action="store_true",
                        help="rebuild into a temporary folder and fail if notebooks/ differs")
    parser.add_argument("--notebooks-dir", type=Path, default=config.NOTEBOOKS)
    parser.add_argument("--dist-dir", type=Path, default=config.DIST)
    parser.add_argument("--hidden-tests", type=Path, default=None,
                        help="folder of extra instructor tests qNN_*.py to add to the autograder zips")
    parser.add_argument("--release", action="store_true",
                        help="refuse a REPOSITORY left at the placeholder; say where badges and setup cells point")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    masters = select(args.stages)
    if args.release:
        check_release_repository()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "notebooks"
            for m in masters:
                build_stage(m, notebooks_dir=fresh, dist_dir=Path(tmp) / "dist", run_tests=False)
            committed = Path(tmp) / "committed"
            committed.mkdir()
            for m in masters:
                src = args.notebooks_dir / f"{m.stem}.ipynb"
                if src.is_file():
                    shutil.copy(src, committed / src.name)
                (committed / "tests").mkdir(exist_ok=True)
                for t in (args.notebooks_dir / "tests").glob(f"q{m.stem[:2]}_*.py"):
                    shutil.copy(t, committed / "tests" / t.name)
            diffs = diff_trees(committed, fresh)
        if diffs:
            print("\n".join(diffs))
            raise SystemExit("notebooks/ is stale: run `python course/build.py` and commit notebooks/")
        print(f"notebooks/ matches a fresh build of {len(masters)} stage(s)")
        return 0
    for m in masters:
        summary = build_stage(m, notebooks_dir=args.notebooks_dir, dist_dir=args.dist_dir,
                              run_tests=not args.no_run_tests, verbose=args.verbose,
                              hidden_tests=args.hidden_tests)
        print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
