"""The grader (course/grade.py, course/sandbox.py, course/probe_runner.py) against hostile notebooks.

* The sandbox itself: unprivileged uid without capabilities (a read-only bind stays read-only,
  while root with capabilities could remount it), no network, no host processes, no new user
  namespaces, size-capped tmpfs, a process limit, nothing left running after it ends.
* The frame protocol and the judge: forged, malformed and pickled outputs score zero.
* One batch of stage-00 notebooks graded with `--jobs 2`: hostile notebooks (runner patches from
  a class body and a decorator, the reference reached through the patcher's undo list, a reload
  or the library's source, forged results and an early exit, reading another student's
  notebook, the hidden checks or solutions/, remounting, an early-bound library reference,
  detached processes, a kernel killer, disk and /dev/shm fill, a fork flood, network access, an
  infinite loop, os._exit, a memory hog) among correct notebooks graded before, after and
  beside them. Each hostile notebook scores no more than a blank one; every correct one scores
  full marks; nothing is left running and the host is unchanged.
* The README's command, exactly: `python course/grade.py submissions/` from a project root.
"""

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

pytest.importorskip("otter", reason="the course needs the `grading` extra: pip install -e .[grading]")

from course import build, config, probe_runner, sandbox  # noqa: E402

STAGE = "00_setup_and_data"
SANDBOX_OK, SANDBOX_WHY = sandbox.available()
needs_sandbox = pytest.mark.skipif(not SANDBOX_OK, reason=f"no bubblewrap sandbox here: {SANDBOX_WHY}")


def _sh(script, **kwargs):
    argv, fds = sandbox.command(["/bin/sh", "-c", script], slot=7, **kwargs)
    return sandbox.run(argv, fds, time_limit=60)


# --------------------------------------------------------------------------- the sandbox
@needs_sandbox
def test_sandbox_is_unprivileged_and_read_only(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "f").write_text("x")
    r = _sh("echo UID $(id -u); grep -E '^(CapPrm|CapEff|NoNewPrivs)' /proc/self/status;"
            "mount -o remount,rw /data 2>/dev/null && echo REMOUNTED;"
            "echo y > /data/f 2>/dev/null && echo WROTE; unshare -Ur true 2>/dev/null && echo USERNS;"
            "echo PIDS $(ls /proc | grep -c '^[0-9]'); ls / | tr '\\n' ' '",
            ro_binds=[(tmp_path / "data", "/data")])
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    fields = dict(line.split(None, 1) for line in out.splitlines() if line.split())
    assert int(fields["UID"]) != 0, "the sandbox runs as root"
    assert fields["CapPrm:"] == fields["CapEff:"] == "0000000000000000", out
    assert fields["NoNewPrivs:"] == "1", out
    assert "REMOUNTED" not in out and "WROTE" not in out and "USERNS" not in out, out
    assert int(fields["PIDS"]) < 10, "the host's processes are visible"
    assert "work" not in out.split() and "home" in out.split(), out
    assert (tmp_path / "data" / "f").read_text() == "x"


@needs_sandbox
@pytest.mark.skipif(os.geteuid() != 0, reason="the counterfactual needs root")
def test_root_with_capabilities_could_remount(tmp_path):
    """Why the uid and the capabilities are dropped: the same bwrap line, run as root keeping its
    capabilities and skipping the launcher's uid switch, remounts a read-only bind writable."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "f").write_text("x")
    cmd = ["/bin/sh", "-c", "mount -o remount,rw /data && echo y > /data/f && echo WROTE"]
    argv, fds = sandbox.command(cmd, slot=7, ro_binds=[(tmp_path / "data", "/data")])
    cut = argv.index("--cap-drop")
    del argv[cut:cut + 6]                                   # --cap-drop ALL --cap-add X --cap-add Y
    launcher = argv.index("--", argv.index("--seccomp"))
    argv = argv[:launcher + 1] + cmd                        # no launcher: stays root
    r = sandbox.run(argv, fds, time_limit=60)
    assert "WROTE" in r.stdout.decode(), r.stderr
    assert (tmp_path / "data" / "f").read_text().strip() == "y"


@needs_sandbox
def test_sandbox_network_tmpfs_processes_and_cleanup():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    script = f"""
import os, socket, subprocess, time
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2); print("CONNECTED")
except OSError:
    pass
