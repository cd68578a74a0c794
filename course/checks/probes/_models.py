"""Tiny Keras classifiers with weights drawn from a seed: the same model in the sandbox and the grader."""

import numpy as np

from ._common import rng

__all__ = ["tiny_model", "logits_of"]


def tiny_model(seed, input_shape, classes=10, *, hidden=0, conv=0, dropout=0.0, batchnorm=False, scale=1.0):
    """A functional `Input -> [Conv2D relu] -> Flatten -> [Dense, BN, relu] -> [Dropout] -> Dense` model.

    Weights come from `seed` (not from Keras' initialisers), so the grader rebuilds the exact model
    the probe used. The last layer is a `Dense` head on the penultimate features, as the
    synthesis engine expects.
    """
    import keras

    r = rng(seed, 99)
    inputs = keras.Input(tuple(input_shape))
    h = inputs
    if conv:
        h = keras.layers.Conv2D(conv, 3, activation="relu")(h)
    h = keras.layers.Flatten()(h)
    if hidden:
        h = keras.layers.Dense(hidden)(h)
        if batchnorm:
            h = keras.layers.BatchNormalization()(h)
        h = keras.layers.Activation("relu")(h)
    if dropout:
        h = keras.layers.Dropout(dropout)(h)
    model = keras.Model(inputs, keras.layers.Dense(classes)(h))
    for w in model.weights:
        shape, name = tuple(w.shape), w.name.split("/")[-1]
        if name == "kernel":
            fan_in = int(np.prod(shape[:-1]))
            value = r.normal(0, scale / np.sqrt(fan_in), shape)
        elif name == "moving_variance" or name == "gamma":
            value = 1.0 + 0.2 * r.random(shape)
        else:  # bias, beta, moving_mean
            value = r.normal(0, 0.1, shape)
        w.assign(value.astype(np.float32))
    return model


def logits_of(model, x):
    """Inference-mode logits as float64 numpy."""
    return np.asarray(model(np.asarray(x, np.float32), training=False), np.float64)
