"""Hand-made hostile checkpoints (raw pickle opcodes, no torch): nothing runs, memory stays bounded by the
file, and every refusal is one clear error naming the file (review of issue 34)."""

import json
import pickle
import struct
import time
import zipfile

import numpy as np
import pytest

from robustkeras import pretrained
from robustkeras.convert import UnsafeCheckpointError, load_torch_file, registry
from robustkeras.convert.torch_pickle import MAGIC_NUMBER, PROTOCOL_VERSION

P = b"\x80\x02"


@pytest.fixture(autouse=True)
def user_registry(tmp_path, monkeypatch):
    monkeypatch.setenv(registry.ENV_VAR, str(tmp_path / "registry"))
    return tmp_path / "registry"


def _global(module, name):
    return b"c" + f"{module}\n{name}\n".encode()


def _int(n):
    raw = n.to_bytes((n.bit_length() + 8) // 8 or 1, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


def _str(text):
    return b"X" + struct.pack("<I", len(text)) + text.encode()


def _tuple(*items):
    return b"(" + b"".join(items) + b"t"


def _storage(key, numel, kind="FloatStorage", view=None):
    """A persistent id as torch.save writes it: ('storage', torch.FloatStorage, key, 'cpu', numel)."""
    return b"(" + _str("storage") + _global("torch", kind) + _str(key) + _str("cpu") + _int(numel) \
        + (b"" if view is None else view) + b"tQ"


def _tensor(storage, offset, size, stride):
    return _global("torch._utils", "_rebuild_tensor_v2") + _tuple(
        storage, _int(offset), _tuple(*map(_int, size)), _tuple(*map(_int, stride)), b"\x89", b"}") + b"R"


def _zip(path, pickled, records=None, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        z.writestr("archive/data.pkl", pickled)
        z.writestr("archive/byteorder", "little")
        for key, raw in (records or {}).items():
            z.writestr(f"archive/data/{key}", raw)
    return path


def _legacy(path, pickled, keys=P + b"]."):
    info = {"protocol_version": PROTOCOL_VERSION, "little_endian": True, "type_sizes": {}}
    path.write_bytes(b"".join(pickle.dumps(o, protocol=2) for o in (MAGIC_NUMBER, PROTOCOL_VERSION, info))
                     + pickled + keys)
    return path


def test_a_zip_bomb_is_refused_before_it_is_decompressed(tmp_path):
    bomb = _zip(tmp_path / "bomb.pt", P + b"." + b"\0" * (16 << 20), compression=zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 100_000
    with pytest.raises(ValueError, match=r"bomb.pt .*4x the file's size.*archive/data.pkl"):
        load_torch_file(bomb)


def test_lengths_beyond_the_file_are_refused_before_anything_is_allocated(tmp_path):
    huge = b"\x80\x04\x8e" + struct.pack("<Q", 40 << 30) + b"abc."  # BINBYTES8 announcing 40 GB
    for path in (_zip(tmp_path / "z.pt", huge), _legacy(tmp_path / "l.pt", huge)):
        with pytest.raises(ValueError, match=f"{path.name} .*42949672960 bytes"):
            load_torch_file(path)
    tensor = _tensor(_storage("0", 30 << 28), 0, (4,), (1,))  # legacy storage of 30 GB announced
    keys = P + b"]" + _str("0") + b"a."
    path = _legacy(tmp_path / "s.pt", P + tensor + b".", keys + struct.pack("<q", 30 << 28) + b"\0" * 16)
    with pytest.raises(ValueError, match="storage 0 of .*s.pt to hold 32212254720 bytes. Received: 16"):
        load_torch_file(path)


def test_views_and_repeated_tensors_cannot_multiply_memory(tmp_path):
    stride0 = _tensor(_storage("0", 4), 0, (60000, 60000), (0, 0))  # 13 GiB from 16 bytes
    with pytest.raises(ValueError, match="at most the elements of its storage.*60000, 60000"):
        load_torch_file(_zip(tmp_path / "a.pt", P + stride0 + b".", {"0": b"\0" * 16}))
    first = _tensor(_storage("0", 1 << 18) + b"q\x01", 0, (1 << 18,), (1,))
    again = b"".join(_tensor(b"h\x01", 0, (1 << 18,), (1,)) for _ in range(80))  # 80 MiB from 1 MiB
    with pytest.raises(ValueError, match="4x the bytes of its storages"):
        load_torch_file(_zip(tmp_path / "b.pt", P + b"(" + first + again + b"l.", {"0": b"\0" * (1 << 20)}))


def test_a_shared_list_is_resolved_once_not_exponentially(tmp_path):
    pickled = P + b"]q\x00"
    for i in range(1, 41):  # list i holds list i-1 twice: 2**40 paths
        pickled += b"](h" + bytes([i - 1]) + b"h" + bytes([i - 1]) + b"eq" + bytes([i])
    start = time.time()
    out, _ = load_torch_file(_zip(tmp_path / "dag.pt", pickled + b"."))
    assert out[0] is out[1] and time.time() - start < 5


def test_attributes_set_on_an_ordered_dict_are_never_called(tmp_path):
    # BUILD sets OrderedDict().items = set: a resolver calling obj.items() would see an empty checkpoint
    pickled = P + _global("collections", "OrderedDict") + b")R" + _str("w") + b"K\x07s" \
        + b"N}" + _str("items") + _global("builtins", "set") + b"s\x86b."
    out, _ = load_torch_file(_zip(tmp_path / "od.pt", pickled))
    assert dict(out) == {"w": 7}


@pytest.mark.parametrize("what,pickled", [
    ("set-append", P + _global("builtins", "set") + b")R(K\x01e."),
    ("empty-scalar", P + _global("numpy.core.multiarray", "scalar") + _global("numpy", "dtype") + _str("f4")
     + b"\x85RC\x00\x86R."),
    ("dtype-list", P + _global("torch._utils", "_rebuild_tensor_v3") + _tuple(
        _storage("0", 16, "UntypedStorage"), _int(0), _tuple(_int(4)), _tuple(_int(1)), b"\x89", b"}", b"]") + b"R."),
    ("100-dims", P + _tensor(_storage("0", 4), 0, (1,) * 100, (1,) * 100) + b"."),
    ("zero-and-huge", P + _tensor(_storage("0", 4), 0, (0, 10 ** 30), (1, 1)) + b"."),
], ids=lambda v: v if isinstance(v, str) else "")
def test_malformed_objects_give_one_clear_error_naming_the_file(tmp_path, what, pickled):
    path = _zip(tmp_path / f"{what}.pt", pickled, {"0": b"\0" * 16})
    with pytest.raises(ValueError, match=f"^Expected .*{what}.pt") as info:
        load_torch_file(path)
    assert "\n" not in str(info.value)


def test_legacy_refusals_name_the_file(tmp_path):
    view = _str("1") + _int(0) + _int(4)  # (view key, offset, size): pre-0.4 storage views
    path = _legacy(tmp_path / "v.pt", P + _tensor(_storage("0", 4, view=_tuple(view)), 0, (4,), (1,)) + b".")
    with pytest.raises(ValueError, match="v.pt. Received: a storage view"):
        load_torch_file(path)
    (tmp_path / "h.pt").write_bytes(P + _global("os", "system") + _str("id") + b"\x85R.")
    with pytest.raises(UnsafeCheckpointError, match="h.pt asks for `os.system`"):
        load_torch_file(tmp_path / "h.pt")


def test_a_damaged_registry_entry_or_a_shipped_name_is_refused_clearly(user_registry, tmp_path):
    user_registry.mkdir()
    (user_registry / "odd.json").write_text(json.dumps({"arch": "preact_resnet18", "file": "../../etc/passwd"}))
    (user_registry / "alien.json").write_text(json.dumps({"arch": "vgg_from_mars", "sha256": "0"}))
    (user_registry / "alien.weights.h5").write_bytes(b"x")
    assert registry.entries()["odd"]["path"] == str(user_registry / "odd.weights.h5")
    with pytest.raises(FileNotFoundError, match="odd.weights.h5"):
        pretrained.load("odd")
    with pytest.raises(ValueError, match="vgg_from_mars"):
        pretrained.load("alien")
    with pytest.raises(ValueError, match="shipped model"):
        registry.check_name(pretrained.available()[0])


def test_an_unwritable_registry_is_refused_before_the_conversion(monkeypatch, tmp_path):
    from robustkeras.models import from_torch

    (tmp_path / "a_file").write_text("")
    monkeypatch.setenv(registry.ENV_VAR, str(tmp_path / "a_file" / "models"))
    with pytest.raises(PermissionError, match="writable registry folder.*register=False"):
        from_torch(tmp_path / "a_file", "resnet18_imagenet")


def test_skip_unsafe_warns_naming_what_it_skipped():
    from pathlib import Path

    from robustkeras.models import from_torch

    hostile = Path(__file__).parent / "fixtures" / "torch" / "hostile.pt"
    with pytest.warns(UserWarning, match=r"asked for \['(posix|os|nt).system'\]: skipped \(never called"):
        with pytest.raises(ValueError, match="Expected the state dict"):
            from_torch(hostile, "resnet18_imagenet", skip_unsafe=True, register=False)


def test_tour_flags_for_converted_models_are_checked(tmp_path):
    from robustkeras.tour import run_tour
    from robustkeras.tour_folder import read_class_names

    with pytest.raises(ValueError, match="only with a model converted by from_torch"):
        run_tour(tmp_path, model_name="fastnet_l2_robust", images=tmp_path, classes=tmp_path / "c.txt")
    for text in ("{not json", json.dumps({"1": ["n1", "a"], "2": ["n2", "b"]})):
        (tmp_path / "c.json").write_text(text)
        with pytest.raises(ValueError, match="Expected `--classes` JSON"):
            read_class_names(tmp_path / "c.json")


def test_a_safetensors_shape_whose_int64_product_wraps_is_refused(tmp_path):
    from robustkeras.convert import load_safetensors

    text = json.dumps({"a": {"dtype": "F32", "shape": [2 ** 62 + 1, 4], "data_offsets": [0, 16]}}).encode()
    (tmp_path / "w.safetensors").write_bytes(struct.pack("<Q", len(text)) + text + b"\0" * 16)
    with pytest.raises(ValueError, match=r"^Expected a safetensors file. Received: .*w.safetensors \(tensor 'a'"):
        load_safetensors(tmp_path / "w.safetensors")