for folder in ("/tmp", os.environ["HOME"], "/dev/shm"):
    n = 0
    try:
        with open(folder + "/fill", "wb") as f:
            while n < 2048:
                f.write(b"0" * 2**20); f.flush(); n += 1
    except OSError:
        pass
    print("MB", n)
subprocess.Popen(["sleep", "987.125"], start_new_session=True)
kids = 0
try:
    while kids < 1000:
        subprocess.Popen(["sleep", "30"]); kids += 1
except OSError:
    pass
print("KIDS", kids)
"""
    argv, fds = sandbox.command([sandbox.python_inside(), "-c", script], slot=7,
                                limits=sandbox.Limits(tmp_mb=8, home_mb=8, shm_mb=4, processes=40))
    r = sandbox.run(argv, fds, time_limit=120)
    listener.close()
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    assert "CONNECTED" not in out
    sizes = [int(line.split()[1]) for line in out.splitlines() if line.startswith("MB")]
    assert sizes[0] <= 8 and sizes[1] <= 8 and sizes[2] <= 4, sizes
    kids = int(out.split("KIDS")[1].split()[0])
    assert kids < 40, "the process limit did not hold"
    assert "987.125" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout, \
        "a detached process outlived its sandbox"


_MEMFD = """
import os, sys, time
n = int(sys.argv[1])
if sys.argv[2] == "memfd":        # 40 MB pages held by memfds no process maps: invisible to RSS
    fds = []
    for i in range(n):
        fd = os.memfd_create("x"); os.ftruncate(fd, 40 << 20); os.pwrite(fd, b"a" * (40 << 20), 0); fds.append(fd)
else:                             # 120 MB shared by n forks: counted n times by a per-process RSS sum
    block = bytearray(b"a" * (120 << 20))
    for i in range(n):
        if os.fork() == 0:
            time.sleep(4); os._exit(0)
