"""The `robustkeras` command: tour, train (resumable), eval, and one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from robustkeras import cli


def _run(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "robustkeras.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_tour_quick_writes_every_grid_and_metrics(tmp_path):
    out = tmp_path / "tour"
    result = _run("tour", "--quick", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    names = {p.name for p in out.iterdir()}
    for grid in ("generation_robust_vs_standard.png", "inpainting.png", "super_resolution.png",
                 "sketch_to_image.png", "translation.png", "manipulation.png"):
        assert grid in names
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"generation", "inpainting", "super_resolution", "sketch_to_image", "translation",
                            "manipulation"}
    # Small-N scores say so in their names; robust features come from the independent extractor.
    assert set(metrics["generation"]["kid_robust_features_small_n"]) == {"robust", "standard", "seeds"}
    assert not [n for n in names if n.startswith(".")], "no temporary files left behind"
    # TensorFlow's start-up chatter on a machine without a GPU is filtered out (robustkeras._quiet).
    for noise in ("Could not find cuda drivers", "oneDNN custom operations", "cuInit", "absl::InitializeLog"):
        assert noise not in result.stderr + result.stdout, noise


@pytest.mark.parametrize("args,needle", [
    (["eval", "--model", "nope"], "`--model`"),  # errors name the flag the user typed
    (["tour", "--model", "nope", "--quick"], "`--model`"),
    (["tour", "--model", "fastnet_judge", "--quick"], "`--model`"),  # not a robust model
    (["train", "--out", "x", "--epochs", "0"], "`--epochs`"),
])
def test_bad_arguments_exit_2_with_one_line(args, needle, tmp_path, capsys):
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def _fake_cifar(folder):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for name, n in [(f"data_batch_{i}.bin", 40) for i in range(1, 6)] + [("test_batch.bin", 20)]:
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        images = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        np.concatenate([labels[:, None], images], 1).tofile(folder / name)


def test_interrupted_training_resumes_to_identical_weights(tmp_path):
    _fake_cifar(tmp_path / "data" / "cifar-10-batches-bin")
    common = ["train", "--arch", "fastnet_small", "--data", str(tmp_path / "data"), "--batch-size", "32",
              "--holdout", "40", "--eval-every", "2", "--seed", "3", "--deterministic"]
    straight = _run(*common, "--epochs", "3", "--out", str(tmp_path / "straight"))
    assert straight.returncode == 0, straight.stderr[-2000:]
    first = _run(*common, "--epochs", "3", "--out", str(tmp_path / "resumed"), "--stop-after", "2")
    assert first.returncode == 0, first.stderr[-2000:]
    second = _run(*common, "--epochs", "3", "--out", str(tmp_path / "resumed"))
    assert second.returncode == 0 and "resuming" in second.stdout, second.stderr[-2000:]
    import h5py

    with h5py.File(tmp_path / "straight" / "final.weights.h5") as a, h5py.File(tmp_path / "resumed" / "final.weights.h5") as b:
        names = []
        a.visit(lambda n: names.append(n) if isinstance(a[n], h5py.Dataset) else None)
        assert names
        for n in names:
            np.testing.assert_array_equal(a[n][()], b[n][()], err_msg=n)
