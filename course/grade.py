"""Grade a folder of course submissions like a judge: the student's code never shares a process
with a verdict.

    python course/grade.py SUBMISSIONS_DIR [--jobs N] [--seed S] [--out DIR] [--trusted]
    python course/grade.py SUBMISSIONS_DIR --shard K/N --seed S --out DIR_K   # one share of N
    python course/grade.py --merge DIR_0 ... DIR_N-1 --out DIR                 # one grade book

Submissions are `SUBMISSIONS_DIR/<student>/<NN_topic>.ipynb` (or `<student>.ipynb` directly in
the folder; the stage comes from the notebook's otter metadata, else from its file name).

Per notebook, in the grader's own process:

0. The file is read once, within limits of size, cells, JSON nesting, code and CPU time
   (`course/submission.py`): a notebook past one scores zero for its stage, with a message, and
   the batch goes on. The sandbox gets only its code cells.
1. Own work, read without running it (`course.checks.notebook.own_work_violations`): an answer
   that reaches the library's reference implementation scores zero for that question.
2. ONE sandboxed run (`course/sandbox.py`: bubblewrap, namespaces, unprivileged uid, limits)
   of `course/probe_runner.py`, which loads only the notebook's imports and definitions (its
   top-level calls never run) and calls each question's probe on inputs built from this run's
   grading seed; the raw outputs come back as npz bytes through a pipe, an error as a message
   identifier and fields. A question whose run kills its process scores zero and a fresh
   sandbox goes on with the next question.
3. Each output is loaded with `np.load(allow_pickle=False)`, checked against the schema
   (`course.checks.validate_outputs`) and judged by the question's verdict
   (`course/checks/sNN_topic.py`), here, outside the sandbox. Missing, malformed, forged or
   wrong outputs score zero; a crash, a time-out or a memory blow-up too. Every message is
   rendered here, from the grader's own templates; text the student's code produced is shown
   quoted and labelled (`your code raised ValueError: "..."`), cut short, with the seed, the
   sandbox's uid and the grader's paths removed.

The seed is fresh per run and written to grades.json: `--seed` reproduces a run. Writes
`grades.json` (seed, every row, per-notebook timings) and `grades.csv` (student, stage, notebook,
exercise, points, message) into `--out` (default: SUBMISSIONS_DIR), each atomically; a CSV cell
that a spreadsheet would run as a formula is escaped, and a name that is not UTF-8 is written
with `\\xNN` escapes. An interrupted run writes `grades.partial.json/csv` instead and leaves a
complete earlier result in place.
"""

import argparse
import atexit
import csv
import hashlib
import io
import json
import math
import os
import queue
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import traceback
import zipfile
from typing import NamedTuple
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the verdicts' TensorFlow: less start-up chatter
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from course import config, probe_runner, sandbox  # noqa: E402
from course.submission import MAX_READ_CPU_S, Submission, read_submission  # noqa: E402

# What the sandbox sees of the course: the runner, the check format and loader, the probes
# (never the verdicts, the solutions or anything else of the repository).
RUNNER_FILES = ("__init__.py", "probe_runner.py", "checks/__init__.py", "checks/notebook.py", "checks/probes")
INSIDE = "/opt/grader"
VERDICTS = threading.Lock()  # one verdict at a time: references may seed Keras's global generator
LOAD_TIME_LIMIT_S = 300  # loading a notebook (imports: TensorFlow on a loaded machine) has its own limit
MAX_QUOTE = 120  # characters of the student's own text (an exception's message) shown in a message
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
class Found(NamedTuple):
    """One notebook file of the submissions folder.

    `refused` is None or why it is not graded at all (a symbolic link); `submission` is the file
    read once (`course.submission.read_submission`), None when refused."""

    student: str
    stage: str | None
    path: Path
    refused: str | None
    submission: Submission | None = None