time.sleep(4)
print("SURVIVED")
"""


@needs_sandbox
@pytest.mark.skipif(not sandbox.MemoryGroup.available(), reason="no memory cgroup here (root, cgroup v1)")
def test_sandbox_memory_counts_memfd_once_and_shared_pages_once():
    """Review R1 F5/F9: the memory cgroup charges memfd pages (12 x 40 MB > 300 MB is stopped) and
    counts pages shared by forks once (120 MB in 8 forks is not 1 GB)."""
    for kind, n, survives in (("memfd", 12, False), ("fork", 8, True)):
        argv, fds = sandbox.command([sandbox.python_inside(), "-c", _MEMFD, str(n), kind], slot=7)
        r = sandbox.run(argv, fds, time_limit=60, memory_mb=300)
        assert (b"SURVIVED" in r.stdout) == survives, (kind, r.reason, r.stderr[-500:])
        assert r.reason == (None if survives else "memory"), (kind, r.reason)
    left = [d for d in os.listdir(sandbox.MemoryGroup.ROOT) if d.startswith(f"robustkeras-grade-{os.getpid()}-")]
    assert left == []   # the sandboxes' groups are removed


def test_loading_has_a_time_limit_of_its_own():
    """Review R1 F11: a slow import under load is not charged to the question time limit."""
    import time

    from course.grade import Progress

    progress = Progress(["q1"])
    progress.since = time.time() - 200                      # 200 s loading: allowed up to 300
    assert not progress.overdue(120, 300) and progress.overdue(120, 150)
    progress.feed(probe_runner.frame("start", "q1"))
    progress.since = time.time() - 200                      # 200 s in a question: over 120
    assert progress.overdue(120, 300)


def test_frames_ignore_forged_and_broken_input():
    qs = ["q1", "q2"]
    ok = probe_runner.frame("start", "q1") + probe_runner.frame("result", "q1", b"PK")
    assert probe_runner.parse(ok, qs)[0] == {"q1": ("result", b"PK")}
    # a result without its start frame, for an unknown question, or after a broken frame: ignored
    forged = (probe_runner.frame("result", "q2", b"x") + probe_runner.frame("start", "zz")
              + probe_runner.frame("result", "zz", b"x"))
    assert probe_runner.parse(forged, qs)[0] == {}
    broken = ok + b"%RKP {not json}\n" + probe_runner.frame("start", "q2") + probe_runner.frame("result", "q2", b"y")
    assert probe_runner.parse(broken, qs)[0] == {"q1": ("result", b"PK")}
    huge = probe_runner.frame("start", "q1") + b'%RKP {"kind": "result", "question": "q1", "size": 99999}\nab'
    assert probe_runner.parse(huge, qs)[0] == {}


def test_judge_refuses_pickles_and_bad_outputs():
    import io
    import zipfile

    import numpy as np

    from course.checks import Check
    from course.grade import judge

    check = Check("q", 2, ("f",), (), lambda outputs, seed: (1.0, "correct"))

    def npz(**arrays):
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    assert judge(check, ("result", npz(out=np.zeros(3))), 0) == (2.0, "correct")
    assert judge(check, ("result", npz(out=np.array([{"a": 1}], dtype=object))), 0)[0] == 0
    assert judge(check, ("result", b"PK\x03\x04 not a zip"), 0)[0] == 0
    assert judge(check, ("result", npz(out=np.array(["text"]))), 0)[0] == 0
    assert judge(check, ("error", "your code raised ValueError"), 0) == (0.0, "your code raised ValueError")
    # review R1 F4: nothing is decompressed or allocated before the sizes are known
    packed = io.BytesIO()
    np.savez_compressed(packed, out=np.zeros(3))
    assert judge(check, ("result", packed.getvalue()), 0)[0] == 0            # a deflated member: refused
    lying = io.BytesIO()                                                      # a header claiming 8 GB
    with zipfile.ZipFile(lying, "w") as archive, archive.open("out.npy", "w") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (2**30,)})
        f.write(bytes(64))
    assert judge(check, ("result", lying.getvalue()), 0)[0] == 0
    liar = Check("q", 2, ("f",), (), lambda outputs, seed: (float("nan"), "?"))
    assert judge(liar, ("result", npz(out=np.zeros(3))), 0)[0] == 0


def test_discover_refuses_symbolic_links(tmp_path):
    """Review R1 F7: the grader (root) never follows a link out of the submissions folder."""
    from course.grade import discover

    outside = tmp_path / "dist"
    outside.mkdir()
    (outside / f"{STAGE}.ipynb").write_text("{}")
    subs = tmp_path / "subs"
    for who in ("alice", "mallory"):
        (subs / who).mkdir(parents=True)
    (subs / "alice" / f"{STAGE}.ipynb").write_text("{}")
    (subs / "mallory" / f"{STAGE}.ipynb").symlink_to(outside / f"{STAGE}.ipynb")
    (subs / "trudy").symlink_to(outside)                      # a whole folder
    found = {(item.student, item.path.name): (item.stage, item.refused) for item in discover(subs, [STAGE])}
    assert found[("alice", f"{STAGE}.ipynb")] == (STAGE, None)
    assert found[("mallory", f"{STAGE}.ipynb")][1] and "symbolic link" in found[("mallory", f"{STAGE}.ipynb")][1]
    assert "symbolic link" in found[("trudy", "trudy")][1]
    assert len(found) == 3


def test_an_interrupted_run_keeps_a_complete_earlier_result(tmp_path):
    """Review R1 F10: Ctrl-C writes grades.partial.*, never over a complete grades.csv."""
    import argparse
    import threading

    from course import grade

    (tmp_path / "grades.csv").write_text("complete\n")
    args = argparse.Namespace(out=tmp_path, seed=1, stopping=threading.Event())
    args.stopping.set()
    row = {"student": "a", "stage": STAGE, "notebook": "a.ipynb", "exercise": "q", "points": 1, "message": "m"}
    grade.write(args, [row], [])
    assert (tmp_path / "grades.csv").read_text() == "complete\n"
    assert "a,00_setup_and_data,a.ipynb,q,1,m" in (tmp_path / "grades.partial.csv").read_text()


def test_oversized_code_and_invalid_json_are_refused_before_any_parse(tmp_path):
    """Review R1 F6/F10: the grader's own process reads at most MAX_CODE_KB of code as an AST
    (a 5.7 MB literal took 2 minutes and 2.9 GB per question), and says when JSON is broken."""
    import time

    from course import grade, submission

    big = "x = [" + "0," * (submission.MAX_CODE_KB * 512 + 1) + "]\ndef to_unit_range(images):\n    return images / 255\n"
    (tmp_path / "big.ipynb").write_text(json.dumps({"cells": [{"cell_type": "code", "source": big}], "metadata": {}}))
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    start = time.time()
    rows, _ = grade.grade_notebook("eve", STAGE, tmp_path / "big.ipynb", 0, None, 0)   # no sandbox reached
    assert time.time() - start < 10
    assert all(r["points"] == 0 and "KB" in r["message"] for r in rows) and len(rows) >= 4
    rows, _ = grade.grade_notebook("eve", STAGE, tmp_path / "broken.ipynb", 0, None, 0)
    assert all(r["points"] == 0 and "not a valid notebook" in r["message"] for r in rows)


# --------------------------------------------------------------------------- hostile batch
@pytest.fixture(scope="module")
def stage00(tmp_path_factory):
    """Stage 00's solution and blank notebooks (built without executing them)."""
    tmp = tmp_path_factory.mktemp("grading00")
    build.build_stage(config.SOLUTIONS / f"{STAGE}.py", notebooks_dir=tmp / "notebooks", dist_dir=tmp / "dist",
                      run_tests=False)
    return tmp / "dist" / "solutions" / f"{STAGE}.ipynb", tmp / "notebooks" / f"{STAGE}.ipynb"


