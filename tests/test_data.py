"""Data: the official binary layout read with numpy, the bundled sample, augmentation, clear errors."""

import tarfile

import numpy as np
import pytest

from robustkeras import data


def _write_fake_binary(folder, n_train=20, n_test=10):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    expected = {}
    for name, n in [(f"data_batch_{i}.bin", n_train) for i in range(1, 6)] + [("test_batch.bin", n_test)]:
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        planes = images.transpose(0, 3, 1, 2).reshape(n, -1)
        np.concatenate([labels[:, None], planes], 1).tofile(folder / name)
        expected[name] = (images, labels)
    return expected


def test_reads_official_binary_layout(tmp_path):
    expected = _write_fake_binary(tmp_path / "cifar-10-batches-bin")
    x, y = data.load_cifar10_arrays("test", path=tmp_path)
    np.testing.assert_array_equal(x, expected["test_batch.bin"][0])
    np.testing.assert_array_equal(y, expected["test_batch.bin"][1])
    x, y = data.load_cifar10_arrays("train", path=tmp_path / "cifar-10-batches-bin", limit=30)
    assert x.shape == (30, 32, 32, 3) and x.dtype == np.uint8


def test_reads_official_tarball(tmp_path):
    expected = _write_fake_binary(tmp_path / "cifar-10-batches-bin")
    tar_path = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(tmp_path / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
    x, _ = data.load_cifar10_arrays("test", path=tar_path)
    np.testing.assert_array_equal(x, expected["test_batch.bin"][0])


def test_truncated_file_is_a_clear_error(tmp_path):
    _write_fake_binary(tmp_path / "b")
    with open(tmp_path / "b" / "test_batch.bin", "ab") as f:
        f.write(b"xyz")
    with pytest.raises(ValueError, match="truncated"):
        data.load_cifar10_arrays("test", path=tmp_path / "b")


def test_missing_path_names_the_argument(tmp_path):
    with pytest.raises(ValueError, match="`path`"):
        data.load_cifar10_arrays("test", path=tmp_path / "nowhere")
    with pytest.raises(ValueError, match="`split`"):
        data.load_cifar10_arrays("validation", path=tmp_path)


def test_tf_dataset_batches_in_unit_range(tmp_path):
    _write_fake_binary(tmp_path / "cifar-10-batches-bin")
    ds = data.load_cifar10("train", path=tmp_path, batch_size=8, augment=True)
    x, y = next(iter(ds))
    assert x.shape == (8, 32, 32, 3) and x.dtype.name == "float32"
    assert 0.0 <= float(x.numpy().min()) and float(x.numpy().max()) <= 1.0


def test_bundled_sample():
    x, y = data.load_sample()
    assert x.shape == (200, 32, 32, 3) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert set(np.unique(y)) == set(range(10))


def test_epoch_batches_depend_only_on_seed_and_epoch():
    x = np.arange(40 * 32 * 32 * 3, dtype=np.uint32).reshape(40, 32, 32, 3).astype(np.uint8)
    y = np.arange(40) % 10
    first = [b for b, _ in data.EpochBatches(x, y, batch_size=8, seed=1, epoch=3)]
    again = [b for b, _ in data.EpochBatches(x, y, batch_size=8, seed=1, epoch=3)]
    other = [b for b, _ in data.EpochBatches(x, y, batch_size=8, seed=1, epoch=4)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_augmentation_is_crop_and_flip():
    x = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    out = data.augment_batch(x, np.random.default_rng(1))
    assert out.shape == x.shape and out.dtype == np.uint8
    # A crop of the reflect-padded image keeps a 24x24 window of the original (maybe mirrored).
    for a, b in zip(x, out):
        inner = b[4:28, 4:28]
        found = any(np.array_equal(inner, img[r:r + 24, c:c + 24])
                    for img in (a, a[:, ::-1]) for r in range(9) for c in range(9))
        assert found


# Silently wrong before: now a one-line error or the right result.


def test_bad_shuffle_and_unseeded_augmentation(tmp_path):
    _write_fake_binary(tmp_path / "b")
    with pytest.raises(ValueError, match="`shuffle`"):
        data.load_cifar10("test", path=tmp_path / "b", shuffle="no")
    x, y = next(iter(data.load_cifar10("train", path=tmp_path / "b", seed=None, augment=True, batch_size=4)))
    assert tuple(x.shape) == (4, 32, 32, 3)


def test_label_byte_255_is_refused(tmp_path):
    _write_fake_binary(tmp_path / "b")
    raw = bytearray((tmp_path / "b" / "test_batch.bin").read_bytes())
    raw[0] = 255
    (tmp_path / "b" / "test_batch.bin").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="label byte 255"):
        data.load_cifar10_arrays("test", path=tmp_path / "b")


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_tarball_is_a_one_line_error(tmp_path, damage):
    _write_fake_binary(tmp_path / "cifar-10-batches-bin")
    tar_path = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(tmp_path / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
    raw = tar_path.read_bytes()
    tar_path.write_bytes(raw[: len(raw) // 2] if damage == "truncate" else b"not a tarball" * 100)
    with pytest.raises(ValueError, match="corrupt or truncated archive") as err:
        data.load_cifar10_arrays("test", path=tar_path)
    assert "\n" not in str(err.value)


def test_robustkeras_data_pointing_at_nothing_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBUSTKERAS_DATA", str(tmp_path / "nothing"))
    with pytest.raises(FileNotFoundError, match="ROBUSTKERAS_DATA"):
        data.load_cifar10_arrays("test")
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("ROBUSTKERAS_DATA", str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="ROBUSTKERAS_DATA"):
        data.load_cifar10_arrays("test")


def test_load_by_name_through_a_mocked_tfds(monkeypatch):
    import sys
    import types

    calls = []

    def fake_load(name, split, batch_size, as_supervised):
        calls.append((name, split))
        n = 5
        return np.zeros((n, 28, 28, 1), np.uint8) + 255, np.arange(n) % 10

    fake = types.SimpleNamespace(load=fake_load, as_numpy=lambda t: t)
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake)
    x, y = data.load("fashion_mnist", "test", limit=5)
    assert x.shape == (5, 28, 28, 1) and x.dtype == np.float32 and float(x.max()) == 1.0
    assert calls == [("fashion_mnist", "test[:5]")] and y.dtype == np.int32
    with pytest.raises(ValueError, match="`name`"):
        data.load("imagenet")


def test_load_by_name_offline_is_a_clear_error(monkeypatch):
    import sys
    import types

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setitem(sys.modules, "tensorflow_datasets", types.SimpleNamespace(load=offline, as_numpy=None))
    with pytest.raises(FileNotFoundError, match="could not be loaded through tfds"):
        data.load("svhn")


def test_from_directory_reads_class_folders(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    x, y, names = data.from_directory(tmp_path, image_size=(16, 16))
    assert x.shape == (6, 16, 16, 3) and names == ("cat", "dog") and sorted(y.tolist()) == [0, 0, 0, 1, 1, 1]
    assert 0.0 <= x.min() and x.max() <= 1.0
    gray, _, _ = data.from_directory(tmp_path, image_size=(8, 8), color_mode="grayscale", limit=4)
    assert gray.shape == (4, 8, 8, 1)
    with pytest.raises(ValueError, match="`path`"):
        data.from_directory(tmp_path / "missing", image_size=(8, 8))


def test_from_directory_maps_folders_to_the_models_class_names(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("dog", "Cat"):
        (tmp_path / name).mkdir()
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    assert data.folder_classes(tmp_path, data.CLASSES) == {"Cat": 3, "dog": 5}
    x, y, names = data.from_directory(tmp_path, image_size=(8, 8), class_names=data.CLASSES)
    assert names == data.CLASSES and sorted(y.tolist()) == [3, 3, 5, 5]
    (tmp_path / "kitty").mkdir()
    with pytest.raises(ValueError, match=r"named after a class of the model.*Received: 'kitty'"):
        data.from_directory(tmp_path, image_size=(8, 8), class_names=data.CLASSES)
    (tmp_path / "kitty").rmdir()
    with pytest.raises(ValueError, match="`class_names` to hold distinct names"):
        data.from_directory(tmp_path, image_size=(8, 8), class_names=["cat", "Cat"])
    (tmp_path / "dog" / "bad.png").write_bytes(b"\x89PNG truncated")
    with pytest.raises(ValueError, match=r"bad\.png', which cannot be decoded"):
        data.from_directory(tmp_path, image_size=(8, 8), class_names=data.CLASSES)
