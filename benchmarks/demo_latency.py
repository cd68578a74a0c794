"""Server-side seconds per click on each tab of `robustkeras demo`, at each task's default steps.

A click's work as the page runs it (the browser's canvas values converted,
the synthesis, the low-pass judge's verdict, the picture to send back), on
the bundled sample, timed in the server process. The first click of each tab
compiles the task (reported separately); then `--clicks` warm clicks give the
median and 95th percentile. Target on a 2-core CPU with a 32x32 model: warm
median <= 1 s, p95 <= 2 s. The browser round trip adds the page's own time
(tests/test_demo_browser.py prints it for the sketch tab).

Example:
    python benchmarks/demo_latency.py
    python benchmarks/demo_latency.py --model fastnet_l2_robust_int8 --clicks 30
"""

import argparse
import inspect
import os
import time

import numpy as np

import _common
from robustkeras import synthesis
from robustkeras.data import load_sample
from robustkeras.demo import inputs, models, tasks


def _steps(fn):
    return inspect.signature(fn).parameters["steps"].default


def _canvas_strokes():
    """A drawn canvas as the page sends it: a box and a base line in black on transparent paper."""
    canvas = np.zeros((256, 256, 4), np.uint8)
    canvas[176:184, 24:232] = canvas[72:184, 48:56] = canvas[72:184, 200:208] = canvas[72:80, 48:208] = 255
    canvas[..., :3] = 0
    return {"composite": canvas}


def _painted_layer(rows):
    layer = np.zeros((256, 256, 4), np.uint8)
    layer[rows, 64:192] = (255, 0, 255, 255)
    return {"layers": [layer]}


def clicks(m, x):
    """Each tab's click as `(name, steps and images per click, fn)`."""
    drawn, mask = _canvas_strokes(), _painted_layer(slice(96, 160))
    painter = synthesis.FeaturePainter(m.robust, x[0])
    sketch = _steps(synthesis.sketch_to_image)
    return [
        ("sketch -> image", f"{sketch} steps x 1 image, robust + standard",
         lambda: tasks.sketch(m, inputs.canvas_sketch(drawn, m.side), 3)),
        ("generate", f"{_steps(synthesis.generate)} steps x {tasks.GENERATED_PER_CLICK} images, robust + standard",
         lambda: tasks.generate(m, 7, 0)),
        ("inpaint", f"{_steps(synthesis.inpaint)} steps x 1 image",
         lambda: tasks.inpaint(m, x[0], inputs.painted_region(mask, m.side), 1)),
        ("translate", f"{_steps(synthesis.translate)} steps x 1 image", lambda: tasks.translate(m, x[7], 4)),
        ("paint features", f"{_steps(synthesis.FeaturePainter.paint)} steps x 1 image",
         lambda: tasks.paint(painter, m, inputs.painted_region(mask, m.side), 7)),
        ("undo", "no steps", lambda: tasks.undo(painter, m, 7)),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=models.DEFAULT_MODEL)
    parser.add_argument("--clicks", type=int, default=20, help="warm clicks per tab")
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: its default)")
    args = parser.parse_args()
    _common.set_threads(args.threads)
    _common.header("robustkeras demo: seconds per click (server side)",
                   data="the bundled sample (first 200 test images of the offline CIFAR-10 copy)")
    start = time.perf_counter()
    m = models.load(args.model)
    print(f"models loaded once in {time.perf_counter() - start:.1f} s ({m.name}, {m.side}x{m.side})\n")
    x, _ = load_sample(8)
    rows = []
    for name, work, fn in clicks(m, x):
        first = _timed(fn)
        warm = np.array([_timed(fn) for _ in range(args.clicks)])
        rows.append([name, work, f"{first:.2f}", f"{np.median(warm):.2f}", f"{np.percentile(warm, 95):.2f}",
                     f"{warm.max():.2f}"])
    _common.table(["tab", "work per click", "first click (s)", "warm median (s)", "warm p95 (s)", "warm max (s)"],
                  rows)
    print(f"{args.clicks} warm clicks per tab; load average at the end (1/5/15 min): "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
