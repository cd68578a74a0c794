"""Time every course stage as a student runs it: student mode, one notebook at a time.

    python scripts/course_timing.py              # all stages
    python scripts/course_timing.py 02 03        # some stages
    python scripts/course_timing.py --json t.json

Each master `solutions/NN_topic.py` (the solution notebook: what a student who has done the
exercises runs) is executed top to bottom with nbclient in a fresh kernel, in a temporary
folder, with `ROBUSTKERAS_GRADING` unset (student mode: full sizes). For the stage and for
every cell it records the wall time and the CPU time (user + sys) of the kernel process and
its children, read with psutil. The CPU time is what the notebook costs; the wall time is what
the student waits, and on a shared machine it depends on the load, printed beside it.

Prints one row per stage: wall and CPU seconds, the slowest cell (wall, CPU, first line) and
whether that cell shows a progress bar. Budget (issue 31): every stage <= 200 CPU seconds (the
kernel's user + sys time, which the load does not inflate; about 2 minutes of wall time on an
idle 2-core machine), and no cell over 45 s of wall time without a progress bar.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STAGE_CPU_BUDGET_S = 200
CELL_BUDGET_S = 45


def _cpu(proc):
    """User + sys CPU seconds of a process and all its live and reaped children."""
    import psutil

    try:
        t = proc.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in proc.children(recursive=True):
            try:
                c = child.cpu_times()
                total += c.user + c.system
            except psutil.NoSuchProcess:
                pass
        return total
    except psutil.NoSuchProcess:
        return float("nan")


def _has_progress_bar(cell):
    """Whether a cell shows its progress while it runs.

    True for a Keras `Progbar`/`fit(verbose=1)` or tqdm bar (carriage returns or bar glyphs in
    its output, or the bar in its source), and for a loop that shows a result per iteration
    as it goes (three or more separate outputs, e.g. one line and one grid per class pair).
    """
    text = cell.source
    if "Progbar" in text or "verbose=1" in text or "tqdm" in text:
        return True
    outputs = cell.get("outputs", [])
    if any("\r" in out.get("text", "") or "━" in out.get("text", "") for out in outputs):
        return True
    return len(outputs) >= 3


def time_stage(master, *, timeout=1200, executed_dir=None):
    """Execute one master in student mode; return a dict of stage and per-cell timings.

    `executed_dir`: also write the executed notebook (outputs included) there, to read the
    numbers the prose quotes.
    """
    import jupytext
    import nbclient
    import psutil

    nb = jupytext.read(master)
    env = {k: v for k, v in os.environ.items() if k != "ROBUSTKERAS_GRADING"}
    env["MPLBACKEND"] = "Agg"
    cells = []
    state = {}
    with tempfile.TemporaryDirectory(prefix=f"timing-{master.stem}-") as tmp:
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                         resources={"metadata": {"path": tmp}})

        def on_start(cell, cell_index, **_):
            state["proc"] = state.get("proc") or psutil.Process(client.km.provisioner.process.pid)
            state["t0"], state["c0"] = time.time(), _cpu(state["proc"])

        def on_done(cell, cell_index, **_):
            if cell.cell_type != "code":
                return
            cells.append({"index": cell_index, "wall_s": time.time() - state["t0"],
                          "cpu_s": _cpu(state["proc"]) - state["c0"],
                          "first_line": next((line for line in cell.source.splitlines()
                                              if line.strip() and not line.startswith("#")), ""),
                          "progress_bar": _has_progress_bar(cell)})

        client.on_cell_start = on_start
        client.on_cell_executed = on_done
        load0 = os.getloadavg()[0]
        start = time.time()
        old_env = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            client.execute(cwd=tmp)
        finally:
            os.environ.clear()
            os.environ.update(old_env)
        wall = time.time() - start
        if executed_dir is not None:
            import nbformat

            Path(executed_dir).mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, Path(executed_dir) / f"{master.stem}.ipynb")
    code = [c for c in cells]
    slowest = max(code, key=lambda c: c["wall_s"]) if code else None
    return {"stage": master.stem, "wall_s": round(wall, 1), "cpu_s": round(sum(c["cpu_s"] for c in code), 1),
            "load_1min_start": round(load0, 2), "load_1min_end": round(os.getloadavg()[0], 2),
            "slowest": slowest, "cells": code,
            "over_budget": sum(c["cpu_s"] for c in code) > STAGE_CPU_BUDGET_S or any(c["wall_s"] > CELL_BUDGET_S and not c["progress_bar"] for c in code)}


def markdown_table(rows):
    """The README's table: one row per stage."""
    lines = ["| stage | CPU s | wall s | load (1 min) | slowest cell: CPU s / wall s |", "|---|---|---|---|---|"]
    for r in rows:
        s = r["slowest"]
        bar = ", progress shown" if s["progress_bar"] else ""
        lines.append(f"| {r['stage']} | {r['cpu_s']:.0f} | {r['wall_s']:.0f} | {r['load_1min_start']:.0f}-{r['load_1min_end']:.0f} | "
                     f"{s['cpu_s']:.0f} / {s['wall_s']:.0f} (`{s['first_line'][:40]}`{bar}) |")
    return "\n".join(lines)


def main(argv=None):
    from course import config

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stages", nargs="*", help="stage prefixes, e.g. 02 03 (default: all)")
    parser.add_argument("--json", type=Path, help="also write every cell's timing here")
    parser.add_argument("--executed", type=Path, help="write the executed notebooks (with outputs) to this folder")
    args = parser.parse_args(argv)
    masters = [m for m in config.stages() if not args.stages or any(m.name.startswith(s) for s in args.stages)]
    print(f"{os.cpu_count()} CPUs; student mode ({config.GRADING_ENV} unset); one notebook at a time", flush=True)
    print(f"{'stage':32s} {'wall s':>7s} {'CPU s':>7s} {'load':>9s}  slowest cell (wall s / CPU s)", flush=True)
    rows = []
    for master in masters:
        row = time_stage(master, executed_dir=args.executed)
        rows.append(row)
        s = row["slowest"]
        flag = " OVER BUDGET" if row["over_budget"] else ""
        print(f"{row['stage']:32s} {row['wall_s']:7.1f} {row['cpu_s']:7.1f} {row['load_1min_start']:4.1f}-{row['load_1min_end']:<4.1f}"
              f"  {s['wall_s']:.1f} / {s['cpu_s']:.1f}: {s['first_line'][:50]!r}{' (progress bar)' if s['progress_bar'] else ''}{flag}",
              flush=True)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1))
    print()
    print(markdown_table(rows))
    return 1 if any(r["over_budget"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