def discover(folder, known):
    """A `Found` for every notebook in `folder`, each file read once within the limits of
    `course/submission.py` (a file past them is kept: it scores zero with the reason).

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
                found.append(Found(student_of(here / name / "x"), None, here / name,
                                   f"{name}: a symbolic link, not graded (submit the notebooks themselves)"))
        # hidden folders (.ipynb_checkpoints) and macOS archive junk (__MACOSX, ._name) are not submissions
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX" and not (here / d).is_symlink())
        for name in sorted(files):
            path = here / name
            if not name.endswith(".ipynb") or name.startswith("."):
                continue
            if path.is_symlink() or not path.resolve().is_relative_to(root):
                found.append(Found(student_of(path), None, path, f"{name}: a symbolic link, not graded "
                                                                  "(submit the notebook itself)"))
                continue
            submission = read_submission(path, known)
            found.append(Found(student_of(path), submission.stage, path, None, submission))
    return sorted(found, key=lambda item: (str(item.path), item.student))


# --------------------------------------------------------------------------- probing
def probe(submission, stage, checks, seed, args, slot):
    """Run the probes of `checks` on one notebook; `{question: ("result", npz) | ("error", message)}`
    (a message from the sandbox is a dict of identifier and fields: `render_error`).

    The sandbox gets `submission.source` (the code cells only), never the submitted file.

    One sandbox normally; when a question kills it (or runs past `--question-time-limit`), that
    question gets an error and a fresh sandbox probes the questions after it.
    """
    from course.checks import probe_module

    questions = [c.question for c in checks]
    forbidden = sorted({name for c in checks for name in c.forbidden})
    results, deadline = {}, time.time() + args.time_limit
    with tempfile.TemporaryDirectory(prefix="grade-job-") as job:
        os.chmod(job, 0o755)  # the sandbox's uid reads it (read-only inside)
        (Path(job) / "submission.ipynb").write_text(submission.source, encoding="utf-8")
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


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\[\]]{0,79}$")  # a field of a message: a name, never text


class Secrets:
    """What a message must never show the student: the seed, the sandbox's uid, the grader's
    paths and its grading flag (`scrub` replaces each with `[hidden]`).

    Example:
        >>> Secrets(seed=1234567, uids=[1000007]).scrub("seed=1234567 uid 1000007")
        'seed=[hidden] uid [hidden]'
    """

    def __init__(self, seed, uids=(), paths=()):
        numbers = {str(int(seed)), hex(int(seed)), *(str(int(u)) for u in uids)}
        self.numbers = re.compile("|".join(rf"(?<![0-9a-fA-Fx]){re.escape(n)}(?![0-9a-fA-F])"
                                           for n in sorted(numbers, key=len, reverse=True) if len(n) >= 3) or "(?!)")
        words = {*map(str, paths), str(HERE.parent), INSIDE, "/opt/lib", "/job", sandbox.VENV, sandbox.HOME,
                 sys.prefix, tempfile.gettempdir() + "/grade-", config.GRADING_ENV}
        self.words = re.compile("|".join(re.escape(w) + r"[^\s'\"`]*"  # a path: the whole of it
                                         for w in sorted((w for w in words if len(w) > 3), key=len, reverse=True)))

    def scrub(self, text):
        return self.numbers.sub("[hidden]", self.words.sub("[hidden]", text))


def quoted(text, secrets):
    """The student's own text (an exception's message), as a message shows it: one line, the
    secrets removed, at most `MAX_QUOTE` characters, in double quotes it cannot close."""
    text = " ".join(str(text).split())
    text = secrets.scrub(text).replace('"', "'")
    text = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", "?", text)
    return '"' + (text[:MAX_QUOTE] + "..." if len(text) > MAX_QUOTE else text) + '"'


def render_error(error, secrets):
    """The student-facing line for an error the sandbox reported, rendered here from the
    grader's own templates (`course.checks.probes._common.MESSAGES`): `error` is
    `{"id": ..., "fields": {...}}` as it came (untrusted). A field that is not a plain name
    shows as `?`; the `raised` field (the student's text) is shown quoted and labelled.

    Example:
        >>> render_error({"id": "raised", "fields": {"type": "ValueError", "raised": "=1+1"}}, Secrets(0))
        'your code raised ValueError: "=1+1"'
    """
    from course.checks.probes._common import MESSAGES

    if not isinstance(error, dict) or error.get("id") not in MESSAGES or not isinstance(error.get("fields"), dict):
        return "no usable result: the probe's report was not one the grader sends"
    fields = error["fields"]

    def name(key):
        value = fields.get(key)
        return value if isinstance(value, str) and _NAME.match(value) and secrets.scrub(value) == value else "?"

    return MESSAGES[error["id"]].format_map({**{key: name(key) for key in ("name", "other", "type", "dtype")},
                                            "raised": quoted(fields.get("raised", ""), secrets)})


def judge(check, result, seed, secrets=None):
    """`(points, message)` of one question from its probe result, in the grader's process.

    `result` is `("result", npz bytes)`, `("error", grader's message)` or `("error", {"id": ...,
    "fields": ...})` from the sandbox (`render_error`, with `secrets` removed)."""
    from course.checks import validate_outputs

    kind, value = result
    if kind == "error":
        if isinstance(value, dict):
            return 0.0, render_error(value, secrets or Secrets(seed))
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


def grade_notebook(student, stage, path, seed, args, slot, submission=None):
    """Rows `{student, exercise, points, possible, message}` of one notebook, and its summary.

    `submission`: the file as `discover` read it (read here when None)."""
    from course.checks import stage_checks
    from course.checks.notebook import own_work_violations

    start, checks = time.time(), stage_checks(stage)
    if submission is None:
        submission = read_submission(path, [stage])

    def summary():
        return {"student": student, "stage": stage, "notebook": str(path), "seconds": round(time.time() - start, 1),
                "read_cpu_s": submission.cpu_s}

    if submission.refused:  # every question zero, with one reason
        return [{"student": student, "exercise": c.question, "points": 0.0, "possible": c.points,
                 "message": submission.refused} for c in checks], summary()
    violations, clock = {}, time.thread_time()
    for check in checks:
        if time.thread_time() - clock + submission.cpu_s > MAX_READ_CPU_S:  # the reading's CPU budget, shared
            violations[check.question] = [f"reading the answer took over {MAX_READ_CPU_S:g} s of the grader's CPU: "
                                          "simplify the notebook's code"]
            continue
        try:
            violations[check.question] = own_work_violations(submission.source, check.names, check.forbidden,
                                                             allowed=check.allowed,
                                                             statements=submission.statements)
        except Exception as err:  # a notebook the reader cannot follow is not graded as own work
            violations[check.question] = [f"the answer could not be read ({type(err).__name__})"]
    results = probe(submission, stage, [c for c in checks if not violations[c.question]], seed, args, slot)
    secrets = Secrets(seed, uids=[sandbox.sandbox_uid(slot), os.getuid()])
    rows = []
    for check in checks:
        if violations[check.question]:
            points, message = 0.0, "own work: " + " ".join(violations[check.question])[:300]
        else:
            points, message = judge(check, results[check.question], seed, secrets)
        rows.append({"student": student, "exercise": check.question, "points": points,
                     "possible": check.points, "message": message})
    return rows, summary()


# --------------------------------------------------------------------------- the run
def parse_args(argv):
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("submissions", type=Path, nargs="?", default=None)
    parser.add_argument("--out", type=Path, default=None, help="where grades.json/csv go (default: SUBMISSIONS)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="notebooks graded at once")
    parser.add_argument("--seed", type=int, default=None, help="grading seed (default: a fresh random one)")
    parser.add_argument("--shard", default=None, metavar="K/N",
                        help="grade only share K (0 <= K < N) of N: every N-th student, in name order "
                             "(needs --seed; join the shares with --merge)")
    parser.add_argument("--merge", type=Path, nargs="+", default=None, metavar="DIR",
                        help="join the grades.json of the shards in these folders into one grade book in --out")
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
    args.stopping = threading.Event()
    if args.hidden_tests:
        parser.error("--hidden-tests: otter test files ran inside the student's process and are no longer "
                     "used for marks; write a Check instead (course/README.md, 'Adding a hidden check')")
    if args.merge is not None:
        if args.submissions is not None or args.shard is not None:
            parser.error(f"Expected --merge DIR... alone (no SUBMISSIONS, no --shard). "
                         f"Received: {args.submissions or '--shard ' + str(args.shard)}")
        if args.out is None:
            parser.error("Expected --out DIR with --merge (where the joined grades.json/csv go). Received: none")
        args.out = args.out.resolve()
        _check_out(parser, args.out)
        return args
    if args.submissions is None:
        parser.error("Expected a folder of notebooks (or --merge DIR...). Received: none")
    if args.jobs < 1:
        parser.error(f"Expected --jobs >= 1. Received: {args.jobs}")
    if args.shard is not None:
        match = re.fullmatch(r"(\d+)/(\d+)", args.shard.strip())
        if not match or not int(match.group(1)) < int(match.group(2)):
            parser.error(f"Expected --shard K/N with 0 <= K < N (e.g. 0/4). Received: {args.shard!r}")
        if args.seed is None:
            parser.error("Expected --seed S with --shard (every shard of a run grades with the same seed). "
                         "Received: no --seed")
        args.shard = (int(match.group(1)), int(match.group(2)))
    args.submissions = args.submissions.resolve()
    if not args.submissions.is_dir():
        parser.error(f"Expected a folder of notebooks. Received: {shown(args.submissions)}")
    args.out = (args.out or args.submissions).resolve()
    _check_out(parser, args.out)
    args.threads = max(1, (os.cpu_count() or 1) // args.jobs)
    args.seed = secrets.randbelow(2**31) if args.seed is None else args.seed
    return args


GRADE_BOOK = ("grades.json", "grades.csv", "grades.partial.json", "grades.partial.csv")


def _check_out(parser, out):
    """Refuse, before any grading, an `--out` where a folder holds a grade book's name (a student
    folder called `grades.csv` in the submissions folder, the default `--out`): the rename that
    writes the grade book would fail after the whole batch was graded."""
    for name in GRADE_BOOK:
        path = out / name
        if path.is_dir() and not path.is_symlink():
            parser.error(f"Expected --out to have room for the grade book ({', '.join(GRADE_BOOK[:2])}). "
                         f"Received: a folder {shown(path)} there (a student's?): pass --out DIR, another folder")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.merge is not None:
        return merge(args)
    if not args.trusted:
        ok, why = sandbox.available()
        if not ok:
            raise SystemExit(f"Cannot sandbox the submissions: {why}.\nGrade inside a container per submission "
                             "(Gradescope) and pass --trusted there, or install bubblewrap.")
    known = [m.stem for m in config.stages()]
    found = discover(args.submissions, known)
    args.record = run_record(args, found)
    if args.shard:
        k, n = args.shard
        mine = set(sorted({item.student for item in found})[k::n])
        found = [item for item in found if item.student in mine]
    seen = {}
    for item in found:
        if item.stage and not item.refused:
            seen.setdefault((item.student, item.stage), []).append(shown(item.path.relative_to(args.submissions)))
    for (student, stage), paths in sorted(seen.items()):
        if len(paths) > 1:
            print(f"warning: {shown(student)} has {len(paths)} notebooks of {stage} ({', '.join(paths)}): each is "
                  "graded, see the notebook column of grades.csv", file=sys.stderr, flush=True)
    from course.checks import stage_checks
    for stage in sorted({item.stage for item in found if item.stage and not item.refused}):
        stage_checks(stage)  # imports TensorFlow now: its start-up lines come before the progress lines
        library_copy(stage)  # parses the package here: CPython 3.11's AST is not safe across threads
    print(f"grading {len(found)} notebook(s) with seed {args.seed} ({args.jobs} at a time"
          f"{', shard %d/%d' % args.shard if args.shard else ''}"
          f"{', UNSANDBOXED (--trusted)' if args.trusted else ''})", flush=True)
    rows, metas, slots = [], [], queue.Queue()
    for slot in range(args.jobs):
        slots.put(slot)

    def work(item):
        rows, meta = graded(item)
        for row in rows:
            row.setdefault("stage", item.stage or "")
            row["notebook"] = str(item.path.relative_to(args.submissions))
        return rows, meta

    def graded(item):
        student, stage, path, refused, submission = item
        if refused or stage is None:
            why = refused or (submission and submission.refused) or f"{path.name}: not a notebook of this course"
            return [{"student": student, "exercise": "?", "points": 0, "possible": 0, "message": why}], \
                {"student": student, "stage": None, "notebook": str(path)}
        slot = slots.get()
        try:
            return grade_notebook(student, stage, path, args.seed, args, slot, submission)
        except Exception as err:  # a grader bug or a stage without checks: reported, the run goes on
            print(f"grader error on {shown(path)}:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
            return [{"student": student, "exercise": "?", "points": 0, "possible": 0,
                     "message": f"grader error ({type(err).__name__}): the instructor's log says more"}], \
                {"student": student, "stage": stage, "notebook": str(path)}
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
            print(f"[{done}/{len(found)}] {shown(meta['student'])} {meta['stage']}: {total:g}/{possible:g}"
                  f" ({meta.get('seconds', 0):g} s)", flush=True)
    except KeyboardInterrupt:
        args.stopping.set()
        pool.shutdown(wait=True, cancel_futures=True)
        print("interrupted: the grades of the notebooks finished so far are written", file=sys.stderr)
    pool.shutdown()
    write(args, rows, metas)
    return 130 if args.stopping.is_set() else 0


def run_record(args, found):
    """What every shard of one run shares, written to grades.json and compared by `--merge`: the
    seed, the shard, the stages graded with their questions and points, and a digest of the
    whole folder's listing (every shard lists the same folder)."""
    from course.checks import stage_checks

    stages = {}
    for stage in sorted({item.stage for item in found if item.stage and not item.refused}):
        try:  # imports TensorFlow now: its start-up lines come before the progress lines
            stages[stage] = [[c.question, c.points] for c in stage_checks(stage)]
        except ValueError:
            stages[stage] = []
    listing = "\n".join(shown(item.path.relative_to(args.submissions)) for item in found)
    return {"shard": list(args.shard) if args.shard else None, "stages": stages,
            "listing": hashlib.sha256(listing.encode()).hexdigest(), "students": len({i.student for i in found})}


