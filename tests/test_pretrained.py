"""The weights registry: names, hash checks, architecture checks, and the shipped numbers."""

import json
import shutil

import numpy as np
import pytest

from robustkeras import pretrained
from robustkeras.evaluate import clean_accuracy, robust_accuracy
from robustkeras.models import get_model


def test_available_lists_the_shipped_models():
    names = pretrained.available()
    for name in ("fastnet_l2_robust", "fastnet_standard", "fastnet_judge"):
        assert name in names
    for entry in pretrained.manifest().values():
        assert (pretrained.FOLDER / entry["file"]).stat().st_size <= 25 * 2**20
        assert len(entry["sha256"]) == 64


def test_unknown_name_is_a_clear_error():
    with pytest.raises(ValueError, match="`name`"):
        pretrained.load("resnet1000")
    with pytest.raises(ValueError, match="`name`"):
        get_model("vgg")


def test_truncated_or_foreign_weights_are_refused(tmp_path):
    shipped = pretrained.FOLDER / pretrained.manifest()["fastnet_l2_robust"]["file"]
    truncated = tmp_path / "t.weights.h5"
    truncated.write_bytes(shipped.read_bytes()[: shipped.stat().st_size // 2])
    with pytest.raises(ValueError, match="sha256"):
        pretrained.load("fastnet_l2_robust", path=truncated)
    with pytest.raises(FileNotFoundError):
        pretrained.load("fastnet_l2_robust", path=tmp_path / "missing.weights.h5")
    judge = pretrained.FOLDER / pretrained.manifest()["fastnet_judge"]["file"]
    with pytest.raises(ValueError, match="sha256"):
        pretrained.load("fastnet_l2_robust", path=judge)


def test_wrong_architecture_is_refused(monkeypatch, tmp_path):
    entries = pretrained.manifest()
    entries["fastnet_l2_robust"] = {**entries["fastnet_l2_robust"], "arch": "resnet18_cifar"}
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(entries))
    monkeypatch.setattr(pretrained, "MANIFEST", manifest)
    with pytest.raises(ValueError, match="does not fit architecture"):
        pretrained.load("fastnet_l2_robust")
    with pytest.raises(ValueError, match="architecture `fastnet`"):
        get_model("fastnet", weights="fastnet_l2_robust")


def test_architecture_arguments_with_weights_are_refused():
    with pytest.raises(ValueError, match="`weights`"):
        get_model("fastnet", weights="fastnet_l2_robust", num_classes=100)


def test_get_model_goes_through_the_registry(sample):
    model = get_model("fastnet", weights="fastnet_l2_robust")
    again = pretrained.load("fastnet_l2_robust")
    np.testing.assert_allclose(model.predict(sample[0][:8], verbose=0), again.predict(sample[0][:8], verbose=0), atol=1e-5)


def test_robust_model_is_robust_and_standard_is_not(robust_model, standard_model, sample):
    x, y = sample
    robust = robust_accuracy(robust_model, x, y, norm="l2", eps=0.5, steps=10)
    standard = robust_accuracy(standard_model, x, y, norm="l2", eps=0.5, steps=10)
    assert robust["clean"] > 0.7 and robust["robust"] > 0.45
    assert standard["clean"] > 0.8 and standard["robust"] < 0.2


@pytest.mark.slow
def test_manifest_numbers_reproduce_on_500_test_images():
    from robustkeras.data import load_cifar10_arrays, to_float

    x, y = load_cifar10_arrays("test", limit=500)
    model = pretrained.load("fastnet_l2_robust")
    result = robust_accuracy(model, to_float(x), y.astype("int32"), norm="l2", eps=0.5, steps=20)
    shipped = pretrained.manifest()["fastnet_l2_robust"]["eval"]
    # 500 images: a binomial standard error of ~2 points.
    assert abs(result["clean"] - shipped["clean"]) < 0.05
    assert abs(result["robust"] - shipped["robust"]) < 0.05
    assert clean_accuracy(model, to_float(x), y) == pytest.approx(result["clean"])


@pytest.mark.parametrize("name, arch", [("mobilenetv2_l2_robust", "mobilenetv2_cifar"),
                                        ("resnet18_l2_robust", "resnet18_cifar")])
def test_gpu_trained_models_load_as_float32_and_are_robust(name, arch, sample):
    # ResNet-18 ships in float16 (25 MB limit): Keras casts it back into float32 variables.
    model = get_model(arch, weights=name)
    assert {w.dtype for w in model.weights} == {"float32"}
    x, y = sample
    assert clean_accuracy(model, x, y) > 0.75
    result = robust_accuracy(model, x[:48], y[:48], norm="l2", eps=0.5, steps=5)
    assert result["robust"] > 0.4
    entry = pretrained.manifest()[name]
    assert entry["release_check"]["clean_released"] == entry["release_check"]["clean_float32"]
