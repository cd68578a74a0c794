"""Seconds per image and peak memory at 224x224 with a torchvision-layout ResNet-50 (generation and PGD).

Each task runs in its own fresh Python process (so peaks do not mix): build
`resnet50_imagenet` (full width unless `--widths`; random weights: speed and
memory do not depend on the values), read the RSS, run the task once with one
step (tracing and compiling), then time one call of `--steps` steps on a batch
of `--batch` images and read the peak RSS (`ru_maxrss`, TensorFlow included).
Generation is `synthesis.generate_upsampled` (seeds from 32 px statistics of
random images, upsampled to 224); PGD is `attacks.pgd` (L2, eps 3, 1 restart).
Both loops are compiled, so the time grows linearly with the steps: the table
gives seconds per image per step and for the default step counts (generation
20, PGD 10) computed from it.

Example:
    python benchmarks/imagenet_224.py
    python benchmarks/imagenet_224.py --batch 2 --steps 1 --widths 4 4 8 8
"""

import argparse
import json
import subprocess
import sys

import _common

CHILD = """
import json, resource, sys, time
import numpy as np
from robustkeras import attacks, synthesis
from robustkeras.models.torch_layout import resnet50_imagenet

def rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

task, batch, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
widths = json.loads(sys.argv[5])
if threads:
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
model = resnet50_imagenet(**({"widths": widths} if widths else {}))
rng = np.random.default_rng(0)
classes = np.arange(batch) % 2
stats = synthesis.compute_class_stats(rng.random((8, 32, 32, 3), np.float32), np.arange(8) % 2, rank=4,
                                      components=2)
x = rng.random((batch, 224, 224, 3), np.float32)
model(x[:1])
before = rss_mib()
if task == "generation":
    run = lambda n: synthesis.generate_upsampled(model, classes, stats, steps=n).images
else:
    run = lambda n: attacks.pgd(model, x, classes, norm="l2", eps=3.0, step_size=0.75, steps=n)
start = time.perf_counter()
run(1)
first = time.perf_counter() - start
start = time.perf_counter()
out = run(steps)
seconds = time.perf_counter() - start
assert out.shape == (batch, 224, 224, 3)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"before": before, "peak": peak, "first": first, "seconds": seconds,
                  "params": model.count_params()}))
"""
DEFAULT_STEPS = {"generation": 20, "pgd": 10}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(DEFAULT_STEPS), choices=list(DEFAULT_STEPS))
    parser.add_argument("--batch", type=int, default=8, help="images at once")
    parser.add_argument("--steps", type=int, default=3, help="steps of the timed call (after a 1-step warm-up)")
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: its default)")
    parser.add_argument("--widths", type=int, nargs=4, default=None, help="reduced stage widths (tests)")
    return parser.parse_args(argv)


def measure(task, args):
    """`{before, peak, first, seconds, params}` from a fresh child process."""
    out = subprocess.run([sys.executable, "-c", CHILD, task, str(args.batch), str(args.steps), str(args.threads),
                          json.dumps(args.widths)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{task}: child failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    args = parse_args(argv)
    _common.header("ResNet-50 (torchvision layout) at 224x224: generation and PGD",
                   data="no images read: random inputs and random weights (speed and memory do not depend on them)")
    print(f"batch {args.batch}, timed call of {args.steps} steps after a 1-step warm-up, one fresh process per "
          f"task, widths {args.widths or 'full (64, 128, 256, 512)'}; peak = ru_maxrss", flush=True)
    rows = []
    for task in args.tasks:
        m = measure(task, args)
        per_step = m["seconds"] / (args.batch * args.steps)
        rows.append([f"{task} ({m['params'] / 1e6:.2f}M params)", f"{per_step:.2f}",
                     f"{per_step * DEFAULT_STEPS[task]:.1f} ({DEFAULT_STEPS[task]} steps)", f"{m['first']:.1f}",
                     f"{m['peak']:.0f}", f"{m['peak'] - m['before']:.0f}"])
        print(f"  {task} done", flush=True)
    print()
    _common.table(["task", "s / image / step", "s / image at default steps", "first call, 1 step (s)",
                   "peak RSS (MiB)", "increase over model (MiB)"], rows)


if __name__ == "__main__":
    main()
