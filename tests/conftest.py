"""Shared fixtures: tiny models and the bundled sample; the shipped robust model when present."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from robustkeras import pretrained  # noqa: E402
from robustkeras.data import load_sample  # noqa: E402
from robustkeras.models import get_model  # noqa: E402


@pytest.fixture(autouse=True)
def _no_network_probe(monkeypatch):
    """No test contacts a host: the tfds reachability probe (robustkeras.data) answers "offline".

    A test that needs another answer sets `data._reachable` itself.
    """
    from robustkeras import data

    monkeypatch.setattr(data, "_reachable", lambda url, timeout=None: False)


@pytest.fixture(scope="session")
def sample():
    """The 200 bundled test images and labels."""
    return load_sample()


@pytest.fixture()
def tiny_model():
    """An untrained small net with fixed initial weights."""
    keras.utils.set_random_seed(0)
    return get_model("fastnet_small")


@pytest.fixture(scope="session")
def robust_model():
    """The shipped robust model (the tests that need a trained model use it)."""
    if "fastnet_l2_robust" not in pretrained.available():
        pytest.skip("robust model not shipped yet")
    return pretrained.load("fastnet_l2_robust")


@pytest.fixture(scope="session")
def standard_model():
    if "fastnet_standard" not in pretrained.available():
        pytest.skip("standard model not shipped yet")
    return pretrained.load("fastnet_standard")


def l2_dist(a, b):
    return np.linalg.norm((a - b).reshape(len(a), -1), axis=1)


def linf_dist(a, b):
    return np.abs(a - b).reshape(len(a), -1).max(axis=1)
