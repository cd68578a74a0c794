"""Slow: re-create the PyTorch fixtures with torch (when installed) and check the converter still matches them.

Set ROBUSTKERAS_TORCH_PYTHON to a Python that has torch, dill and safetensors (e.g. a separate venv) to run the
script there; otherwise the test runs it with this Python and is skipped without torch.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "make_torch_fixtures.py"


@pytest.mark.slow
def test_fixtures_recreated_with_torch_convert_to_the_same_logits(tmp_path, monkeypatch):
    python = os.environ.get("ROBUSTKERAS_TORCH_PYTHON")  # a Python with torch, dill, safetensors (own venv)
    if python is None:
        for module in ("torch", "dill", "safetensors"):
            pytest.importorskip(module)
    out = subprocess.run([python or sys.executable, str(SCRIPT), "--out", str(tmp_path)], capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert sum(f.stat().st_size for f in tmp_path.iterdir()) < 2_000_000
    monkeypatch.setenv("ROBUSTKERAS_MODELS", str(tmp_path / "registry"))
    from robustkeras.models import from_torch

    for file, arch, side, ref in [("madry_resnet50_dill.pt", "resnet50_imagenet", 48, "madry_resnet50.npz"),
                                  ("madry_resnet18_legacy.pt", "resnet18_imagenet", 48, "madry_resnet18_legacy.npz"),
                                  ("robustbench_preact18.pt", "preact_resnet18", 32, "robustbench_preact18.npz"),
                                  ("robustbench_wrn.safetensors", "wide_resnet28_10", 32, "robustbench_wrn.npz")]:
        data = np.load(tmp_path / ref)
        model = from_torch(tmp_path / file, arch, input_shape=(side, side, 3), register=False)
        logits = np.asarray(model(data["x"]))
        assert np.max(np.abs(logits - data["logits"])) <= 1e-5 * np.max(np.abs(data["logits"])), file
