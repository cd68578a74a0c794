"""ResNet-18, CIFAR variant (3x3 stem, no max-pool), as in the robustness literature."""

import keras

from robustkeras.models.layers import Standardize, classifier_head, conv_bn


def basic_block(x, filters, strides):
    """Two 3x3 convs with an identity (or 1x1 projection) shortcut."""
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = conv_bn(x, filters, kernel=1, strides=strides, relu=False)
    y = conv_bn(x, filters, strides=strides)
    y = conv_bn(y, filters, relu=False)
    return keras.layers.ReLU()(keras.layers.Add()([y, shortcut]))


def resnet18_cifar(num_classes=10, input_shape=(32, 32, 3), widths=(64, 128, 256, 512), blocks=(2, 2, 2, 2)):
    """ResNet-18 for 32x32 inputs in [0, 1], returning logits (11.2M parameters).

    Example:
        >>> model = resnet18_cifar()
        >>> model(np.zeros((1, 32, 32, 3), "float32")).shape
        (1, 10)
    """
    inputs = keras.Input(input_shape)
    x = conv_bn(Standardize()(inputs), widths[0])
    for stage, (filters, count) in enumerate(zip(widths, blocks)):
        for i in range(count):
            x = basic_block(x, filters, strides=2 if stage > 0 and i == 0 else 1)
    return keras.Model(inputs, classifier_head(x, num_classes), name="resnet18_cifar")
