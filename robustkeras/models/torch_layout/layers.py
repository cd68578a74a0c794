"""Building blocks named like PyTorch modules: a Keras layer called `layer1.0.conv1` holds `layer1.0.conv1.weight`.

PyTorch pads symmetrically (`padding=1` adds one row on every side); Keras'
`"same"` at stride 2 pads only the bottom and right on even inputs. So every
padded convolution here is an explicit `ZeroPadding2D` and a `"valid"`
convolution, which computes exactly what the PyTorch layer computes.
"""

import keras

from robustkeras.models.layers import Standardize

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def conv(x, filters, kernel, *, strides=1, padding=0, use_bias=False, name):
    """`torch.nn.Conv2d(..., kernel, stride, padding, bias)` as zero padding and a valid Keras convolution."""
    if padding:
        x = keras.layers.ZeroPadding2D(padding, name=f"{name}_pad")(x)
    return keras.layers.Conv2D(filters, kernel, strides=strides, padding="valid", use_bias=use_bias, name=name)(x)


def batch_norm(x, name):
    """`torch.nn.BatchNorm2d` (epsilon 1e-5) under the PyTorch module's name."""
    return keras.layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name=name)(x)


def relu(x):
    return keras.layers.ReLU()(x)


def normalized_input(input_shape, mean, std):
    """The model's input in [0, 1] and its standardised version (`(x - mean) / std`, no weights)."""
    inputs = keras.Input(input_shape)
    return inputs, Standardize(mean=mean, std=std, name="normalizer")(inputs)


def head(x, num_classes, name):
    """Global average pooling and the final linear layer (float32 logits)."""
    x = keras.layers.GlobalAveragePooling2D(name="avgpool")(x)
    return keras.layers.Dense(num_classes, dtype="float32", name=name)(x)
