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


# Folders of images, outputs and interrupts (issue 30) ----------------------------------------------
def _pets(folder, sample, names=("cat", "dog")):
    """The bundled sample's cats and dogs as PNGs in `folder/cat`, `folder/dog`."""
    from PIL import Image

    from robustkeras.data import CLASSES

    x, y = sample
    for name in names:
        (folder / name).mkdir(parents=True)
        for i in np.flatnonzero(y == CLASSES.index(name))[:6]:
            Image.fromarray(np.round(x[i] * 255).astype(np.uint8)).save(folder / name / f"{i}.png")
    return folder


def test_eval_images_maps_folders_by_class_name_and_prints_the_mapping(tmp_path, sample, capsys):
    pets = _pets(tmp_path / "pets", sample)
    args = ["eval", "--model", "fastnet_l2_robust", "--images", str(pets), "--steps", "1", "--eps", "0.1"]
    assert cli.main(args) == 0
    out = capsys.readouterr()
    assert "cat/ -> 3 (cat), dog/ -> 5 (dog)" in out.err and "class names of fastnet_l2_robust" in out.err
    result = json.loads(out.out)
    assert result["n"] == 12 and result["clean"] >= 0.5  # alphabetical (cat 0, dog 1) scored 0.0
    # --classes overrides the registry: two names for a 10-class model are refused, naming the flag.
    assert cli.main(args + ["--classes", "cat,dog"]) == 2
    assert "`--classes` to name the model's 10 classes" in capsys.readouterr().err
    assert cli.main(["eval", "--model", "fastnet_l2_robust", "--classes", "cat,dog"]) == 2
    assert "`--classes` only with `--images`" in capsys.readouterr().err
    (pets / "kitty").mkdir()
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "'kitty'" in err and "--images=" in err and "airplane, automobile" in err


def test_eval_images_without_class_names_says_it_used_alphabetical_order(tmp_path, sample, capsys):
    from robustkeras import data

    pets = _pets(tmp_path / "pets", sample)
    x, y, names = data.from_directory(pets, image_size=(32, 32))
    assert names == ("cat", "dog") and sorted(set(y.tolist())) == [0, 1]
    cli._say_mapping(cli.build_parser().parse_args(["eval", "--model", "m", "--images", str(pets)]),
                     data.folder_classes(pets), None)
    assert "in alphabetical order" in capsys.readouterr().err


def test_eval_images_errors_name_images_and_the_corrupt_file(tmp_path, sample, capsys):
    base = ["eval", "--model", "fastnet_l2_robust", "--steps", "1"]
    assert cli.main(base + ["--images", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "`--images`" in err and "--data" not in err
    pets = _pets(tmp_path / "pets", sample)
    (pets / "dog" / "broken.png").write_bytes(b"not a png")
    assert cli.main(base + ["--images", str(pets)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.png" in err[0] and "cannot be decoded" in err[0]


def test_unwritable_outputs_name_their_flag_before_any_work(tmp_path, capsys):
    (tmp_path / "file").write_text("a file, not a folder")
    cases = [(["eval", "--model", "fastnet_l2_robust", "--attack", "autoattack", "--state",
               str(tmp_path / "file" / "state.json")], "`--state`"),
             (["tour", "--quick", "--out", str(tmp_path / "file" / "tour")], "`--out`"),
             (["train", "--out", str(tmp_path / "file" / "run"), "--data", str(tmp_path)], "`--out`")]
    for args, flag in cases:
        assert cli.main(args) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and flag in err[0] and "out_dir" not in err[0], err


def test_os_errors_are_one_line_naming_the_file_and_flag(tmp_path, monkeypatch, capsys):
    state = tmp_path / "state.json"

    def fail(args):
        raise PermissionError(13, "Permission denied", str(state))

    monkeypatch.setattr(cli, "_eval", fail)
    assert cli.main(["eval", "--model", "m", "--state", str(state)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Permission denied" in err[0] and "--state" in err[0] and str(state) in err[0]


def test_ctrl_c_says_what_was_saved_only_when_something_was(tmp_path, monkeypatch, capsys):
    def interrupt(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_eval", interrupt)
    monkeypatch.setattr(cli, "_train", interrupt)
    assert cli.main(["eval", "--model", "m"]) == 130
    assert "nothing saved" in capsys.readouterr().err
    assert cli.main(["eval", "--model", "m", "--attack", "autoattack"]) == 130
    assert "--state FILE saves" in capsys.readouterr().err
    state = tmp_path / "state.json"
    state.write_text("{}")
    assert cli.main(["eval", "--model", "m", "--attack", "autoattack", "--state", str(state)]) == 130
    assert f"saved in --state {state}; rerun the same command" in capsys.readouterr().err
    assert cli.main(["train", "--out", str(tmp_path / "run")]) == 130
    err = capsys.readouterr().err
    assert "nothing saved" in err and "rerun" not in err
    (tmp_path / "run" / "checkpoint").mkdir(parents=True)
    (tmp_path / "run" / "checkpoint" / "state.json").write_text("{}")
    assert cli.main(["train", "--out", str(tmp_path / "run")]) == 130
    assert "saved in --out" in capsys.readouterr().err
