"""Grade a folder of course submissions like a judge: the student's code never shares a process
with a verdict.

    python course/grade.py SUBMISSIONS_DIR [--jobs N] [--seed S] [--out DIR] [--trusted]

Submissions are `SUBMISSIONS_DIR/<student>/<NN_topic>.ipynb` (or `<student>.ipynb` directly in
the folder; the stage comes from the notebook's otter metadata, else from its file name).

Per notebook, in the grader's own process:

1. Own work, read without running it (`course.checks.notebook.own_work_violations`): an answer
   that reaches the library's reference implementation scores zero for that question.
2. ONE sandboxed run (`course/sandbox.py`: bubblewrap, namespaces, unprivileged uid, limits)
   of `course/probe_runner.py`, which loads only the notebook's imports and definitions (its
   top-level calls never run) and calls each question's probe on inputs built from this run's
   grading seed; the raw outputs come back as npz bytes through a pipe. A question whose run
   kills its process scores zero and a fresh sandbox goes on with the next question.
3. Each output is loaded with `np.load(allow_pickle=False)`, checked against the schema
   (`course.checks.validate_outputs`) and judged by the question's verdict
   (`course/checks/sNN_topic.py`), here, outside the sandbox. Missing, malformed, forged or
   wrong outputs score zero; a crash, a time-out or a memory blow-up too.

The seed is fresh per run and written to grades.json: `--seed` reproduces a run. Writes
`grades.json` (seed, every row, per-notebook timings) and `grades.csv` (student, stage, notebook,
exercise, points, message) into `--out` (default: SUBMISSIONS_DIR); an interrupted run writes
`grades.partial.json/csv` instead and leaves a complete earlier result in place.
"""

import argparse
import atexit
import csv
import io
import json
import math
import os
import queue
import secrets
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the verdicts' TensorFlow: less start-up chatter
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from course import config, probe_runner, sandbox  # noqa: E402

# What the sandbox sees of the course: the runner, the check format and loader, the probes
# (never the verdicts, the solutions or anything else of the repository).
RUNNER_FILES = ("__init__.py", "probe_runner.py", "checks/__init__.py", "checks/notebook.py", "checks/probes")
INSIDE = "/opt/grader"
VERDICTS = threading.Lock()  # one verdict at a time: references may seed Keras's global generator
MAX_NOTEBOOK_MB = 50  # read by the grader's own process (JSON): larger ones score zero
LOAD_TIME_LIMIT_S = 300  # loading a notebook (imports: TensorFlow on a loaded machine) has its own limit
MAX_CODE_KB = 256     # code cells read as an AST by the grader's own process: more scores zero
MAX_PROCESSES = 32  # a probe needs one or two; a fork flood is stopped before it starves the other sandboxes
_LIBRARIES, _LIBRARY_LOCK = {}, threading.Lock()  # stage -> folder holding its stubbed copy of robustkeras


def library_copy(stage):
    """The folder holding `robustkeras` as the sandbox of `stage` imports it: a copy whose forbidden
    names (over all the stage's checks), and every definition its allow-list does not need, are
    stubs (`course.checks.stubbed`). Built once per stage
    and grading run, in a temporary folder removed at exit."""
    from course.checks import stage_allowed, stage_checks
    from course.checks.stubbed import stubbed_copy

    with _LIBRARY_LOCK:
        if stage not in _LIBRARIES:
            folder = tempfile.mkdtemp(prefix=f"grade-lib-{stage}-")
            atexit.register(shutil.rmtree, folder, True)
            os.chmod(folder, 0o755)
            stubbed_copy(sorted({n for c in stage_checks(stage) for n in c.forbidden}), folder,
                         allowed=stage_allowed(stage))
            _LIBRARIES[stage] = folder
        return _LIBRARIES[stage]


# --------------------------------------------------------------------------- discovery
def stage_of(path, known):
    """The stage of a submission: otter metadata, else a stage name in its file name."""
    try:
        if Path(path).stat().st_size > MAX_NOTEBOOK_MB * 2**20:
            raise ValueError("too large to read")
        name = json.loads(Path(path).read_text(encoding="utf-8"))["metadata"]["otter"]["assignment_name"]
        if name in known:
            return name
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return next((stem for stem in known if stem in Path(path).name), None)


