"""PreAct ResNet-18 for CIFAR in RobustBench's layout (`robustbench/model_zoo/architectures/resnet.py`)."""

import keras

from robustkeras.models.torch_layout.layers import batch_norm, conv, head, normalized_input, relu

WIDTHS = (64, 128, 256, 512)


def preact_block(x, planes, strides, name):
    """`PreActBlock`: BN-ReLU before each 3x3 convolution; the 1x1 `shortcut.0` sees the activated input."""
    out = relu(batch_norm(x, f"{name}.bn1"))
    shortcut = x
    if strides != 1 or x.shape[-1] != planes:
        shortcut = conv(out, planes, 1, strides=strides, name=f"{name}.shortcut.0")
    y = conv(out, planes, 3, strides=strides, padding=1, name=f"{name}.conv1")
    y = conv(relu(batch_norm(y, f"{name}.bn2")), planes, 3, padding=1, name=f"{name}.conv2")
    return keras.layers.Add()([y, shortcut])


def preact_resnet18(num_classes=10, *, widths=WIDTHS, input_shape=(32, 32, 3), mean=(0.0, 0.0, 0.0),
                    std=(1.0, 1.0, 1.0)):
    """PreAct ResNet-18 for inputs in [0, 1], returning logits (RobustBench models take raw [0, 1] inputs).

    Args:
        num_classes: classes of the final layer `linear`.
        widths: the four stage widths (64, 128, 256, 512; smaller for tests).
        input_shape: `(H, W, 3)`.
        mean, std: normalisation inside the model (identity by default, as RobustBench's).

    Returns:
        A `keras.Model` whose layer names are the PyTorch module names.

    Example:
        >>> preact_resnet18().get_layer("layer2.0.shortcut.0").kernel.shape
        (1, 1, 64, 128)
    """
    widths = tuple(widths)
    if len(widths) != 4:
        raise ValueError(f"Expected `widths` to hold 4 stage widths. Received: widths={widths!r}")
    inputs, x = normalized_input(tuple(input_shape), mean, std)
    x = conv(x, widths[0], 3, padding=1, name="conv1")
    for stage, planes in enumerate(widths):
        for i in range(2):
            x = preact_block(x, planes, 2 if stage > 0 and i == 0 else 1, f"layer{stage + 1}.{i}")
    x = relu(batch_norm(x, "bn"))
    return keras.Model(inputs, head(x, num_classes, "linear"), name="preact_resnet18")
