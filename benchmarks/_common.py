"""Shared helpers of the benchmark scripts: machine description, timing, tables, data.

Every script prints its own header (machine, date, versions, data) and a small
table of measured ratios; nothing here is a test.
"""

import datetime
import os
import platform
import time

import numpy as np


def cpu_name():
    """The CPU model from /proc/cpuinfo (Linux), else `platform.processor()`."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def accelerators():
    """Names of TensorFlow GPUs, or "none"."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return ", ".join(g.name for g in gpus) or "none"


def header(title, data="measured on the offline CIFAR-10 copy"):
    """Print the title, machine, date, library versions and data used."""
    import keras
    import tensorflow as tf

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# {title}")
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, GPU: {accelerators()}; {platform.system()} "
          f"{platform.release()}")
    print(f"date: {now}; python {platform.python_version()}, tensorflow {tf.__version__}, "
          f"keras {keras.__version__} (backend {keras.backend.backend()})")
    print(f"data: {data}")
    print(f"load average at start (1/5/15 min): {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
          f"(other processes on these cores skew the timings)")
    print()


def time_call(fn, *, repeats=3, warmup=1):
    """Best-of-`repeats` wall time (seconds) of `fn()` after `warmup` untimed calls.

    `fn` must block until its result is computed (e.g. return numpy).
    """
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def table(headers, rows):
    """Print a Markdown table (also readable in a terminal)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
    print(flush=True)


def test_images(n, *, seed=0):
    """`n` CIFAR-10 test images (float32 in [0, 1]) and int32 labels, and where they came from.

    Falls back to the bundled 200-image sample, tiled, if the full copy is missing.
    """
    from robustkeras import data

    try:
        x, y = data.load_cifar10_arrays("test", limit=n)
        return data.to_float(x), y.astype(np.int32), "the offline CIFAR-10 copy (test split)"
    except FileNotFoundError:
        x, y = data.load_sample()
        reps = -(-n // len(x))
        x, y = np.concatenate([x] * reps)[:n], np.concatenate([y] * reps)[:n]
        return x, y, "the bundled 200-image CIFAR-10 sample (full copy not found)"


def set_threads(threads):
    """Pin TensorFlow's thread pools (0 keeps TensorFlow's default); call before any op runs."""
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
