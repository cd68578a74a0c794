"""Peak resident memory (RSS) of class-conditional synthesis of a batch of images, per model.

Each model runs in its own fresh Python process (so peaks do not mix): build
the model, read the RSS, run `robustkeras.synthesis.generate` on a batch of
`--batch` images (classes 0..9 repeated), read the peak RSS (`ru_maxrss`).
The table gives the process peak (TensorFlow included) and the increase over
the RSS just before synthesis (what synthesis itself costs). Memory hardly
depends on the number of steps (the optimizer loop is compiled), so a few
steps are enough.

Example:
    python benchmarks/synthesis_memory.py
    python benchmarks/synthesis_memory.py --models fastnet_small --batch 10 --steps 2
"""

import argparse
import json
import subprocess
import sys

import _common

MODELS = ["fastnet_small", "fastnet", "mobilenetv2_cifar", "resnet18_cifar"]

CHILD = """
import json, resource, sys
import numpy as np
from robustkeras.models import get_model
from robustkeras.synthesis import generate

def rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

name, batch, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
model = get_model(name)
model(np.zeros((1, 32, 32, 3), "float32"))
before = rss_mib()
images = generate(model, np.arange(batch) % 10, steps=steps).images
assert images.shape == (batch, 32, 32, 3)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"before": before, "peak": peak}))
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=MODELS, help="registered architectures")
    parser.add_argument("--batch", type=int, default=100, help="images synthesised at once")
    parser.add_argument("--steps", type=int, default=5, help="synthesis steps (a compiled loop: memory does not grow with steps)")
    return parser.parse_args(argv)


def measure(name, batch, steps):
    """`{before, peak}` in MiB from a fresh child process."""
    out = subprocess.run([sys.executable, "-c", CHILD, name, str(batch), str(steps)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{name}: child failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    args = parse_args(argv)
    _common.header("Peak memory of synthesis (robustkeras.synthesis.generate)",
                   data="no images read: seeds from the shipped CIFAR-10 class statistics; untrained models")
    print(f"batch {args.batch}, {args.steps} steps, one fresh process per model; peak = ru_maxrss", flush=True)
    rows = []
    for name in args.models:
        m = measure(name, args.batch, args.steps)
        rows.append([name, f"{m['peak']:.0f}", f"{m['before']:.0f}", f"{m['peak'] - m['before']:.0f}"])
        print(f"  {name} done", flush=True)
    print()
    _common.table(["model", "peak RSS (MiB)", "RSS before synthesis (MiB)", "synthesis increase (MiB)"], rows)


if __name__ == "__main__":
    main()
