"""Seconds per notebook: the judge-style grader (course/grade.py) vs a plain `otter run`.

    python benchmarks/grading_speed.py                   # every stage that has checks, 2 copies each
    python benchmarks/grading_speed.py --stages 00 --copies 1   # tiny (the test)

The same solution notebooks (each stage's master, built without executing it) are graded

* in full by `course/grade.py --jobs 1`: own-work check, one bubblewrap sandbox per notebook
  running the probes, npz outputs, verdicts in the grader's process (the grader's start-up is
  included, spread over the notebooks); and
* by `otter run -a dist/<stage>-autograder.zip` (what Gradescope runs), unsandboxed, one
  notebook at a time, in the same run.

Prints a table per stage and the ratio grade / otter (goal: <= 1.2). Notebooks that do not get
full marks from both are reported: a fast wrong grader proves nothing.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course import build, config  # noqa: E402
from course.otter_run import otter_run  # noqa: E402


def stages_with_checks(prefixes):
    from course.checks import stage_checks

    chosen = []
    for master in build.select(prefixes):
        try:
            chosen.append((master, sum(c.points for c in stage_checks(master.stem))))
        except ValueError:
            print(f"skipped {master.stem}: no checks in course/checks/")
    return chosen


def time_grader(subs, out):
    start = time.time()
    proc = subprocess.run([sys.executable, str(ROOT / "course" / "grade.py"), str(subs), "--jobs", "1",
                           "--out", str(out)], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"course/grade.py failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    grades = json.loads((out / "grades.json").read_text())["grades"]
    return time.time() - start, sum(r["points"] for r in grades)


def time_otter(notebooks, zip_path, work):
    env = {**os.environ, config.GRADING_ENV: "1", "PYTHONHASHSEED": "0"}
    start, full = time.time(), True
    for i, nb in enumerate(notebooks):
        tests = [t for t in otter_run(nb, zip_path, work / f"otter{i}", env=env).get("tests", []) if "max_score" in t]
        full &= bool(tests) and all(abs(t.get("score", 0) - t["max_score"]) < 1e-6 for t in tests)
    return time.time() - start, full


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stages", nargs="*", default=[], help="stage prefixes (default: all with checks)")
    parser.add_argument("--copies", type=int, default=2, help="notebooks per stage")
    args = parser.parse_args(argv)
    if args.copies < 1:
        parser.error(f"Expected --copies >= 1. Received: {args.copies}")
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# Grading speed: course/grade.py (sandboxed, judged) vs plain `otter run`\n"
          f"machine: {os.cpu_count()} cores; load average at start {load} (other processes skew timings)\n")
    rows, totals = [], [0.0, 0.0, 0]
    with tempfile.TemporaryDirectory(prefix="grading-speed-") as tmp:
        tmp = Path(tmp)
        for master, possible in stages_with_checks(args.stages):
            stem = master.stem
            build.build_stage(master, notebooks_dir=tmp / "nb", dist_dir=tmp / "dist", run_tests=False)
            solution = tmp / "dist" / "solutions" / f"{stem}.ipynb"
            subs = tmp / "subs" / stem
            copies = []
            for i in range(args.copies):
                (subs / f"s{i}").mkdir(parents=True)
                copies.append(shutil.copy(solution, subs / f"s{i}" / f"{stem}.ipynb"))
            work = tmp / "work" / stem
            work.mkdir(parents=True)
            judge_s, judge_points = time_grader(subs, work / "grades")
            otter_s, otter_full = time_otter(copies, tmp / "dist" / f"{stem}-autograder.zip", work)
            full = abs(judge_points - possible * args.copies) < 1e-6 and otter_full
            rows.append((stem, judge_s / args.copies, otter_s / args.copies, full))
            totals[0] += judge_s
            totals[1] += otter_s
            totals[2] += args.copies
            print(f"{stem}: grade {judge_s / args.copies:.1f} s, otter {otter_s / args.copies:.1f} s per notebook"
                  f"{'' if full else ' (NOT full marks from both)'}", flush=True)
    print("\n| stage | grade.py s/notebook | otter run s/notebook | ratio |")
    print("|---|---|---|---|")
    for stem, judge, otter, full in rows:
        print(f"| {stem} | {judge:.1f} | {otter:.1f} | {judge / otter:.2f}{'' if full else ' (not full marks)'} |")
    if totals[2]:
        ratio = totals[0] / totals[1]
        print(f"| all ({totals[2]} notebooks) | {totals[0] / totals[2]:.1f} | {totals[1] / totals[2]:.1f} | "
              f"{ratio:.2f} |")
        print(f"\nratio grade.py / otter run: {ratio:.2f} (goal <= 1.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
