"""from_torch refuses hostile and malformed checkpoints with clear errors, before running anything from them."""

import json
import os
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from robustkeras.convert import UnsafeCheckpointError, load_safetensors, load_torch_file, read_checkpoint
from robustkeras.convert.checkpoint import split_state_dict
from robustkeras.convert.torch_pickle import MAGIC_NUMBER, PROTOCOL_VERSION
from robustkeras.models import from_torch

FIXTURES = Path(__file__).parent / "fixtures" / "torch"


@pytest.fixture(autouse=True)
def user_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBUSTKERAS_MODELS", str(tmp_path / "registry"))


class _Touch:
    """Pickles as a call of os.system that would create `marker`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _torch_zip(path, pickled, records=None):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickled)
        z.writestr("archive/byteorder", "little")
        for key, raw in (records or {}).items():
            z.writestr(f"archive/data/{key}", raw)
    return path


def _legacy(path, pickled):
    info = {"protocol_version": PROTOCOL_VERSION, "little_endian": True, "type_sizes": {}}
    path.write_bytes(b"".join(pickle.dumps(o, protocol=2) for o in (MAGIC_NUMBER, PROTOCOL_VERSION, info))
                     + pickled + pickle.dumps([], protocol=2))
    return path


def _safetensors(path, tensors, header_patch=None):
    header, body, offset = {}, b"", 0
    for name, arr in tensors.items():
        raw = np.ascontiguousarray(arr, np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        body, offset = body + raw, offset + len(raw)
    header.update(header_patch or {})
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + body)
    return path


@pytest.mark.parametrize("fmt", ["zip", "legacy"])
def test_a_pickle_that_calls_os_system_is_refused_naming_it_and_never_runs(tmp_path, fmt):
    marker = tmp_path / "ran"
    payload = pickle.dumps({"model": {}, "x": _Touch(marker)}, protocol=2)
    path = _torch_zip(tmp_path / "h.pt", payload) if fmt == "zip" else _legacy(tmp_path / "h.pt", payload)
    with pytest.raises(UnsafeCheckpointError, match=r"asks for `(posix|os|nt)\.system`"):
        from_torch(path, "resnet50_imagenet")
    obj, skipped = load_torch_file(path, skip_unsafe=True)  # stand-ins, never called
    assert skipped == [f"{os.system.__module__}.system"] and "skipped" in repr(obj["x"])
    assert not marker.exists()


@pytest.mark.parametrize("module,name", [("builtins", "eval"), ("subprocess", "Popen"), ("dill._dill", "_create_code"),
                                         ("torch.nn.modules.conv", "Conv2d"), ("numpy", "load")])
def test_every_name_outside_the_allow_list_is_refused(tmp_path, module, name):
    pickled = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"q\x00."
    with pytest.raises(UnsafeCheckpointError, match=f"`{module}.{name}`"):
        load_torch_file(_torch_zip(tmp_path / "h.pt", pickled))


def test_the_fixture_hostile_files_made_by_torch_are_refused():
    for file in ("hostile.pt", "hostile_legacy.pt"):
        with pytest.raises(UnsafeCheckpointError, match="system"):
            from_torch(FIXTURES / file, "resnet18_imagenet")


def test_truncated_and_damaged_torch_files_are_refused(tmp_path):
    raw = (FIXTURES / "madry_resnet50.pt").read_bytes()
    (tmp_path / "half.pt").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="truncated or damaged"):
        from_torch(tmp_path / "half.pt", "resnet50_imagenet")
    legacy = (FIXTURES / "madry_resnet18_legacy.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(legacy[:-100])
    with pytest.raises(ValueError, match="truncated or corrupted"):
        from_torch(tmp_path / "cut.pt", "resnet18_imagenet")
    storage = _dumps({"w": _StorageTensor("0", 100)})
    with pytest.raises(ValueError, match="hold 400 bytes. Received: 8"):
        load_torch_file(_torch_zip(tmp_path / "short.pt", storage, {"0": b"\0" * 8}))
    with pytest.raises(ValueError, match="storage 0 missing"):
        load_torch_file(_torch_zip(tmp_path / "none.pt", storage))
    for junk in (b"", b"hello world, not a checkpoint", b"\x80\x02garbage"):
        (tmp_path / "junk.pt").write_bytes(junk)
        with pytest.raises(ValueError, match="Expected a PyTorch checkpoint"):
            from_torch(tmp_path / "junk.pt", "resnet18_imagenet")


class _StorageTensor:
    """Pickles like a float tensor of `numel` elements in storage `key` (a persistent id, as torch writes)."""

    def __init__(self, key, numel, size=None):
        self.key, self.numel, self.size = key, numel, size or (numel,)

    def __reduce__(self):
        return (_rebuild, (_Storage(self.key, self.numel), 0, self.size, (1,) * len(self.size), False, {}))


def _rebuild():  # pickled as torch._utils._rebuild_tensor_v2 (see _dumps)
    raise AssertionError


class _Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


_rebuild.__module__, _rebuild.__qualname__ = "torch._utils", "_rebuild_tensor_v2"


class _StoragePickler(pickle.Pickler):
    def persistent_id(self, obj):
        return ("storage", _FloatStorage, obj.key, "cpu", obj.numel) if isinstance(obj, _Storage) else None


class _FloatStorage:
    pass


_FloatStorage.__module__, _FloatStorage.__qualname__ = "torch", "FloatStorage"


def _dumps(obj):
    """Pickle `obj` as torch.save's data.pkl would be, without torch (fake modules for the by-name references)."""
    import io
    import sys
    import types

    fake = {"torch": types.ModuleType("torch"), "torch._utils": types.ModuleType("torch._utils")}
    fake["torch"].FloatStorage, fake["torch._utils"]._rebuild_tensor_v2 = _FloatStorage, _rebuild
    saved = {k: sys.modules.get(k) for k in fake}
    sys.modules.update(fake)
    try:
        buffer = io.BytesIO()
        _StoragePickler(buffer, protocol=2).dump(obj)
        return buffer.getvalue()
    finally:
        for k, v in saved.items():
            sys.modules.pop(k) if v is None else sys.modules.__setitem__(k, v)


