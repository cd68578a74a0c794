"""Adversarial-training images/s against device count (`robustkeras.distribute.data_parallel`).

Each (backend, device count) runs in its own process: JAX with
`XLA_FLAGS=--xla_force_host_platform_device_count=N`, TensorFlow with N logical
CPUs. On one CPU these simulated devices share the same cores, so the table
measures the overhead of data parallelism (splitting the batch, replicated
variables, gradient all-reduce), not a speed-up; run it on a multi-GPU machine
for that. The global batch is fixed (`--batch`); each run is warmed up (traced)
with one `fit`, then `--batches` batches are timed.

Example:
    python benchmarks/distributed_throughput.py --devices 1 2 4 --backends jax tensorflow
"""

import argparse
import json
import os
import subprocess
import sys

_CHILD = """
import json, os, sys, time
import numpy as np
from robustkeras import distribute
n, arch, batch, batches, steps = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
if os.environ["KERAS_BACKEND"] == "tensorflow":
    distribute.simulate_cpu_devices(n)
import keras
from robustkeras.models import get_model
from robustkeras.training import AdversarialTrainer
rng = np.random.default_rng(0)
x = rng.uniform(0, 1, (batch * batches, 32, 32, 3)).astype("float32")
y = rng.integers(0, 10, batch * batches).astype("int32")
with distribute.data_parallel(n) as dp:
    keras.utils.set_random_seed(0)
    trainer = AdversarialTrainer(dp.prepare(get_model(arch)), norm="l2", eps=0.5, steps=steps)
    trainer.compile(optimizer=keras.optimizers.SGD(0.01))
    trainer.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)  # trace
    start = time.perf_counter()
    trainer.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
print(json.dumps({"devices": dp.replicas, "images_per_s": round(len(x) / seconds, 1)}))
"""


def measure(backend, devices, args):
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3",
           "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    out = subprocess.run([sys.executable, "-c", _CHILD, str(devices), args.arch, str(args.batch),
                          str(args.batches), str(args.steps)], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])["images_per_s"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--backends", nargs="+", default=["jax", "tensorflow"])
    parser.add_argument("--arch", default="fastnet_small")
    parser.add_argument("--batch", type=int, default=128, help="global batch")
    parser.add_argument("--batches", type=int, default=8, help="timed batches")
    parser.add_argument("--steps", type=int, default=1, help="attack steps (1 = FGSM-RS)")
    args = parser.parse_args(argv)
    print("| backend | devices | images/s | vs 1 device |")
    print("|---|---|---|---|")
    for backend in args.backends:
        base = None
        for n in args.devices:
            rate = measure(backend, n, args)
            base = base or rate
            print(f"| {backend} | {n} | {rate} | {rate / base:.2f} |", flush=True)


if __name__ == "__main__":
    main()