def _solution_source(solution):
    import ast

    from course.checks.notebook import definition_statements

    return "\n".join(ast.unparse(node) for node in definition_statements(solution))


def _notebook(path, *cells, stage=STAGE):
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                  "otter": {"assignment_name": stage}})
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def _breach(attack, solution):
    """A notebook that defines the correct answers only if `attack()` (its body) returns True:
    it scores full marks exactly when the attack gets through."""
    return (f"SOLUTION = {solution!r}\n",
            "import os, sys, glob, subprocess, socket, pathlib, importlib.util\n"
            "def attack():\n" + textwrap.indent(textwrap.dedent(attack), "    ") + "\n",
            "class _Run:\n"
            "    try:\n"
            "        if attack():\n"
            "            exec(SOLUTION, globals())\n"
            "    except BaseException:\n"
            "        pass\n")


FORGE = """
    import sys, importlib, numpy as np
    probes = importlib.import_module("course.checks.probes.s00_setup_and_data")
    for name in dir(probes):
        if name.startswith("probe_"):
            setattr(probes, name, lambda ns, seed: {"out": np.zeros(3)})
    np.allclose = lambda *a, **k: True
    try:
        from otter.test_files import exception_test
        exception_test.ExceptionTestFile.run = lambda self, env: None
    except Exception:
        pass
"""

FAKE_FRAMES = """
class _Forge:
    import os, io, json, numpy as np
    buffer = io.BytesIO()
    np.savez(buffer, out=np.zeros(3), l2=np.zeros(4), linf=np.zeros(4), default=np.zeros(10))
    blob = buffer.getvalue()
    frames = b""
    for q in ("q00_to_unit_range", "q00_class_counts", "q00_image_grid", "q00_distances"):
        for kind, data in (("start", b""), ("result", blob)):
            frames += b"%RKP " + json.dumps({"kind": kind, "question": q, "size": len(data)}).encode() + b"\\n" + data
    frames += b'%RKP {"kind": "done", "question": "", "size": 0}\\n'
    for fd in range(64):
        try:
            os.write(fd, frames)
        except OSError:
            pass
    for folder in (".", "/tmp", os.environ.get("HOME", ".")):
        try:
            open(folder + "/results.json", "w").write(json.dumps({"tests": [{"name": "q00_distances", "score": 3}]}))
        except OSError:
            pass
    os._exit(0)
"""


