"""Grade a folder of course submissions with otter-grader, robustly.

    python course/grade.py SUBMISSIONS_DIR [--hidden-tests PATH] [--jobs N]

Submissions are `SUBMISSIONS_DIR/<student>/<NN_topic>.ipynb` (or `<student>.ipynb`
directly in the folder; the stage then comes from the notebook's otter metadata).
Each one is graded by `otter run` against `dist/<NN_topic>-autograder.zip` (built by
`course/build.py`; it holds the public and hidden tests) in its own process group
with a time limit per cell (`course/otter_run.py`: the cell is interrupted, the next
cells run) and per notebook, and a resident-memory watchdog, in parallel up to the number of
cores. A crash, a hang, a memory blow-up or a tampered notebook costs only that
student's points for that notebook.

`otter run` executes the tests inside the student's own kernel and believes what
that kernel reports, so a hostile notebook could patch otter and forge its score.
Every submission is therefore re-checked in a fresh process the notebook never ran
in: only its imports, function and class definitions and literal constants are
loaded, and the pristine test files from the autograder zip are run against them.
A question counts the lower of the two scores.

Both processes run inside `course/sandbox.py`: on Linux, Landlock lets them write
only inside the submission's own temporary folder (its home, temp, IPython and
Jupyter folders are moved there), so a notebook cannot edit the installed library,
the course, the autograders or another student's files -- from Python, C or a
shell. A notebook that tries is reported by an audit hook and gets zero for that
stage. After each submission the library, the course and the autograders are also
checked against a snapshot taken at start, restored if changed, and the
submission gets zero (the only line of defence where Landlock is unavailable, e.g.
macOS: `--sandbox require` refuses to grade there). Still, for untrusted work at
scale a container or VM (e.g. Gradescope's) is the stronger wall.

`--hidden-tests PATH`: a folder of extra otter test files (exception format, named
`qNN_*.py`, `NN` the stage) added to the autograder of their stage; keep it out of
the repository so students never see it.

Writes `grades.json` (everything) and `grades.csv` (student, exercise, points,
message) into `--out` (default: SUBMISSIONS_DIR).
"""

import argparse
import ast
import csv
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from course import config, sandbox  # noqa: E402

STAGE = re.compile(r"(\d\d_[a-z0-9_]+)")


# --------------------------------------------------------------------------- discovery
def autograders(dist):
    """Stage stem -> autograder zip."""
    return {p.name[: -len("-autograder.zip")]: p for p in sorted(Path(dist).glob("*-autograder.zip"))}


def stage_of(path, known):
    """The stage of a submission: otter metadata, else a stage name in its file name."""
    try:
        meta = json.loads(Path(path).read_text(encoding="utf-8")).get("metadata", {})
        name = meta.get("otter", {}).get("assignment_name")
        if name in known:
            return name
    except (OSError, ValueError, AttributeError):
        pass
    for stem in known:
        if stem in Path(path).name:
            return stem
    return None


def discover(folder, known):
    """(student, stage, path) for every notebook in `folder`."""
    folder = Path(folder)
    found = []
    for path in sorted(folder.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        rel = path.relative_to(folder)
        student = rel.parts[0] if len(rel.parts) > 1 else path.stem
        found.append((student, stage_of(path, known), path))
    return found


# --------------------------------------------------------------------------- tests
def question_points(zip_path):
    """Question name -> possible points, read from the autograder's test files."""
    from otter.nbmeta_config import NBMetadataConfig
    from otter.test_files import create_test_file

    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(zip_path) as z:
            z.extractall(tmp)
        return {tf.name: tf.possible for tf in
                (create_test_file(str(p), NBMetadataConfig()) for p in sorted(Path(tmp, "tests").glob("*.py")))}


def with_hidden_tests(zip_path, hidden_dir, stage, dest):
    """A copy of `zip_path` with the instructor's extra tests for `stage` added."""
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


# --------------------------------------------------------------------------- watchdog
def run_limited(cmd, *, cwd, env, time_limit, memory_mb, log_path):
    """Run `cmd` in its own process group; kill the group on timeout or too much resident memory.

    Returns `(returncode, reason)`, reason in {None, "timeout", "memory"}.
    """
    import psutil

    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        start, reason, peak = time.time(), None, 0
        while proc.poll() is None:
            try:
                root = psutil.Process(proc.pid)
                rss = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
            except psutil.Error:
                rss = 0
            peak = max(peak, rss)
            if rss > memory_mb * 2**20:
                reason = "memory"
            elif time.time() - start > time_limit:
                reason = "timeout"
            if reason:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
                break
            time.sleep(0.25)
    return proc.returncode, reason


def grading_env(threads=None):
    """The environment of a grading process: grading mode, and a share of the cores."""
    env = {**os.environ, config.GRADING_ENV: "1", "PYTHONHASHSEED": "0"}
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), TF_NUM_INTRAOP_THREADS=str(threads),
                   TF_NUM_INTEROP_THREADS="1")
    env.pop("PYTHONPATH", None)
    return env


