"""MobileNetV2 adapted to 32x32: stride-1 stem and stride 1 in the first bottleneck stage."""

import keras

from robustkeras.models.layers import Standardize, classifier_head, conv_bn

# (expansion, output channels, repeats, first stride), CIFAR strides as in common ports.
_CONFIG = ((1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def inverted_residual(x, expansion, filters, strides):
    """Expand (1x1) -> depthwise 3x3 -> project (1x1), residual when shapes match."""
    inputs = x
    if expansion != 1:
        x = conv_bn(x, x.shape[-1] * expansion, kernel=1)
    x = keras.layers.DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False)(x)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x))
    x = conv_bn(x, filters, kernel=1, relu=False)
    if strides == 1 and inputs.shape[-1] == filters:
        x = keras.layers.Add()([inputs, x])
    return x


def mobilenetv2_cifar(num_classes=10, input_shape=(32, 32, 3)):
    """MobileNetV2 (2.2M parameters) for 32x32 inputs in [0, 1], returning logits.

    Example:
        >>> model = mobilenetv2_cifar()
        >>> model(np.zeros((1, 32, 32, 3), "float32")).shape
        (1, 10)
    """
    inputs = keras.Input(input_shape)
    x = conv_bn(Standardize()(inputs), 32)
    for expansion, filters, repeats, stride in _CONFIG:
        for i in range(repeats):
            x = inverted_residual(x, expansion, filters, stride if i == 0 else 1)
    x = conv_bn(x, 1280, kernel=1)
    return keras.Model(inputs, classifier_head(x, num_classes), name="mobilenetv2_cifar")