def _hostile(subs, solution_nb, solver_path, port):
    solution = _solution_source(solution_nb)
    pkg = "pathlib.Path(importlib.util.find_spec('robustkeras').origin).resolve().parents[1]"
    cases = {
        "runner_patch_class": ("class _Patch:\n" + textwrap.indent(textwrap.dedent(FORGE), "    "),),
        "runner_patch_decorator": ("def forge(f):\n" + textwrap.indent(textwrap.dedent(FORGE), "    ")
                                   + "    return f\n\n@forge\ndef to_unit_range(images):\n    return None\n",),
        "fake_results_exit": (FAKE_FRAMES,),
        "peek_proc": _breach("""
            for cmd in glob.glob("/proc/*/cmdline"):
                text = open(cmd, "rb").read().decode(errors="replace")
                for word in text.split("\\0"):
                    if word.endswith(".ipynb") and "/job/" not in word and os.path.exists(word):
                        return True
            return False""", solution),
        "peek_guess": _breach(f"""
            guesses = [{str(solver_path)!r}, {str(subs)!r}] + glob.glob("/tmp/*/submissions/*/*.ipynb")
            return any(os.path.exists(p) for p in guesses)""", solution),
        "hidden_checks": _breach(f"""
            if importlib.util.find_spec("course.checks.s00_setup_and_data") is not None:
                return True
            places = ["/opt/grader/course/checks", {str(ROOT / "course" / "checks")!r}]
            return any(os.path.exists(p + "/s00_setup_and_data.py") for p in places)""", solution),
        "solutions_via_package": _breach(f"""
            root = {pkg}
            return any((root / name).exists() for name in ("solutions", "dist", ".git", "course"))""", solution),
        "remount": _breach("""
            import ctypes
            subprocess.run(["mount", "-o", "remount,rw", "/opt/lib"], capture_output=True)
            libc = ctypes.CDLL(None, use_errno=True)
            libc.mount(b"none", b"/opt/lib", None, 32 | 4096 | 1 << 5, None)   # MS_REMOUNT | MS_BIND
            for target in ("/opt/lib/robustkeras/_pwned.py", "/job/_pwned"):
                try:
                    open(target, "w").write("pwned")
                    return True
                except OSError:
                    pass
            return False""", solution),
        "network": _breach(f"""
            for address in (("127.0.0.1", {port}), ("1.1.1.1", 53), ("pypi.org", 443)):
                try:
                    socket.create_connection(address, timeout=2)
                    return True
                except OSError:
                    pass
            return False""", solution),
        "early_bound": ("from robustkeras.data import to_float\n"
                        "def to_unit_range(images, _f=to_float):\n    return _f(images)\n",
                        "import importlib\n"
                        "def l2_distance(a, b):\n"
                        "    return getattr(importlib.import_module('robustkeras.attacks.steps'), 'l2_norm')(a - b)\n"),
        # review R1 F1: the patcher's undo list, restore(), a reload and the library's own source
        "undo_reload_source": ("import sys, importlib, inspect\nimport numpy as np\n"
                               "class _Restore:\n    import course.checks.notebook as _n\n    _n.restore()\n",
                               "def to_unit_range(images):\n"
                               "    for owner, attr, had, old in sys.modules['course.checks.notebook']._UNDO:\n"
                               "        if attr == 'to_float' and callable(old):\n            return old(images)\n"
                               "    ns = {}\n    exec(inspect.getsource(importlib.import_module('robustkeras.data')), ns)\n"
                               "    return ns['to_float'](images)\n",
                               "def l2_distance(a, b):\n"
                               "    m = importlib.reload(importlib.import_module('robustkeras.attacks.steps'))\n"
                               "    return np.asarray(m.l2_norm(np.asarray(a) - np.asarray(b))).reshape(len(a))\n"
                               "def linf_distance(a, b):\n    l2_distance(a, b)\n"
                               "    d = (np.asarray(a, np.float64) - np.asarray(b, np.float64)).reshape(len(a), -1)\n"
                               "    return np.abs(d).max(1)\n"),
        "detached": ("class _Spawn:\n"
                     "    import subprocess\n"
                     "    subprocess.Popen(['sleep', '987.25'], start_new_session=True)\n"
                     "    subprocess.Popen(['sh', '-c', '(sleep 987.5 &) ; sleep 987.75'], start_new_session=True)\n",),
        "killer": ("class _Kill:\n"
                   "    import subprocess, sys\n"
                   "    subprocess.Popen([sys.executable, '-c', 'import os, time\\n'\n"
                   "        'end = time.time() + 60\\n'\n"
                   "        'while time.time() < end:\\n'\n"
                   "        '    for p in os.listdir(\"/proc\"):\\n'\n"
                   "        '        if p.isdigit() and int(p) != os.getpid():\\n'\n"
                   "        '            try: os.kill(int(p), 9)\\n'\n"
                   "        '            except OSError: pass\\n'\n"
                   "        '    time.sleep(0.05)'], start_new_session=True)\n",),
        "disk_fill": ("class _Fill:\n"
                      "    import os\n"
                      "    for folder in ('/tmp', os.environ.get('HOME', '/'), '.', '/job', '/opt/lib'):\n"
                      "        try:\n"
                      "            with open(folder + '/fill', 'wb') as f:\n"
                      "                for _ in range(4096):\n"
                      "                    f.write(b'0' * 2**20)\n"
                      "        except OSError:\n"
                      "            pass\n",),
        "shm_fill": ("class _Shm:\n"
                     "    try:\n"
                     "        with open('/dev/shm/fill', 'wb') as f:\n"
                     "            for _ in range(4096):\n"
                     "                f.write(b'0' * 2**20)\n"
                     "    except OSError:\n"
                     "        pass\n",),
        "fork_flood": ("class _Flood:\n"
                       "    import os\n"
                       "    while True:\n"
                       "        try:\n"
                       "            os.fork()\n"
                       "        except OSError:\n"
                       "            pass\n",),
        "infinite_loop": ("class _Loop:\n    while True:\n        pass\n",),
        "os_exit": ("import os\nclass _Exit:\n    os._exit(0)\n",),
        "memory_hog": ("class _Hog:\n    import numpy as np\n    hog = [np.ones(2**27) for _ in range(64)]\n",),
    }
    for name, cells in cases.items():
        _notebook(subs / f"h_{name}" / f"{STAGE}.ipynb", *cells)
    return list(cases)


