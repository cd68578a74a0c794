"""ResNet-18 and ResNet-50 (v1.5) for ImageNet in torchvision's layout (what MadryLab's `robustness` trains).

torchvision's v1.5 bottleneck strides on its 3x3 convolution, not on the 1x1 as
in `keras.applications.ResNet50` (v1); the stem is a 7x7 stride-2 convolution
and a 3x3 stride-2 max-pool, both padded symmetrically.
"""

import keras

from robustkeras.models.torch_layout.layers import (IMAGENET_MEAN, IMAGENET_STD, batch_norm, conv, head,
                                                    normalized_input, relu)

WIDTHS = (64, 128, 256, 512)


def _downsample(x, filters, strides, name):
    x = conv(x, filters, 1, strides=strides, name=f"{name}.downsample.0")
    return batch_norm(x, f"{name}.downsample.1")


def basic_block(x, planes, strides, name):
    """torchvision `BasicBlock`: two 3x3 convolutions, stride on the first."""
    shortcut = x if strides == 1 and x.shape[-1] == planes else _downsample(x, planes, strides, name)
    y = relu(batch_norm(conv(x, planes, 3, strides=strides, padding=1, name=f"{name}.conv1"), f"{name}.bn1"))
    y = batch_norm(conv(y, planes, 3, padding=1, name=f"{name}.conv2"), f"{name}.bn2")
    return relu(keras.layers.Add()([y, shortcut]))


def bottleneck(x, planes, strides, name):
    """torchvision `Bottleneck` (v1.5): 1x1, 3x3 with the stride, 1x1 to 4x `planes`."""
    out = planes * 4
    shortcut = x if strides == 1 and x.shape[-1] == out else _downsample(x, out, strides, name)
    y = relu(batch_norm(conv(x, planes, 1, name=f"{name}.conv1"), f"{name}.bn1"))
    y = relu(batch_norm(conv(y, planes, 3, strides=strides, padding=1, name=f"{name}.conv2"), f"{name}.bn2"))
    y = batch_norm(conv(y, out, 1, name=f"{name}.conv3"), f"{name}.bn3")
    return relu(keras.layers.Add()([y, shortcut]))


def _resnet(block, blocks, *, num_classes, widths, input_shape, mean, std, name):
    if len(widths) != 4:
        raise ValueError(f"Expected `widths` to hold 4 stage widths. Received: widths={widths!r}")
    inputs, x = normalized_input(input_shape, mean, std)
    x = relu(batch_norm(conv(x, widths[0], 7, strides=2, padding=3, name="conv1"), "bn1"))
    x = keras.layers.ZeroPadding2D(1, name="maxpool_pad")(x)  # zeros act as -inf after a ReLU
    x = keras.layers.MaxPooling2D(3, strides=2, name="maxpool")(x)
    for stage, (planes, count) in enumerate(zip(widths, blocks)):
        for i in range(count):
            x = block(x, planes, 2 if stage > 0 and i == 0 else 1, f"layer{stage + 1}.{i}")
    return keras.Model(inputs, head(x, num_classes, "fc"), name=name)


def resnet18_imagenet(num_classes=1000, *, widths=WIDTHS, input_shape=(224, 224, 3), mean=IMAGENET_MEAN,
                      std=IMAGENET_STD):
    """torchvision ResNet-18 for inputs in [0, 1] (normalisation inside), returning logits.

    Args:
        num_classes: classes of the final linear layer `fc`.
        widths: the four stage widths (torchvision: 64, 128, 256, 512; smaller for tests).
        input_shape: `(H, W, 3)`.
        mean, std: the per-channel normalisation the checkpoint was trained with.

    Returns:
        A `keras.Model` whose layer names are the PyTorch module names.

    Example:
        >>> model = resnet18_imagenet()
        >>> model.get_layer("layer1.0.conv1").kernel.shape
        (3, 3, 64, 64)
    """
    return _resnet(basic_block, (2, 2, 2, 2), num_classes=num_classes, widths=tuple(widths),
                   input_shape=tuple(input_shape), mean=mean, std=std, name="resnet18_imagenet")


def resnet50_imagenet(num_classes=1000, *, widths=WIDTHS, input_shape=(224, 224, 3), mean=IMAGENET_MEAN,
                      std=IMAGENET_STD):
    """torchvision ResNet-50 v1.5 for inputs in [0, 1] (normalisation inside), returning logits (25.6M parameters).

    Args:
        num_classes: classes of the final linear layer `fc`.
        widths: the four stage widths of the bottlenecks' inner convolutions (outputs are 4x).
        input_shape: `(H, W, 3)`.
        mean, std: the per-channel normalisation the checkpoint was trained with.

    Returns:
        A `keras.Model` whose layer names are the PyTorch module names.

    Example:
        >>> model = resnet50_imagenet()
        >>> model.output_shape
        (None, 1000)
    """
    return _resnet(bottleneck, (3, 4, 6, 3), num_classes=num_classes, widths=tuple(widths),
                   input_shape=tuple(input_shape), mean=mean, std=std, name="resnet50_imagenet")