def test_tensors_outside_their_storage_are_refused(tmp_path):
    pickled = _dumps({"w": _StorageTensor("0", 4, size=(3, 3))})
    with pytest.raises(ValueError, match="inside its storage"):
        load_torch_file(_torch_zip(tmp_path / "view.pt", pickled, {"0": b"\0" * 16}))


def test_malformed_safetensors_are_refused(tmp_path):
    good = {"a": np.ones((2, 3))}
    array = load_safetensors(_safetensors(tmp_path / "ok.safetensors", good))["a"]
    assert array.shape == (2, 3) and array.dtype == np.float32
    cases = {"offsets": {"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 999]}},
             "dtype": {"a": {"dtype": "C64", "shape": [2, 3], "data_offsets": [0, 24]}},
             "lacks": {"a": {"shape": [2, 3]}}}
    for what, patch in cases.items():
        with pytest.raises(ValueError, match="Expected a safetensors file"):
            load_safetensors(_safetensors(tmp_path / f"{what}.safetensors", good, patch))
    (tmp_path / "long.safetensors").write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
    with pytest.raises(ValueError, match="header length"):
        read_checkpoint(tmp_path / "long.safetensors")
    (tmp_path / "json.safetensors").write_bytes(struct.pack("<Q", 5) + b"{nope")
    with pytest.raises(ValueError, match="not JSON"):
        read_checkpoint(tmp_path / "json.safetensors")


def test_wrong_architecture_missing_and_misshapen_weights_are_refused(tmp_path):
    with pytest.raises(ValueError, match="state dict of a resnet18_imagenet.*`fc.weight`"):
        from_torch(FIXTURES / "robustbench_preact18.pt", "resnet18_imagenet")
    state = load_safetensors(FIXTURES / "robustbench_wrn.safetensors")
    missing = {k: v for k, v in state.items() if k != "block2.layer.0.bn2.running_var"}
    with pytest.raises(ValueError, match=r"1 of its weights missing \['block2.layer.0.bn2.running_var'\]"):
        from_torch(_safetensors(tmp_path / "m.safetensors", missing), "wide_resnet28_10")
    extra = {**state, "block9.extra.weight": np.zeros(3)}
    with pytest.raises(ValueError, match=r"1 arrays unused \['block9.extra.weight'\]"):
        from_torch(_safetensors(tmp_path / "e.safetensors", extra), "wide_resnet28_10")
    bent = {**state, "fc.bias": np.zeros(11)}
    with pytest.raises(ValueError, match="`fc.bias` of shape"):
        from_torch(_safetensors(tmp_path / "b.safetensors", bent), "wide_resnet28_10")


def test_bad_arguments_and_odd_checkpoints_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="Expected `path`"):
        from_torch(tmp_path / "absent.pt", "resnet50_imagenet")
    with pytest.raises(ValueError, match="arch"):
        from_torch(FIXTURES / "robustbench_preact18.pt", "vgg16")
    with pytest.raises(ValueError, match="Expected a checkpoint holding a state dict"):
        from_torch(_torch_zip(tmp_path / "e.pt", pickle.dumps({"epoch": 3}, protocol=2)), "resnet50_imagenet")
    a, b = np.zeros(2, np.float32), np.ones(2, np.float32)
    with pytest.raises(ValueError, match="module.attacker.model.fc.bias"):
        split_state_dict({"module.model.fc.bias": a, "module.attacker.model.fc.bias": b}, "x.pt")