def _grade(args, cwd=None):
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=1500, cwd=cwd)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _totals(out):
    with open(out / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    totals = {}
    for r in rows:
        totals[r["student"]] = totals.get(r["student"], 0.0) + float(r["points"])
    return rows, totals


@needs_sandbox
def test_hostile_notebooks_among_correct_ones(stage00, tmp_path):
    from course.checks import stage_checks

    solution, blank = stage00
    subs = tmp_path / "submissions"
    for who in ("a_correct", "m_correct", "z_correct"):     # graded before, between and after the others
        (subs / who).mkdir(parents=True)
        (subs / who / f"{STAGE}.ipynb").write_bytes(solution.read_bytes())
    (subs / "blank").mkdir()
    (subs / "blank" / f"{STAGE}.ipynb").write_bytes(blank.read_bytes())
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    shm_before = _used("/dev/shm")
    names = _hostile(subs, solution, subs / "a_correct" / f"{STAGE}.ipynb", listener.getsockname()[1])
    package = Path(__import__("importlib").util.find_spec("robustkeras").origin).parent
    out = tmp_path / "out"
    proc = _grade([str(ROOT / "course" / "grade.py"), str(subs), "--out", str(out), "--jobs", "2",
                   "--time-limit", "150", "--question-time-limit", "60", "--memory-limit", "3000"])
    listener.close()
    rows, totals = _totals(out)
    possible = sum(c.points for c in stage_checks(STAGE))
    messages = {(r["student"], r["exercise"]): r["message"] for r in rows}
    for who in ("a_correct", "m_correct", "z_correct"):
        assert totals[who] == pytest.approx(possible), {k: v for k, v in messages.items() if k[0] == who}
    assert totals["blank"] == 0
    for name in names:
        assert totals[f"h_{name}"] <= totals["blank"], (name, {k: v for k, v in messages.items() if name in k[0]})
    assert all("probe_" not in m and "/opt/grader" not in m and "s00_setup" not in m for m in messages.values())
    assert proc.stdout.count(f" {STAGE}: ") == len(names) + 4, "one progress line per notebook"
    seed = json.loads((out / "grades.json").read_text())["seed"]
    assert f"seed {seed}" in proc.stdout
    # nothing is left running, nothing changed outside
    ps = subprocess.run(["ps", "-eo", "uid=,args="], capture_output=True, text=True).stdout
    assert "987." not in ps, "a detached process outlived grading"
    if os.geteuid() == 0:
        assert not [line for line in ps.splitlines() if int(line.split()[0]) >= sandbox.UID_BASE], ps
    assert not (package / "_pwned.py").exists()
    assert _used("/dev/shm") - shm_before < 32 * 2**20


def _used(folder):
    stat = os.statvfs(folder)
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize


@needs_sandbox
def test_a_question_that_kills_or_hangs_costs_that_question_only(stage00, tmp_path):
    """An answer that loops forever or calls os._exit loses its own question; a fresh sandbox
    probes the questions after it."""
    solution, _ = stage00
    subs = tmp_path / "submissions"
    _notebook(subs / "partial" / f"{STAGE}.ipynb", _solution_source(solution),
              "def to_unit_range(images):\n    while True:\n        pass\n",
              "import os\ndef class_counts(labels, num_classes=10):\n    os._exit(3)\n")
    out = tmp_path / "out"
    _grade([str(ROOT / "course" / "grade.py"), str(subs), "--out", str(out), "--jobs", "1",
            "--question-time-limit", "60"])
    rows, totals = _totals(out)
    points = {r["exercise"]: float(r["points"]) for r in rows}
    assert points["q00_to_unit_range"] == 0 and points["q00_class_counts"] == 0, rows
    assert points["q00_image_grid"] > 0 and points["q00_distances"] > 0, rows


@needs_sandbox
def test_early_bound_reference_stage02(tmp_path):
    from course.checks import stage_checks

    stage = "02_adversarial_examples"
    try:
        checks = {c.question: c for c in stage_checks(stage)}
    except ValueError:
        pytest.skip("stage 02 has no checks yet")
    subs = tmp_path / "submissions"
    _notebook(subs / "binder" / f"{stage}.ipynb",
              "from robustkeras.attacks import pgd, fgsm as _fgsm\nimport importlib\n",
              "def pgd_attack(model, x, y, *, norm, eps, step_size, steps, _ref=pgd):\n"
              "    return _ref(model, x, y, norm=norm, eps=eps, step_size=step_size, steps=steps)\n",
              "def fgsm(model, x, y, eps):\n"
              "    return getattr(importlib.import_module('robustkeras.attacks'), 'fgsm')(model, x, y, eps=eps)\n",
              stage=stage)
    out = tmp_path / "out"
    _grade([str(ROOT / "course" / "grade.py"), str(subs), "--out", str(out), "--jobs", "1"])
    rows, _ = _totals(out)
    points = {r["exercise"]: float(r["points"]) for r in rows}
    for question in ("q02_pgd", "q02_fgsm"):
        if question in checks:
            assert points[question] == 0, rows


@needs_sandbox
def test_readme_command_with_a_relative_path(stage00, tmp_path):
    """`python course/grade.py submissions/` from the project root, exactly as course/README.md says."""
    solution, blank = stage00
    readme = (ROOT / "course" / "README.md").read_text()
    assert "python course/grade.py submissions/" in readme
    project = tmp_path / "project"
    project.mkdir()
    (project / "course").symlink_to(ROOT / "course")
    for who, src in (("alice", solution), ("bob", blank)):
        (project / "submissions" / who).mkdir(parents=True)
        (project / "submissions" / who / f"{STAGE}.ipynb").write_bytes(src.read_bytes())
    # review R1 F10/F7: macOS archive junk is not a submission; a link to the solution is refused
    (project / "submissions" / "alice" / f"._{STAGE}.ipynb").write_bytes(b"\x00\x05\x16\x07junk")
    (project / "submissions" / "__MACOSX" / "alice").mkdir(parents=True)
    (project / "submissions" / "__MACOSX" / "alice" / f"{STAGE}.ipynb").write_bytes(b"junk")
    (project / "submissions" / "mallory").mkdir()
    (project / "submissions" / "mallory" / f"{STAGE}.ipynb").symlink_to(solution)
    (project / "submissions" / "grades.csv").write_text("complete,earlier,result\n")
    _grade(["course/grade.py", "submissions/"], cwd=project)
    assert (project / "submissions" / "grades.csv").read_text() != "complete,earlier,result\n"
    rows, totals = _totals(project / "submissions")
    from course.checks import stage_checks

    assert totals["alice"] == pytest.approx(sum(c.points for c in stage_checks(STAGE))), rows
    assert totals["bob"] == 0 and totals["mallory"] == 0 and set(totals) == {"alice", "bob", "mallory"}, rows
    assert {r["notebook"] for r in rows if r["student"] == "alice"} == {f"alice/{STAGE}.ipynb"}
    assert {r["stage"] for r in rows if r["student"] != "mallory"} == {STAGE}
    assert json.loads((project / "submissions" / "grades.json").read_text())["seed"] >= 0


@needs_sandbox
def test_grading_speed_benchmark_runs():
    """benchmarks/grading_speed.py end to end on one notebook (its figures come from full runs)."""
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "grading_speed.py"), "--stages", "00",
                           "--copies", "1"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = [line for line in proc.stdout.splitlines() if line.startswith(f"| {STAGE} |")]
    assert len(table) == 1 and "not full marks" not in table[0], proc.stdout
    assert "ratio grade.py / otter run:" in proc.stdout