def discover(folder, known):
    """`(student, stage, path, refused)` for every notebook in `folder`; `refused` is None or why
    it is not graded (it then scores zero).

    Symbolic links are refused, never followed (the grader may run as root: a link could make it
    grade, and copy into a sandbox, any file of the machine), and so is a file whose real path
    leaves `folder`.
    """
    found, root = [], Path(folder).resolve()

    def student_of(path):
        rel = path.relative_to(folder)
        return rel.parts[0] if len(rel.parts) > 1 else path.stem

    for here, dirs, files in os.walk(folder, followlinks=False):
        here = Path(here)
        for name in sorted(dirs):
            if (here / name).is_symlink() and not name.startswith(".") and name != "__MACOSX":
                found.append((student_of(here / name / "x"), None, here / name,
                              f"{name}: a symbolic link, not graded (submit the notebooks themselves)"))
        # hidden folders (.ipynb_checkpoints) and macOS archive junk (__MACOSX, ._name) are not submissions
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX" and not (here / d).is_symlink())
        for name in sorted(files):
            path = here / name
            if not name.endswith(".ipynb") or name.startswith("."):
                continue
            if path.is_symlink() or not path.resolve().is_relative_to(root):
                found.append((student_of(path), None, path, f"{name}: a symbolic link, not graded "
                                                            "(submit the notebook itself)"))
                continue
            found.append((student_of(path), stage_of(path, known), path, None))
    return sorted(found, key=lambda item: (str(item[2]), item[0]))


# --------------------------------------------------------------------------- probing
def probe(path, stage, checks, seed, args, slot):
    """Run the probes of `checks` on one notebook; `{question: ("result", npz) | ("error", message)}`.

    One sandbox normally; when a question kills it (or runs past `--question-time-limit`), that
    question gets an error and a fresh sandbox probes the questions after it.
    """
    from course.checks import probe_module

    questions = [c.question for c in checks]
    forbidden = sorted({name for c in checks for name in c.forbidden})
    results, deadline = {}, time.time() + args.time_limit
    with tempfile.TemporaryDirectory(prefix="grade-job-") as job:
        os.chmod(job, 0o755)  # the sandbox's uid reads it (read-only inside)
        shutil.copy(path, Path(job) / "submission.ipynb")
        os.chmod(Path(job) / "submission.ipynb", 0o644)
        while questions:
            job_file = Path(job) / "job.json"
            job_file.write_text(json.dumps({"notebook": "submission.ipynb", "questions": questions, "seed": seed,
                                            "probes": probe_module(stage), "forbidden": forbidden}))
            job_file.chmod(0o644)
            got, started, done, why = run_runner(job, questions, args, slot, deadline - time.time(),
                                                 library_copy(stage))
            results.update(got)
            if done or why == "timeout" or why == "interrupted":
                break
            lost = [q for q in started if q not in got]
            if not lost:  # it died before its first probe: loading the notebook kills it
                for q in questions:
                    results.setdefault(q, ("error", f"the notebook's definitions could not be loaded ({why})"))
                break
            results[lost[-1]] = ("error", f"the probe's process ended before a result ({why})")
            questions = questions[questions.index(lost[-1]) + 1:]
        for q in questions:
            results.setdefault(q, ("error", {"timeout": f"stopped after {args.time_limit:g} s (time limit)",
                                             "interrupted": "grading was interrupted"}.get(why, "no result")))
    return results


