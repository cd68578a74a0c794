"""The benchmark scripts run end to end on tiny sizes (their figures come from full runs, never tests)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("script, args, column", [
    ("pgd_overhead.py", ["--models", "fastnet_small", "--batch", "4", "--steps", "1", "3", "--repeats", "1",
                         "--rounds", "2"], "ratio per step (range)"),
    ("pgd_overhead.py", ["--models", "fastnet_small", "--batch", "4", "--steps", "1", "3", "--repeats", "1",
                         "--attack", "apgd"], "APGD step (ms)"),
    ("train_throughput.py", ["--models", "fastnet_small", "--batch", "4", "--batches", "2", "--pgd-steps", "1"],
     "PGD-1 img/s (ratio)"),
])
def test_benchmark_runs(script, args, column):
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = [line for line in proc.stdout.splitlines() if line.startswith("| fastnet_small")]
    assert column in proc.stdout and len(table) == 1, proc.stdout
