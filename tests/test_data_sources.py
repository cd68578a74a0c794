"""Where CIFAR-10 comes from on a user's machine: the user cache folder, tfds (download mocked), and a fast offline refusal."""

import time
from pathlib import Path

import numpy as np
import pytest

import robustkeras
from robustkeras import data

_REAL_REACHABLE = data._reachable  # module import runs before conftest's guard replaces it per test


def _write_batches(folder, n_per_file=3):
    """A tiny official binary layout (`cifar-10-batches-bin/`), labels 0..9 cycling, pixel = label."""
    folder.mkdir(parents=True)
    for i, name in enumerate([f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]):
        labels = (np.arange(n_per_file) + i) % 10
        records = np.concatenate([labels[:, None], np.repeat(labels[:, None], 3072, 1)], 1).astype(np.uint8)
        (folder / name).write_bytes(records.tobytes())
    (folder / "batches.meta.txt").write_text("\n".join(data.CLASSES) + "\n")
    return folder


@pytest.fixture()
def user_home(tmp_path, monkeypatch):
    """A user with nothing: no ROBUSTKERAS_DATA, an empty cache folder and tfds data folder."""
    monkeypatch.delenv("ROBUSTKERAS_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("ROBUSTKERAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    return tmp_path


def test_cache_folder_is_the_users_never_the_package(tmp_path, monkeypatch):
    monkeypatch.delenv("ROBUSTKERAS_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data.cache_dir() == tmp_path / ".cache" / "robustkeras"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.cache_dir() == tmp_path / "xdg" / "robustkeras"
    monkeypatch.setenv("ROBUSTKERAS_CACHE", str(tmp_path / "mine"))
    assert data.cache_dir() == tmp_path / "mine"
    package = Path(robustkeras.__file__).resolve().parent
    assert package not in data.cache_dir().resolve().parents


def test_batches_in_the_user_cache_are_found(user_home):
    _write_batches(user_home / "cache" / "cifar-10-batches-bin")
    x, y = data.load_cifar10_arrays("test")
    assert x.shape == (3, 32, 32, 3) and y.tolist() == [5, 6, 7]


def test_offline_refusal_is_fast_one_line_and_says_how(user_home, monkeypatch):
    monkeypatch.setattr(data, "_reachable", lambda url: False)
    start = time.perf_counter()
    with pytest.raises(FileNotFoundError) as err:
        data.load_cifar10_arrays("test")
    assert time.perf_counter() - start < 10
    message = str(err.value)
    assert "\n" not in message and "shared" not in message and "make_batches" not in message
    assert data.CIFAR10_URL in message and str(user_home / "cache") in message and "ROBUSTKERAS_DATA" in message


def test_reachability_probe_gives_up_within_its_timeout(monkeypatch):
    """The real probe, its network mocked (tests contact no host: conftest's guard stubs the probe elsewhere)."""
    import urllib.request

    def refused(*args, **kwargs):
        raise OSError("Connection refused")

    monkeypatch.setattr(urllib.request, "urlopen", refused)  # offline: an error, not an answer
    assert _REAL_REACHABLE("https://host.invalid/x", timeout=1.0) is False
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: time.sleep(5))  # a network that never answers
    start = time.perf_counter()
    assert _REAL_REACHABLE(data.CIFAR10_URL, timeout=1.0) is False
    assert time.perf_counter() - start < 3


def test_tests_never_probe_the_network():
    """conftest.py stubs the tfds reachability probe for every test: no test contacts a host."""
    assert data._reachable is not _REAL_REACHABLE and data._reachable(data.CIFAR10_URL) is False


def test_tfds_builder_reads_the_official_tarball_layout_download_mocked(user_home, monkeypatch):
    """The fresh-install path: tfds imported, its cifar10 builder prepared from the mocked download."""
    tfds = pytest.importorskip("tensorflow_datasets")
    extracted = user_home / "download"
    _write_batches(extracted / "cifar-10-batches-bin")
    urls = []

    def download_and_extract(self, url):
        urls.append(url)
        return str(extracted)

    monkeypatch.setattr(data, "_reachable", lambda url: True)
    monkeypatch.setattr(tfds.download.DownloadManager, "download_and_extract", download_and_extract)
    x, y = data.load_cifar10_arrays("test")
    assert urls == [data.CIFAR10_URL]
    assert x.dtype == np.uint8 and x.shape == (3, 32, 32, 3)
    assert sorted(y.tolist()) == [5, 6, 7] and all(int(img[0, 0, 0]) == int(lab) for img, lab in zip(x, y))
    assert (user_home / "tfds" / "cifar10").is_dir()  # tfds's own folder, as the user configured it


def test_cli_eval_without_data_refuses_before_loading_the_model(user_home, monkeypatch, capsys):
    from robustkeras import cli, pretrained

    monkeypatch.setattr(data, "_reachable", lambda url: False)
    monkeypatch.setattr(pretrained, "load", lambda name: pytest.fail("the model was loaded before the data"))
    assert cli.main(["eval", "--model", "fastnet_l2_robust", "--limit", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and data.CIFAR10_URL in err[0] and "--data" in err[0]


def test_cli_tour_with_an_unwritable_out_refuses_before_loading_a_model(tmp_path, monkeypatch, capsys):
    from robustkeras import cli, pretrained

    (tmp_path / "a-file").write_text("x")  # a folder under a file cannot be made, even by root
    monkeypatch.setattr(pretrained, "load", lambda name: pytest.fail("a model was loaded before --out was checked"))
    assert cli.main(["tour", "--quick", "--out", str(tmp_path / "a-file" / "tour")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Expected `--out`" in err[0] and "a-file" in err[0], err