def run_runner(job, questions, args, slot, seconds, library):
    """One run of the probe runner on the job folder; `(results, started, done, why)`.
    `library`: the folder holding the stubbed copy of `robustkeras` it imports."""
    env = {config.GRADING_ENV: "1", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg",
           "TF_CPP_MIN_LOG_LEVEL": "2", "OMP_NUM_THREADS": str(args.threads),
           "TF_NUM_INTRAOP_THREADS": str(args.threads), "TF_NUM_INTEROP_THREADS": "1",
           "KERAS_BACKEND": keras_backend()}
    if args.trusted:
        argv, fds = [sys.executable, str(HERE / "probe_runner.py"), str(Path(job) / "job.json")], ()
        env.update(PATH=os.environ.get("PATH", ""), HOME=job, PYTHONPATH=f"{library}:{HERE.parent}")
        argv = ["env", "-i", *[f"{k}={v}" for k, v in env.items()], *argv]
    else:
        binds = [(Path(library) / "robustkeras", "/opt/lib/robustkeras"), (job, "/job")]
        binds += [(HERE / name, f"{INSIDE}/course/{name}") for name in RUNNER_FILES]
        env["PYTHONPATH"] = f"/opt/lib:{INSIDE}"
        limits = sandbox.Limits(cpu_s=int(args.time_limit * args.threads) + 60)
        argv, fds = sandbox.command([sandbox.python_inside(), f"{INSIDE}/course/probe_runner.py", "/job/job.json"],
                                    slot=slot, ro_binds=binds, env=env, limits=limits)
    progress = Progress(questions)
    stop = lambda: ("interrupted" if args.stopping.is_set() else  # noqa: E731
                    "question time limit" if progress.overdue(args.question_time_limit, args.load_time_limit)
                    else None)
    result = sandbox.run(argv, fds, time_limit=max(1.0, seconds), memory_mb=args.memory_limit,
                         max_processes=MAX_PROCESSES, on_stdout=progress.feed, stop=stop)
    results, started, done = probe_runner.parse(result.stdout, questions)
    why = {"timeout": "timeout", "memory": f"more than {args.memory_limit:g} MB of memory",
           "output": "too much output", "processes": f"more than {MAX_PROCESSES} processes",
           "question time limit": f"over {args.question_time_limit:g} s" if progress.current != "(loading)" else
           f"loading took over {args.load_time_limit:g} s",
           "interrupted": "interrupted"}.get(result.reason, f"exit code {result.returncode}")
    return results, started, done, why


class Progress:
    """Follows the runner's frames as they arrive: which question runs, since when."""

    def __init__(self, questions):
        self.data, self.pos, self.questions = bytearray(), 0, questions
        self.current, self.since = "(loading)", time.time()  # loading the notebook has a limit of its own

    def feed(self, chunk):
        self.data += chunk
        for header, _, end in probe_runner.frames(self.data, self.pos):
            self.pos = end
            self.current = header["question"] if header["kind"] == "start" else None
            self.since = time.time()

    def overdue(self, seconds, load_seconds):
        """Whether the current question ran past `seconds` (loading, before any: `load_seconds`)."""
        limit = load_seconds if self.current == "(loading)" else seconds
        return self.current is not None and time.time() - self.since > limit


def keras_backend():
    """The instructor's Keras backend (environment, else ~/.keras/keras.json, else tensorflow)."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    try:
        home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
        return json.loads((home / "keras.json").read_text())["backend"]
    except (OSError, ValueError, KeyError, TypeError):
        return "tensorflow"


# --------------------------------------------------------------------------- judging
def load_outputs(payload):
    """The arrays of a result's npz bytes, read only after the archive is known to be small.

    Before anything is decompressed or allocated: every member is stored (not compressed: a
    deflated member of 1 MB can hold GBs), at most `MAX_KEYS` of them, and each `.npy` header
    declares a plain numeric dtype and at most `MAX_ELEMENTS` elements, at most
    `MAX_TOTAL_BYTES` together. `validate_outputs` then checks the loaded arrays again.

    Raises:
        ValueError: (or a zip/npy error) for anything else.
    """
    from course.checks import MAX_ELEMENTS, MAX_KEYS, MAX_TOTAL_BYTES

    buffer = io.BytesIO(payload)
    with zipfile.ZipFile(buffer) as archive:
        members = archive.infolist()
        if len(members) > MAX_KEYS:
            raise ValueError(f"Expected at most {MAX_KEYS} arrays. Received: {len(members)}")
        total = 0
        for info in members:
            if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
                raise ValueError(f"Expected stored (uncompressed) members. Received: {info.filename!r} compressed")
            with archive.open(info) as f:
                version = np.lib.format.read_magic(f)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = read(f)
            count = math.prod(shape)
            if dtype.hasobject or dtype.kind not in "biuf" or count > MAX_ELEMENTS:
                raise ValueError(f"Expected numeric arrays of at most {MAX_ELEMENTS} elements. "
                                 f"Received: {info.filename!r} {dtype} {shape}")
            total += count * dtype.itemsize
            if total > MAX_TOTAL_BYTES:
                raise ValueError(f"Expected at most {MAX_TOTAL_BYTES} bytes in all. Received: more")
    with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def judge(check, result, seed):
    """`(points, message)` of one question from its probe result, in the grader's process."""
    from course.checks import validate_outputs

    kind, value = result
    if kind == "error":
        return 0.0, value or "no result"
    try:
        outputs = validate_outputs(load_outputs(value))
    except Exception:
        return 0.0, "the answer's output was not a set of plain numeric arrays"
    try:
        with VERDICTS:
            fraction, message = check.verdict(outputs, seed)
        fraction = float(fraction)
    except Exception as err:
        return 0.0, f"could not be judged ({type(err).__name__}): the output does not have the expected form"
    fraction = min(1.0, max(0.0, fraction)) if math.isfinite(fraction) else 0.0
    return round(fraction * check.points, 4), str(message or ("passed" if fraction == 1 else "failed"))[:300]


