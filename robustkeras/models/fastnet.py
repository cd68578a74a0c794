"""A small residual net that a 2-core CPU can adversarially train in under an hour.

The layout follows the fast "ResNet-9" of the DAWNBench CIFAR-10 entries (conv,
then pool-and-residual stages), narrowed for a CPU budget.
"""

import keras

from robustkeras.models.layers import Standardize, classifier_head, conv_bn


def residual(x, filters):
    """Two conv-bn-relu layers added back onto their input."""
    y = conv_bn(conv_bn(x, filters), filters)
    return keras.layers.Add()([x, y])


def fastnet(num_classes=10, input_shape=(32, 32, 3), widths=(32, 64, 128, 256), name="fastnet"):
    """Small fast classifier for 32x32 inputs in [0, 1], returning logits.

    Args:
        num_classes: number of output logits.
        input_shape: image shape.
        widths: channels of the stem and the three stages.
        name: model name.

    Returns:
        An uncompiled `keras.Model`.

    Example:
        >>> model = fastnet()
        >>> model(np.zeros((1, 32, 32, 3), "float32")).shape
        (1, 10)
    """
    w0, w1, w2, w3 = widths
    inputs = keras.Input(input_shape)
    x = conv_bn(Standardize()(inputs), w0)
    x = keras.layers.MaxPooling2D()(conv_bn(x, w1))
    x = residual(x, w1)
    x = keras.layers.MaxPooling2D()(conv_bn(x, w2))
    x = keras.layers.MaxPooling2D()(conv_bn(x, w3))
    x = residual(x, w3)
    return keras.Model(inputs, classifier_head(x, num_classes), name=name)
