"""Small builders shared by the attack tests (imported as `_helpers`: pytest puts tests/ on sys.path)."""

import importlib.util

import keras
import pytest


def tiny_cnn(num_classes=10, shape=(32, 32, 3)):
    """An untrained two-conv classifier returning logits: seconds to build and attack."""
    return keras.Sequential([
        keras.Input(shape),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(num_classes),
    ])


requires_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                                  reason="JAX is not installed (pip install 'jax[cpu]')")
