"""Pretrained models shipped with the package, listed in `manifest.json`, hash-checked at load.

Each entry names its architecture, weights file (`.weights.h5`, no pickle),
sha256, the exact training command, data, machine and minutes, and measured
accuracies with the attack stated.
"""

import functools
import hashlib
import json
import os
from pathlib import Path

import keras

from robustkeras import _checks
from robustkeras.models import ARCHITECTURES  # pretrained depends on models; models imports it only in get_model

FOLDER = Path(__file__).resolve().parent
MANIFEST = FOLDER / "manifest.json"


def manifest():
    """The registry: `{name: entry}` as stored in `manifest.json`."""
    if not MANIFEST.is_file():
        return {}
    return json.loads(MANIFEST.read_text())


def available():
    """Names of the pretrained models.

    Example:
        >>> "fastnet_l2_robust" in available()
        True
    """
    return sorted(manifest())


def sha256(path):
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _weights_path(name, entry, path):
    arg = "path" if path is not None else "name"
    path = Path(path) if path is not None else FOLDER / entry["file"]
    if not path.is_file():
        raise FileNotFoundError(f"Expected `{arg}` to lead to the weights file of `{name}`. Received: {path} (not found)")
    if not isinstance(entry.get("sha256"), str):
        raise ValueError(f"Expected the manifest entry of `{name}` to hold the weights' sha256. Received: an entry "
                         f"without one in {MANIFEST} (re-register the model with scripts/release_model.py)")
    actual = sha256(path)
    if actual != entry["sha256"]:
        raise ValueError(
            f"Expected `{arg}` to lead to the weights of `{name}` (sha256 {entry['sha256'][:16]}...). "
            f"Received: {path} with sha256 {actual[:16]}... (truncated, corrupted or another model's file)")
    return path


def _user_entry(name):
    """The entry of a converted model (`robustkeras.models.from_torch`): a name in the user registry or its
    `.weights.h5` path; `None` if neither."""
    from robustkeras.convert import registry

    if not isinstance(name, (str, os.PathLike)):
        return None
    entry = registry.entries().get(str(name)) if isinstance(name, str) else None
    return entry if entry is not None else registry.entry_for_weights(name)


def load(name, *, expected_arch=None, path=None, compile=True):
    """Load a pretrained model by name, after checking its weights file's sha256.

    Args:
        name: one of `available()`, or a model converted with `robustkeras.models.from_torch`: its name in
            the user registry (`robustkeras.convert.registry_folder()`) or the path of its `.weights.h5`.
        expected_arch: raise if the entry is of another architecture.
        path: load this weights file instead of the shipped one (still hash-checked).
        compile: compile with cross-entropy on logits and accuracy.

    Returns:
        A `keras.Model` returning logits for inputs in [0, 1].

    Example:
        >>> model = load("fastnet_l2_robust")
    """
    entries = manifest()
    user = None if isinstance(name, str) and name in entries else _user_entry(name)
    if user is not None:
        entries, name = {**entries, str(name): user}, str(name)
        path = user["path"] if path is None else path
    name = _checks.one_of("name", name, entries)
    if expected_arch is not None:
        _checks.one_of("expected_arch", expected_arch, ARCHITECTURES)
    entry = entries[name]
    if expected_arch is not None and entry["arch"] != expected_arch:
        raise ValueError(f"Expected `name` to be weights of architecture `{expected_arch}`. Received: `{name}` is a {entry['arch']}")
    if entry.get("arch") not in ARCHITECTURES or not isinstance(entry.get("arch_kwargs", {}), dict):
        raise ValueError(f"Expected the entry of `{name}` to name an architecture of robustkeras.models. Received: "
                         f"arch={str(entry.get('arch'))[:60]!r} (a damaged or foreign registry file; convert again)")
    weights = _weights_path(name, entry, path)
    model = ARCHITECTURES[entry["arch"]](**entry.get("arch_kwargs", {}))
    try:
        model.load_weights(weights)
    except Exception as err:  # h5py/keras raise many kinds for a mismatched file
        raise ValueError(f"Weights file {weights} (`name`={name!r}) does not fit architecture `{entry['arch']}`: {err}") from err
    if compile:
        model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


@functools.lru_cache(maxsize=2)
def load_quantized(name, mode="int8"):
    """A pretrained model quantised at load: int8 deployable and differentiable twin (`models.quantize`).

    Calibrated on the bundled sample (the first 200 offline CIFAR-10 test
    images: the only images a fresh clone has), so the same weights always give
    the same int8 model; the calibration sets only the activation ranges. The
    benchmark (`benchmarks/quantize_int8.py`) calibrates on training images
    instead. Needs TensorFlow installed (the converter; under JAX it runs in a
    subprocess). Converted once per process and name.

    Args:
        name: one of `available()`.
        mode: "int8".

    Returns:
        A `models.QuantizedModel` (`.flatbuffer`, `.tflite`, `.twin`).

    Example:
        >>> twin = load_quantized("fastnet_l2_robust").twin
    """
    from robustkeras.data import load_sample
    from robustkeras.models.quantize import quantize

    model = load(name, compile=False)
    return quantize(model, mode, calibration=load_sample()[0])


def register(name, *, arch, weights_file, **info):
    """Add or replace a manifest entry for a weights file inside this folder (used by release scripts)."""
    from robustkeras import _io

    weights_file = Path(weights_file)
    entries = manifest()
    entries[name] = {"arch": arch, "file": weights_file.name, "sha256": sha256(weights_file), **info}
    _io.write_text(MANIFEST, json.dumps(entries, indent=1, sort_keys=True) + "\n")
    return entries[name]