# --------------------------------------------------------------------------- containment
def sandboxed(cmd, env, work, mode):
    """`(cmd, env)` that run `cmd` able to write only inside `work` (see course/sandbox.py).

    Every folder a kernel writes to by default (home, temp, IPython, Jupyter runtime, caches)
    is moved inside `work`; attempted writes elsewhere are listed in `work/sandbox/writes`.
    """
    if mode == "off":
        return cmd, env
    work = Path(work)
    folders = {name: work / "sandbox" / name for name in ("home", "tmp", "ipython", "jupyter", "cache", "config")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    env = {**env, "HOME": str(folders["home"]), "TMPDIR": str(folders["tmp"]), "IPYTHONDIR": str(folders["ipython"]),
           "JUPYTER_RUNTIME_DIR": str(folders["jupyter"]), "XDG_CACHE_HOME": str(folders["cache"]),
           "XDG_CONFIG_HOME": str(folders["config"]), "MPLCONFIGDIR": str(folders["config"]),
           "KERAS_HOME": str(folders["cache"])}
    # Keep the instructor's Keras settings (backend, float type) in the moved Keras home.
    keras_json = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
    if keras_json.is_file():
        shutil.copy(keras_json, folders["cache"] / "keras.json")
    wrapper = [sys.executable, str(Path(sandbox.__file__).resolve()), "--allow", str(work),
               "--log", str(work / "sandbox" / "writes")] + (["--require"] if mode == "require" else [])
    return [*wrapper, "--", *cmd], env


def attempted_writes(work):
    """Paths outside its folder that a submission tried to change (reported by the audit hook)."""
    log = Path(work) / "sandbox" / "writes"
    return sorted({line.split("\t", 1)[-1] for line in log.read_text(errors="replace").splitlines()}) \
        if log.is_file() else []


class Snapshot:
    """The bytes of the files a submission must not change: the library, the course, the autograders.

    `changes()` lists what differs now; `restore()` puts the snapshot back.
    """

    def __init__(self, roots):
        self.roots = [Path(r) for r in roots if Path(r).exists()]
        self.files = {path: path.read_bytes() for path in self._walk()}

    def _walk(self):
        for root in self.roots:
            for path in ([root] if root.is_file() else sorted(root.rglob("*"))):
                if path.is_file() and "__pycache__" not in path.parts:
                    yield path

    def changes(self):
        now = set(self._walk())
        changed = [p for p in now if p not in self.files or p.read_bytes() != self.files[p]]
        return sorted(map(str, changed + [p for p in self.files if p not in now]))

    def restore(self):
        for path in self._walk():
            if path not in self.files:
                path.unlink()
        for path, data in self.files.items():
            if not path.is_file() or path.read_bytes() != data:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)


def protected_roots(autograder_dir):
    """What no submission may change: the robustkeras package, course/, the autograders, otter."""
    roots = [Path(__file__).resolve().parent, Path(autograder_dir)]
    for name in ("robustkeras", "otter"):
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            roots += [Path(p) for p in spec.submodule_search_locations]
    return roots


