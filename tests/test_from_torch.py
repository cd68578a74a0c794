"""from_torch: PyTorch checkpoints (MadryLab, RobustBench, safetensors) give PyTorch's logits and input gradients.

The fixtures (tests/fixtures/torch/) were made by scripts/make_torch_fixtures.py
with PyTorch's own layers, random weights and random BatchNorm statistics;
`<name>.npz` holds PyTorch's logits and input gradients. No torch needed here.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from keras import ops

from robustkeras import backend, pretrained
from robustkeras.convert import registry
from robustkeras.models import from_torch

FIXTURES = Path(__file__).parent / "fixtures" / "torch"
CASES = [  # file, arch, input side, reference npz
    ("madry_resnet50.pt", "resnet50_imagenet", 48, "madry_resnet50.npz"),
    ("madry_resnet50_dill.pt", "resnet50_imagenet", 48, "madry_resnet50.npz"),
    ("madry_resnet18_legacy.pt", "resnet18_imagenet", 48, "madry_resnet18_legacy.npz"),
    ("robustbench_preact18.pt", "preact_resnet18", 32, "robustbench_preact18.npz"),
    ("robustbench_wrn.safetensors", "wide_resnet28_10", 32, "robustbench_wrn.npz"),
]


@pytest.fixture(autouse=True)
def user_registry(tmp_path, monkeypatch):
    """Every test writes into its own registry folder, never the user's."""
    monkeypatch.setenv(registry.ENV_VAR, str(tmp_path / "registry"))
    return tmp_path / "registry"


def _input_grad(model, x, v):
    _, grad = backend.value_and_input_grad(lambda z: ops.sum(model(z) * v, axis=1), x)
    return np.asarray(grad)


def _cosines(a, b):
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.parametrize("file,arch,side,ref", CASES, ids=[c[0] for c in CASES])
def test_logits_and_input_gradients_match_pytorch(file, arch, side, ref):
    model = from_torch(FIXTURES / file, arch, input_shape=(side, side, 3), register=False)
    data = np.load(FIXTURES / ref)
    logits = np.asarray(model(data["x"]))
    assert np.max(np.abs(logits - data["logits"])) <= 1e-5 * np.max(np.abs(data["logits"]))
    grad = _input_grad(model, ops.convert_to_tensor(data["x"]), ops.convert_to_tensor(data["v"]))
    assert np.min(_cosines(grad, data["grad"])) >= 0.9999


def test_widths_classes_and_the_madrylab_normaliser_come_from_the_file():
    model = from_torch(FIXTURES / "madry_resnet18_legacy.pt", "resnet18_imagenet", register=False)
    normalizer = model.get_layer("normalizer")
    assert np.allclose(normalizer.mean, (0.5, 0.4, 0.3)) and np.allclose(normalizer.std, (0.2, 0.25, 0.3))
    assert model.get_layer("layer1.0.conv1").kernel.shape == (3, 3, 8, 8)
    assert model.output_shape == (None, 10) and model.input_shape == (None, 224, 224, 3)
    robustbench = from_torch(FIXTURES / "robustbench_preact18.pt", "preact_resnet18", register=False)
    assert robustbench.get_layer("normalizer").mean == (0.0, 0.0, 0.0)  # RobustBench models take raw [0, 1]


def test_registry_writes_weights_with_sha256_and_pretrained_load_reads_name_and_path(user_registry):
    model = from_torch(FIXTURES / "robustbench_preact18.pt", "preact_resnet18", name="rb_preact")
    weights, entry_file = user_registry / "rb_preact.weights.h5", user_registry / "rb_preact.json"
    entry = json.loads(entry_file.read_text())
    assert entry["sha256"] == pretrained.sha256(weights) and entry["arch"] == "preact_resnet18"
    assert entry["source_sha256"] == pretrained.sha256(FIXTURES / "robustbench_preact18.pt")
    x = np.load(FIXTURES / "robustbench_preact18.npz")["x"]
    for key in ("rb_preact", str(weights)):
        loaded = pretrained.load(key)
        np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=0, atol=1e-6)
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ValueError, match="sha256"):
        pretrained.load("rb_preact")


def test_default_name_is_the_file_stem_and_bad_names_are_refused(user_registry):
    from_torch(FIXTURES / "robustbench_wrn.safetensors", "wide_resnet28_10")
    assert (user_registry / "robustbench_wrn.weights.h5").is_file()
    with pytest.raises(ValueError, match="Expected `name`"):
        from_torch(FIXTURES / "robustbench_wrn.safetensors", "wide_resnet28_10", name="../escape")


@pytest.mark.slow  # the JAX backend compiles an initializer per weight shape: about 40 s on a loaded 2-core CPU
def test_jax_backend_gives_the_same_logits_and_gradients():
    script = f"""
import numpy as np, jax, jax.numpy as jnp
from robustkeras.models import from_torch
data = np.load({str(FIXTURES / 'robustbench_preact18.npz')!r})
model = from_torch({str(FIXTURES / 'robustbench_preact18.pt')!r}, "preact_resnet18", register=False)
logits = np.asarray(model(data["x"]))
grad = np.asarray(jax.jit(jax.grad(lambda z: jnp.sum(model(z) * data["v"])))(jnp.asarray(data["x"])))
a, b = grad.reshape(2, -1), data["grad"].reshape(2, -1)
cos = np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
assert np.max(np.abs(logits - data["logits"])) <= 1e-5 * np.max(np.abs(data["logits"])), logits
assert cos.min() >= 0.9999, cos
print("JAX OK")
"""
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and "JAX OK" in out.stdout, out.stdout[-1000:] + out.stderr[-3000:]
