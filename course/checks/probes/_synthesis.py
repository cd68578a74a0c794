"""Shared pieces of the synthesis probes (stages 06-10): a tiny 32x32 functional classifier."""

from ._models import tiny_model

SIZE = 32


def synthesis_model(seed):
    """`Input(32, 32, 3) -> Flatten -> Dense(8) -> relu -> Dense(10)`, weights from `seed`."""
    return tiny_model(seed, (SIZE, SIZE, 3), 10, hidden=8)


def penultimate(model):
    """The features the head reads (the relu output), as a Keras model."""
    import keras

    return keras.Model(model.input, model.layers[-1].input)
