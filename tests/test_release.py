"""The release path of the GPU-trained models: parts joined and hash-checked, float16 storage that loads as float32."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from robustkeras.models import get_model

ROOT = Path(__file__).resolve().parent.parent


def _script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_parts_join_to_the_exported_file_and_a_damaged_part_is_refused(tmp_path):
    export_parts, join_parts = _script("train_in_budget").export_parts, _script("release_model").join_parts
    source = tmp_path / "best.weights.h5"
    source.write_bytes(np.random.default_rng(0).bytes(10_000))
    (tmp_path / "out").mkdir()
    weights = export_parts(source, tmp_path / "out", part_bytes=4096)
    assert weights["parts"] == ["best.weights.h5.part0", "best.weights.h5.part1", "best.weights.h5.part2"]
    assert all((tmp_path / "out" / p).stat().st_size <= 4096 for p in weights["parts"])
    assert join_parts(tmp_path / "out", weights) == source.read_bytes()
    damaged = tmp_path / "out" / "best.weights.h5.part1"
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"\0")
    with pytest.raises(ValueError, match="sha256"):
        join_parts(tmp_path / "out", json.loads(json.dumps(weights)))


def test_float16_copy_halves_the_file_and_loads_as_float32(tmp_path, sample):
    model = get_model("fastnet_small")
    model.save_weights(tmp_path / "float32.weights.h5")
    _script("release_model").cast_float16(tmp_path / "float32.weights.h5", tmp_path / "float16.weights.h5")
    assert (tmp_path / "float16.weights.h5").stat().st_size < 0.6 * (tmp_path / "float32.weights.h5").stat().st_size
    again = get_model("fastnet_small")
    again.load_weights(tmp_path / "float16.weights.h5")
    assert {w.dtype for w in again.weights} == {"float32"}
    x = sample[0][:8]
    before, after = model.predict(x, verbose=0), again.predict(x, verbose=0)
    np.testing.assert_allclose(after, before, atol=2e-2 * np.abs(before).max())


def test_unreleasable_exports_are_refused_before_anything_is_written(tmp_path):
    check_results = _script("release_model").check_results
    finished = {"arch": "fastnet", "eval": {}, "weights": {"parts": [], "bytes": 0, "sha256": ""},
                "training": {"command": "", "epochs": 1, "chosen_epoch": 1, "minutes": 0}}
    check_results(finished, tmp_path, "fastnet")
    with pytest.raises(ValueError, match="cut short"):
        check_results({**finished, "cut_short": True}, tmp_path, "fastnet")
    with pytest.raises(ValueError, match="training.epochs"):
        check_results({**finished, "training": {"command": ""}}, tmp_path, "fastnet")
    with pytest.raises(ValueError, match="resnet18_cifar"):
        check_results(finished, tmp_path, "resnet18_cifar")


def test_float16_cast_refuses_overflow_and_keeps_other_data(tmp_path):
    import h5py

    cast = _script("release_model").cast_float16
    with h5py.File(tmp_path / "ok.h5", "w") as f:
        f.create_dataset("w", data=np.float32([0.5, -2.0])).attrs["note"] = "kept"
        f.create_dataset("count", data=np.int64([3]))
    cast(tmp_path / "ok.h5", tmp_path / "ok16.h5")
    with h5py.File(tmp_path / "ok16.h5", "r") as f:
        assert f["w"].dtype == np.float16 and f["w"].attrs["note"] == "kept" and f["count"][0] == 3
    with h5py.File(tmp_path / "big.h5", "w") as f:
        f.create_dataset("w", data=np.float32([7e4]))
    with pytest.raises(ValueError, match="float16"):
        cast(tmp_path / "big.h5", tmp_path / "big16.h5")
