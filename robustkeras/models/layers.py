"""Layers shared by the model definitions."""

import keras
from keras import ops

from robustkeras._constants import CIFAR10_MEAN as MEAN
from robustkeras._constants import CIFAR10_STD as STD


@keras.saving.register_keras_serializable(package="robustkeras")
class Standardize(keras.layers.Layer):
    """Maps [0, 1] pixels to CIFAR-standardised inputs inside the model (no weights).

    Keeping normalisation in the model lets attacks and synthesis work in pixel
    space, where the threat ball and the [0, 1] box are defined.
    """

    def __init__(self, mean=MEAN, std=STD, **kwargs):
        super().__init__(**kwargs)
        self.mean, self.std = tuple(mean), tuple(std)

    def call(self, x):
        mean = ops.convert_to_tensor(self.mean, dtype=x.dtype)
        std = ops.convert_to_tensor(self.std, dtype=x.dtype)
        return (x - mean) / std

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "std": self.std}


def conv_bn(x, filters, *, kernel=3, strides=1, relu=True, name=None):
    """Conv (no bias) -> BatchNorm -> optional ReLU."""
    x = keras.layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False,
                            name=None if name is None else name + "_conv")(x)
    x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5,
                                        name=None if name is None else name + "_bn")(x)
    return keras.layers.ReLU()(x) if relu else x


def classifier_head(x, num_classes, name="logits"):
    """Global average pool and a float32 dense layer (logits stay float32 under mixed precision)."""
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.layers.Dense(num_classes, dtype="float32", name=name)(x)