# --------------------------------------------------------------------------- re-check
KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def definitions(nb_path):
    """The imports, definitions, literal constants and aliases (`f = g`, `f = lambda ...`) of a
    notebook's code cells, as source: what graded answers may rely on, without running the notebook."""
    nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    kept = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        lines = [ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        for node in tree.body:
            cheap = isinstance(node, ast.Assign) and (
                _is_literal(node.value) or isinstance(node.value, (ast.Name, ast.Attribute, ast.Lambda)))
            if isinstance(node, KEEP) or cheap:
                if isinstance(node, (ast.Import, ast.ImportFrom)) and _imports_otter(node):
                    continue
                kept.append(ast.unparse(node))
    return kept


def _is_literal(node):
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def _imports_otter(node):
    names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
    return any(n and n.split(".")[0] == "otter" for n in names)


def recheck_worker(nb_path, tests_dir, out_path):
    """Child process: load the definitions, run the pristine tests, write per-question scores."""
    from otter.nbmeta_config import NBMetadataConfig
    from otter.test_files import create_test_file

    tests = [create_test_file(str(p), NBMetadataConfig()) for p in sorted(Path(tests_dir).glob("*.py"))]
    env = {"__name__": "__recheck__", "GRADING": True}
    for stmt in definitions(nb_path):
        try:
            exec(compile(stmt, "<submission>", "exec"), env)
        except Exception:  # a broken definition only loses its own tests
            pass
    results = {}
    for tf in tests:
        tf.run(env)
        failed = [r.message.splitlines()[-1] for r in tf.test_case_results if not r.passed]
        results[tf.name] = {"points": tf.score, "possible": tf.possible, "failed": failed}
    Path(out_path).write_text(json.dumps(results))


def recheck(nb_path, zip_path, work, *, time_limit, memory_mb, threads=None, sandbox_mode="auto"):
    tests = Path(work) / "recheck_tests"
    with zipfile.ZipFile(zip_path) as z:
        for name in z.namelist():
            if name.startswith("tests/") and name.endswith(".py"):
                tests.mkdir(parents=True, exist_ok=True)
                (tests / Path(name).name).write_bytes(z.read(name))
    out = Path(work) / "recheck.json"
    clean = Path(work) / "recheck_cwd"
    clean.mkdir()
    (clean / config.GRADING_MARKER).write_text("1\n")
    cmd, env = sandboxed(
        [sys.executable, str(Path(__file__).resolve()), "--recheck-worker", str(nb_path), str(tests), str(out)],
        grading_env(threads), work, sandbox_mode)
    code, reason = run_limited(cmd, cwd=clean, env=env, time_limit=time_limit, memory_mb=memory_mb,
                               log_path=Path(work) / "recheck.log")
    if out.is_file():
        return json.loads(out.read_text()), None
    return None, reason or f"re-check exited with code {code}"


# --------------------------------------------------------------------------- one submission
def first_failure(output):
    """A short message from an otter summary: the first failing assertion or error line."""
    lines = [ln.strip() for ln in (output or "").splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.match(r"^\w+(Error|Exception|Exit|Interrupt):", ln)]
    if errors:
        return errors[0][:300]
    failed = [ln for ln in lines if "failed" in ln.lower()]
    return failed[0][:300] if failed else ""


def grade_one(student, stage, path, zip_path, possible, args):
    rows, meta = [], {"student": student, "stage": stage, "notebook": str(path)}
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        tmp = Path(tmp)
        (tmp / "sub").mkdir()
        nb_path = tmp / "sub" / f"{stage}.ipynb"
        shutil.copy(path, nb_path)
        ag = with_hidden_tests(zip_path, args.hidden_tests, stage, tmp / "autograder.zip")
        (tmp / "out").mkdir()
        cmd, env = sandboxed(
            [sys.executable, str(Path(__file__).resolve().parent / "otter_run.py"), str(args.cell_time_limit),
             "-a", str(ag), "-o", str(tmp / "out"), "--no-logo", str(nb_path)],
            grading_env(args.threads), tmp, args.sandbox)
        code, reason = run_limited(cmd, cwd=tmp, env=env, time_limit=args.time_limit, memory_mb=args.memory_limit,
                                   log_path=tmp / "otter.log")
        results = {}
        if (tmp / "out" / "results.json").is_file():
            for t in json.loads((tmp / "out" / "results.json").read_text()).get("tests", []):
                if t.get("name") in possible:
                    results[t["name"]] = (float(t.get("score", 0)), first_failure(t.get("output")))
        problem = {"timeout": f"stopped after {args.time_limit} s (time limit)",
                   "memory": f"stopped above {args.memory_limit} MB resident memory",
                   }.get(reason) or (None if results else
                                     f"otter run failed (exit {code}): " + (tmp / "otter.log").read_text()[-300:])
        checked, check_problem = (None, None)
        if not args.no_recheck and results:
            checked, check_problem = recheck(path, ag, tmp, time_limit=args.time_limit,
                                             memory_mb=args.memory_limit, threads=args.threads,
                                             sandbox_mode=args.sandbox)
        tampered, edited = attempted_writes(tmp), []
        if args.snapshot is not None:
            with args.snapshot_lock:
                edited = args.snapshot.changes()
                if edited:
                    args.snapshot.restore()
            tampered += [f"{p} (changed; restored)" for p in edited]
        if tampered:
            problem = "tried to write outside its working folder: " + ", ".join(tampered)[:300]
            results = {q: (0.0, problem) for q in possible}
        for question, max_points in sorted(possible.items()):
            points, message = results.get(question, (0.0, problem or "not graded"))
            if results and checked is not None:
                again = checked.get(question, {"points": 0.0, "failed": ["missing from the re-check"]})
                if again["points"] + 1e-9 < points:
                    points = again["points"]
                    message = "re-check in a fresh process failed: " + "; ".join(again["failed"])[:300]
            elif results and check_problem:
                points, message = 0.0, f"re-check failed ({check_problem})"
            rows.append({"student": student, "exercise": question, "points": round(points, 4),
                         "possible": max_points, "message": message or "passed"})
    meta["seconds"] = round(time.time() - start, 1)
    meta["problem"] = problem
    return rows, meta


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--recheck-worker"]:
        recheck_worker(*argv[1:4])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("submissions", type=Path)
    parser.add_argument("--hidden-tests", type=Path, default=None,
                        help="folder of extra test files qNN_*.py added to the autograders")
    parser.add_argument("--autograders", type=Path, default=config.DIST, help="folder of *-autograder.zip")
    parser.add_argument("--out", type=Path, default=None, help="where grades.json/csv go (default: SUBMISSIONS)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--time-limit", type=float, default=config.TIME_LIMIT_S, help="seconds per notebook")
    parser.add_argument("--cell-time-limit", type=float, default=config.CELL_TIME_LIMIT_S,
                        help="seconds per cell; a slower cell is interrupted and grading goes on")
    parser.add_argument("--memory-limit", type=float, default=config.MEMORY_LIMIT_MB, help="MB resident per notebook")
    parser.add_argument("--no-recheck", action="store_true", help="trust otter's in-kernel results")
    parser.add_argument("--sandbox", choices=["auto", "require", "off"], default="auto",
                        help="write containment (Landlock): auto = where the kernel has it; "
                             "require = refuse to grade without it; off = none (trusted work only)")
    args = parser.parse_args(argv)
    if args.sandbox == "require" and sandbox.landlock_abi() < 1:
        raise SystemExit("--sandbox require: this kernel has no Landlock; grade inside a container instead.")
    args.threads = max(1, (os.cpu_count() or 1) // max(1, args.jobs)) if args.jobs > 1 else None
    zips = autograders(args.autograders)
    if not zips:
        raise SystemExit(f"No *-autograder.zip in {args.autograders}: run `python course/build.py` first.")
    possible = {stage: question_points(z) for stage, z in zips.items()}
    found = discover(args.submissions, zips)
    args.snapshot = Snapshot(protected_roots(args.autograders)) if args.sandbox != "off" else None
    args.snapshot_lock = threading.Lock()
    if args.sandbox == "auto" and sandbox.landlock_abi() < 1:
        # A change found by the snapshot check is pinned on the notebook being graded: one at a time.
        args.jobs, args.threads = 1, None
        print("warning: no Landlock on this kernel: a submission's writes are refused from Python only, and the "
              "library is compared with a snapshot and restored after each one (grading one notebook at a time); "
              "grade untrusted work in a container", file=sys.stderr)
    rows, metas, lock = [], [], threading.Lock()

    def work(item):
        student, stage, path = item
        if stage is None:
            out = ([{"student": student, "exercise": "?", "points": 0, "possible": 0,
                     "message": f"{path.name}: not a notebook of this course"}], {"student": student, "stage": None})
        else:
            try:
                out = grade_one(student, stage, path, zips[stage], possible[stage], args)
            except Exception as err:  # never let one submission stop the run
                out = ([{"student": student, "exercise": q, "points": 0, "possible": p,
                         "message": f"grader error: {err}"} for q, p in possible[stage].items()],
                       {"student": student, "stage": stage, "problem": str(err)})
        with lock:
            rows.extend(out[0])
            metas.append(out[1])
            print(f"graded {student} {stage}: "
                  f"{sum(r['points'] for r in out[0]):g}/{sum(r['possible'] for r in out[0]):g}", flush=True)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(work, found))
    rows.sort(key=lambda r: (r["student"], r["exercise"]))
    out_dir = args.out or args.submissions
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "grades.json").write_text(json.dumps({"grades": rows, "submissions": metas}, indent=1))
    with open(out_dir / "grades.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["student", "exercise", "points", "message"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out_dir / 'grades.csv'} ({len(found)} notebooks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