def notebook_problem(source):
    """Why a notebook's text cannot be graded (None if it can): not notebook JSON, or more code
    than the grader's own process reads as an AST (`MAX_CODE_KB`)."""
    from course.checks.notebook import code_cells

    try:
        nb = json.loads(source)
        if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
            raise ValueError("no cells")
    except ValueError:
        return "not a valid notebook (its JSON cannot be read): submit the .ipynb file Jupyter saved"
    size = sum(len(cell) for cell in code_cells(source))
    if size > MAX_CODE_KB * 1024:
        return (f"the notebook's code cells hold {size // 1024} KB, more than {MAX_CODE_KB} KB: "
                "remove large literals (load data from files instead)")
    return None


def grade_notebook(student, stage, path, seed, args, slot):
    """Rows `{student, exercise, points, possible, message}` of one notebook, and its summary."""
    from course.checks import stage_checks
    from course.checks.notebook import definition_statements, own_work_violations

    start, checks = time.time(), stage_checks(stage)

    def refuse(message):  # every question zero, with one reason
        return [{"student": student, "exercise": c.question, "points": 0.0, "possible": c.points,
                 "message": message} for c in checks], \
            {"student": student, "stage": stage, "notebook": str(path), "seconds": round(time.time() - start, 1)}

    if Path(path).stat().st_size > MAX_NOTEBOOK_MB * 2**20:
        return refuse(f"the notebook is larger than {MAX_NOTEBOOK_MB} MB: clear its outputs")
    source = Path(path).read_text(encoding="utf-8", errors="replace")
    refused = notebook_problem(source)
    if refused:
        return refuse(refused)
    try:
        statements = definition_statements(source)   # parsed once, for every question
    except (RecursionError, MemoryError, ValueError) as err:
        statements = err
    violations = {}
    for check in checks:
        try:
            if isinstance(statements, Exception):
                raise statements
            violations[check.question] = own_work_violations(source, check.names, check.forbidden,
                                                             allowed=check.allowed, statements=statements)
        except Exception as err:  # a notebook the reader cannot follow is not graded as own work
            violations[check.question] = [f"the answer could not be read ({type(err).__name__})"]
    results = probe(path, stage, [c for c in checks if not violations[c.question]], seed, args, slot)
    rows = []
    for check in checks:
        if violations[check.question]:
            points, message = 0.0, "own work: " + " ".join(violations[check.question])[:300]
        else:
            points, message = judge(check, results[check.question], seed)
        rows.append({"student": student, "exercise": check.question, "points": points,
                     "possible": check.points, "message": message})
    return rows, {"student": student, "stage": stage, "notebook": str(path), "seconds": round(time.time() - start, 1)}