# --------------------------------------------------------------------------- the grade book
_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell starting with these (OWASP)


def shown(text):
    """`text` as the grade book writes it: bytes that are not UTF-8 (a file name's) as `\\xNN`,
    control characters as `\\xNN` too, so one name stays one line of any output.

    Example:
        >>> shown(b"caf\\xe9\\n".decode("utf-8", "surrogateescape"))
        'caf\\\\xe9\\\\x0a'
    """
    text = str(text)
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate from elsewhere (JSON text)
        data = text.encode("utf-8", "backslashreplace")
    text = data.decode("utf-8", "backslashreplace")
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\x{ord(m.group()):02x}", text)


def csv_cell(value):
    """One CSV cell: numbers as they are; text `shown`, and prefixed with `'` when it would start
    with `=`, `+`, `-`, `@`, tab or carriage return (the OWASP rule against CSV injection)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = shown(value)
    return "'" + text if text.startswith(_FORMULA) else text


COLUMNS = ["student", "stage", "notebook", "exercise", "points", "message"]


def write(args, rows, metas):
    """`grades.json` and `grades.csv` into `--out`, each atomically (a temporary file, then a
    rename); an interrupted run writes `grades.partial.*` instead, so a complete earlier result
    there is kept."""
    from robustkeras import _io

    rows = [{k: (shown(v) if isinstance(v, str) else v) for k, v in r.items()} for r in rows]
    rows.sort(key=lambda r: (r["student"], r.get("stage", ""), r.get("notebook", ""), r["exercise"]))
    metas = [{k: (shown(v) if isinstance(v, str) else v) for k, v in m.items()} for m in metas]
    metas.sort(key=lambda m: (m["student"], str(m.get("notebook", ""))))
    name = "grades.partial" if args.stopping.is_set() else "grades"
    record = {"seed": args.seed, **getattr(args, "record", {}), "grades": rows, "submissions": metas}
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: csv_cell(r.get(k, "")) for k in COLUMNS} for r in rows)
    texts = {f"{name}.json": json.dumps(record, indent=1), f"{name}.csv": table.getvalue()}  # all made first
    for file, text in texts.items():
        with _io.atomic_path(args.out / file) as tmp:
            Path(tmp).write_bytes(text.encode("utf-8"))
    print(f"wrote {shown(args.out / (name + '.csv'))} (seed {args.seed})", flush=True)


def merge(args):
    """`--merge DIR...`: join the shards' grades.json into one grade book in `--out`.

    Refused (nothing written): a folder without a complete `grades.json`, a result that is not
    a shard, shards of different seeds, stage sets or folder listings, and a shard missing or
    given twice."""
    parts = []
    for folder in args.merge:
        path = folder / "grades.json"
        try:
            parts.append((folder, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError) as err:
            partial = " (that shard was interrupted: grades.partial.json)" if (folder / "grades.partial.json").exists() \
                else ""
            raise SystemExit(f"Expected a complete grades.json in each --merge folder. Received: {shown(path)} "
                             f"({type(err).__name__}){partial}") from None
    first_dir, first = parts[0]
    for folder, part in parts:
        if not isinstance(part.get("shard"), list) or len(part["shard"]) != 2:
            raise SystemExit(f"Expected shard results (grade.py --shard K/N). Received: {shown(folder)} is a whole run")
        for key, what in (("seed", "seeds"), ("stages", "stage sets"), ("listing", "submissions folders")):
            if part.get(key) != first.get(key):
                raise SystemExit(f"Expected shards of one run: the same {what}. Received: {shown(first_dir)} and "
                                 f"{shown(folder)} differ in {key}"
                                 + (f" ({first.get(key)} vs {part.get(key)})" if key == "seed" else ""))
    n = {part["shard"][1] for _, part in parts}
    ks = sorted(part["shard"][0] for _, part in parts)
    if len(n) != 1 or ks != list(range(next(iter(n)))):
        raise SystemExit(f"Expected every shard 0..N-1 of one N exactly once. Received: "
                         f"{', '.join('%d/%d' % tuple(p['shard']) for _, p in parts)}")
    args.seed = first["seed"]
    args.record = {"shard": None, "stages": first["stages"], "listing": first["listing"],
                   "students": first.get("students"), "merged": len(parts)}
    rows = [row for _, part in parts for row in part["grades"]]
    metas = [meta for _, part in parts for meta in part["submissions"]]
    write(args, rows, metas)
    return 0


if __name__ == "__main__":
    sys.exit(main())
