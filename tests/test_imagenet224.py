"""The 224x224 path: class statistics from a folder at low resolution, every synthesis task and the attacks on a
torchvision-layout ResNet-50 (reduced width, random weights; the full width in a slow test)."""

import keras
import numpy as np
import pytest
from PIL import Image

from robustkeras import attacks, synthesis
from robustkeras.models.torch_layout import resnet50_imagenet

CLASS_NAMES = [f"n{i:08d}" for i in range(1000)]  # stand-ins for the ImageNet WordNet ids
PRESENT = (0, 207, 999)


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return resnet50_imagenet(widths=(4, 4, 8, 8))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Three classes of five 300x250 images each, the class's colour plus noise."""
    root = tmp_path_factory.mktemp("imagenet_folder")
    rng = np.random.default_rng(0)
    for k, class_id in enumerate(PRESENT):
        (root / CLASS_NAMES[class_id]).mkdir()
        for i in range(5):
            base = np.zeros(3)
            base[k] = 200
            pixels = np.clip(base + rng.normal(0, 30, (250, 300, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / CLASS_NAMES[class_id] / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def stats(folder):
    return synthesis.lowres_class_stats(folder, size=16, class_names=CLASS_NAMES, rank=4, components=2)


@pytest.fixture(scope="module")
def images(folder):
    x, y, _ = synthesis.read_class_folders(folder, size=224, class_names=CLASS_NAMES, per_class=1)
    return x[:2], y[:2]


def test_folder_statistics_hold_the_present_classes_at_low_resolution(folder, stats):
    assert list(stats["class_ids"]) == list(PRESENT)
    assert stats["mean_16"].shape == (3, 16 * 16 * 3) and "mean_4" in stats and "mean_224" not in stats
    red, green = (stats["mean_16"][k].reshape(16, 16, 3).mean((0, 1)) for k in (0, 1))
    assert red.argmax() == 0 and green.argmax() == 1  # each folder's images kept their class
    (folder / "not_a_class").mkdir()
    try:
        with pytest.raises(ValueError, match="not_a_class"):
            synthesis.lowres_class_stats(folder, size=16, class_names=CLASS_NAMES)
    finally:
        (folder / "not_a_class").rmdir()


def test_generation_at_224_from_upsampled_seeds_raises_the_target_logit(model, stats):
    result = synthesis.generate_upsampled(model, [207, 999], stats, steps=3, seed=0)
    assert result.images.shape == (2, 224, 224, 3) and result.start.shape == (2, 224, 224, 3)
    assert 0 <= result.images.min() and result.images.max() <= 1
    assert np.all(result.objective_values[-1] > result.objective_values[0])
    assert np.abs(np.diff(result.start, axis=1)).mean() < 0.05  # bilinear upsampling of 16 px seeds: smooth
    with pytest.raises(ValueError, match="classes \\[5\\] without statistics"):
        synthesis.generate_upsampled(model, [5], stats, steps=1)


def test_every_other_synthesis_task_runs_at_224(model, images):
    x, y = images
    mask = synthesis.make_mask("center", x)
    tasks = {
        "inpaint": synthesis.inpaint(model, x, y, mask, steps=2, start="diffusion"),
        "super_resolve": synthesis.super_resolve(model, synthesis.downsample(x, 4), y, factor=4, steps=2),
        "sketch_to_image": synthesis.sketch_to_image(model, synthesis.make_sketch(x, "edges"), y, steps=2),
        "translate": synthesis.translate(model, x, np.array([999, 0]), steps=2),
    }
    unit = synthesis.FeaturePainter(model, x[0]).top_units(class_id=207)[0]
    region = synthesis.make_mask("center", 1, (224, 224), fraction=0.3)[0]
    tasks["manipulate"] = synthesis.manipulate(model, x, unit, region, steps=2)
    for name, result in tasks.items():
        assert result.images.shape == (2, 224, 224, 3), name
        assert np.all(np.isfinite(result.objective_values)), name


def test_attacks_run_at_224_and_stay_in_their_balls(model, images):
    x, y = images
    adv = attacks.pgd(model, x, y, norm="l2", eps=3.0, step_size=1.5, steps=2)
    assert adv.shape == x.shape and np.all(np.linalg.norm((adv - x).reshape(2, -1), axis=1) <= 3.0 + 1e-4)
    adv = attacks.fgsm(model, x, y, norm="linf", eps=4 / 255)
    assert np.abs(adv - x).max() <= 4 / 255 + 1e-6 and 0 <= adv.min() and adv.max() <= 1


@pytest.mark.slow
def test_full_width_resnet50_generates_and_attacks_at_224(stats):
    keras.utils.set_random_seed(0)
    full = resnet50_imagenet()
    trainable = sum(int(np.prod(w.shape)) for w in full.trainable_weights)
    assert trainable == 25_557_032  # torchvision's resnet50 parameters (BatchNorm statistics are buffers there)
    result = synthesis.generate_upsampled(full, [207], stats, steps=2)
    assert result.images.shape == (1, 224, 224, 3)
    adv = attacks.pgd(full, result.images, np.array([207]), norm="l2", eps=3.0, step_size=1.5, steps=2)
    assert adv.shape == (1, 224, 224, 3)


@pytest.mark.slow
def test_the_224_benchmark_runs_on_a_reduced_width():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, str(root / "benchmarks" / "imagenet_224.py"), "--batch", "2", "--steps", "1",
                           "--widths", "4", "4", "8", "8"], cwd=root, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| generation" in proc.stdout and "| pgd" in proc.stdout, proc.stdout


def _tour_setup(tmp_path, monkeypatch):
    """A converted 10-class model (the MadryLab fixture at 224) in a fresh registry, a class list, a folder."""
    from pathlib import Path

    from robustkeras.models import from_torch

    monkeypatch.setenv("ROBUSTKERAS_MODELS", str(tmp_path / "registry"))
    fixture = Path(__file__).parent / "fixtures" / "torch" / "madry_resnet50.pt"
    from_torch(fixture, "resnet50_imagenet", name="madry_small")
    names = [f"class_{i}" for i in range(10)]
    (tmp_path / "classes.txt").write_text("\n".join(names) + "\n")
    rng = np.random.default_rng(1)
    for name in ("class_3", "class_7"):
        (tmp_path / "images" / name).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (240, 260, 3), dtype=np.uint8)).save(
                tmp_path / "images" / name / f"{i}.jpg")
    return tmp_path / "images", tmp_path / "classes.txt"


def test_tour_on_a_converted_model_with_a_folder_and_a_class_list(tmp_path, monkeypatch):
    from robustkeras.tour import run_tour

    images, classes = _tour_setup(tmp_path, monkeypatch)
    results = run_tour(tmp_path / "out", model_name="madry_small", quick=True, tasks=["generation"],
                       images=images, classes=classes)
    assert set(results) == {"generation"} and results["generation"]["images"] == 4
    assert (tmp_path / "out" / "generation.png").is_file() and (tmp_path / "out" / "metrics.json").is_file()
    with pytest.raises(ValueError, match="--images DIR --classes FILE"):
        run_tour(tmp_path / "out", model_name="madry_small", quick=True)


@pytest.mark.slow
def test_every_tour_task_on_a_converted_model(tmp_path, monkeypatch):
    from robustkeras.tour import run_tour

    images, classes = _tour_setup(tmp_path, monkeypatch)
    results = run_tour(tmp_path / "out", model_name="madry_small", quick=True, images=images, classes=classes)
    assert len(results) == 6 and all((tmp_path / "out" / f"{task}.png").is_file() for task in results)