# --------------------------------------------------------------------------- the run
def parse_args(argv):
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("submissions", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="where grades.json/csv go (default: SUBMISSIONS)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="notebooks graded at once")
    parser.add_argument("--seed", type=int, default=None, help="grading seed (default: a fresh random one)")
    parser.add_argument("--time-limit", type=float, default=config.TIME_LIMIT_S, help="seconds per notebook")
    parser.add_argument("--question-time-limit", type=float, default=config.QUESTION_TIME_LIMIT_S,
                        help="seconds per question's probe")
    parser.add_argument("--load-time-limit", type=float, default=LOAD_TIME_LIMIT_S,
                        help="seconds to load a notebook's imports and definitions, before its first probe")
    parser.add_argument("--memory-limit", type=float, default=config.MEMORY_LIMIT_MB,
                        help="MB resident per notebook (the whole sandbox)")
    parser.add_argument("--trusted", action="store_true",
                        help="run without the sandbox (only where each submission already has a container "
                             "of its own, e.g. Gradescope's); limits of time and memory still apply")
    parser.add_argument("--hidden-tests", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.hidden_tests:
        parser.error("--hidden-tests: otter test files ran inside the student's process and are no longer "
                     "used for marks; write a Check instead (course/README.md, 'Adding a hidden check')")
    if args.jobs < 1:
        parser.error(f"Expected --jobs >= 1. Received: {args.jobs}")
    args.submissions = args.submissions.resolve()
    if not args.submissions.is_dir():
        parser.error(f"Expected a folder of notebooks. Received: {args.submissions}")
    args.out = (args.out or args.submissions).resolve()
    args.threads = max(1, (os.cpu_count() or 1) // args.jobs)
    args.seed = secrets.randbelow(2**31) if args.seed is None else args.seed
    args.stopping = threading.Event()
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not args.trusted:
        ok, why = sandbox.available()
        if not ok:
            raise SystemExit(f"Cannot sandbox the submissions: {why}.\nGrade inside a container per submission "
                             "(Gradescope) and pass --trusted there, or install bubblewrap.")
    known = [m.stem for m in config.stages()]
    found = discover(args.submissions, known)
    seen = {}
    for student, stage, path, refused in found:
        if stage and not refused:
            seen.setdefault((student, stage), []).append(str(path.relative_to(args.submissions)))
    for (student, stage), paths in sorted(seen.items()):
        if len(paths) > 1:
            print(f"warning: {student} has {len(paths)} notebooks of {stage} ({', '.join(paths)}): each is graded, "
                  "see the notebook column of grades.csv", file=sys.stderr, flush=True)
    from course.checks import stage_checks
    for stage in sorted({item[1] for item in found if item[1] and not item[3]}):
        stage_checks(stage)  # imports TensorFlow now: its start-up lines come before the progress lines
        library_copy(stage)  # parses the package here: CPython 3.11's AST is not safe across threads
    print(f"grading {len(found)} notebook(s) with seed {args.seed} ({args.jobs} at a time"
          f"{', UNSANDBOXED (--trusted)' if args.trusted else ''})", flush=True)
    rows, metas, slots = [], [], queue.Queue()
    for slot in range(args.jobs):
        slots.put(slot)

    def work(item):
        rows, meta = graded(item)
        for row in rows:
            row.setdefault("stage", item[1] or "")
            row["notebook"] = str(item[2].relative_to(args.submissions))
        return rows, meta

    def graded(item):
        student, stage, path, refused = item
        if refused or stage is None:
            return [{"student": student, "exercise": "?", "points": 0, "possible": 0,
                     "message": refused or f"{path.name}: not a notebook of this course"}], \
                {"student": student, "stage": None}
        slot = slots.get()
        try:
            return grade_notebook(student, stage, path, args.seed, args, slot)
        except Exception as err:  # a grader bug or a stage without checks: reported, the run goes on
            return [{"student": student, "exercise": "?", "points": 0, "possible": 0,
                     "message": f"grader error: {type(err).__name__}: {err}"[:300]}], {"student": student, "stage": stage}
        finally:
            slots.put(slot)

    pool = ThreadPoolExecutor(max_workers=args.jobs)
    futures = [pool.submit(work, item) for item in found]
    try:
        for done, future in enumerate(as_completed(futures), 1):
            got, meta = future.result()
            rows += got
            metas.append(meta)
            total, possible = sum(r["points"] for r in got), sum(r["possible"] for r in got)
            print(f"[{done}/{len(found)}] {meta['student']} {meta['stage']}: {total:g}/{possible:g}"
                  f" ({meta.get('seconds', 0):g} s)", flush=True)
    except KeyboardInterrupt:
        args.stopping.set()
        pool.shutdown(wait=True, cancel_futures=True)
        print("interrupted: the grades of the notebooks finished so far are written", file=sys.stderr)
    pool.shutdown()
    write(args, rows, metas)
    return 130 if args.stopping.is_set() else 0


def write(args, rows, metas):
    """`grades.json` and `grades.csv` into `--out`; an interrupted run writes `grades.partial.*`
    instead, so a complete earlier result there is kept."""
    rows.sort(key=lambda r: (r["student"], r.get("stage", ""), r.get("notebook", ""), r["exercise"]))
    args.out.mkdir(parents=True, exist_ok=True)
    name = "grades.partial" if args.stopping.is_set() else "grades"
    (args.out / f"{name}.json").write_text(json.dumps({"seed": args.seed, "grades": rows, "submissions": metas},
                                                      indent=1))
    with open(args.out / f"{name}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["student", "stage", "notebook", "exercise", "points", "message"],
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out / (name + '.csv')} (seed {args.seed})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
