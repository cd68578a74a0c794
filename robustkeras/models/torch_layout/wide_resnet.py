"""WideResNet-28-10 and 34-10 for CIFAR in RobustBench's layout (TRADES' `wide_resnet.py`)."""

import functools

import keras

from robustkeras.models.torch_layout.layers import batch_norm, conv, head, normalized_input, relu


def wide_block(x, planes, strides, name):
    """`BasicBlock`: BN-ReLU, 3x3, BN-ReLU, 3x3; a 1x1 `convShortcut` on the activated input when widths differ."""
    equal = x.shape[-1] == planes
    out = relu(batch_norm(x, f"{name}.bn1"))
    y = conv(out, planes, 3, strides=strides, padding=1, name=f"{name}.conv1")
    y = conv(relu(batch_norm(y, f"{name}.bn2")), planes, 3, padding=1, name=f"{name}.conv2")
    shortcut = x if equal else conv(out, planes, 1, strides=strides, name=f"{name}.convShortcut")
    return keras.layers.Add()([shortcut, y])


def wide_resnet(num_classes=10, *, depth=28, widen_factor=10, input_shape=(32, 32, 3), mean=(0.0, 0.0, 0.0),
                std=(1.0, 1.0, 1.0)):
    """WideResNet-`depth`-`widen_factor` for inputs in [0, 1], returning logits.

    Args:
        num_classes: classes of the final layer `fc`.
        depth: 6n + 4 (28 or 34 in RobustBench; 10 for tests).
        widen_factor: width multiplier of 16, 32, 64 (10 in RobustBench; smaller for tests).
        input_shape: `(H, W, 3)`.
        mean, std: normalisation inside the model (identity by default, as RobustBench's).

    Returns:
        A `keras.Model` whose layer names are the PyTorch module names (`block1.layer.0.conv1`).

    Example:
        >>> wide_resnet(depth=10, widen_factor=1).get_layer("block2.layer.0.convShortcut").kernel.shape
        (1, 1, 16, 32)
    """
    if not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
        raise ValueError(f"Expected `depth` = 6n + 4 with n >= 1 (e.g. 28, 34). Received: depth={depth!r}")
    if not isinstance(widen_factor, int) or widen_factor < 1:
        raise ValueError(f"Expected `widen_factor` to be a positive int. Received: widen_factor={widen_factor!r}")
    n = (depth - 4) // 6
    inputs, x = normalized_input(tuple(input_shape), mean, std)
    x = conv(x, 16, 3, padding=1, name="conv1")
    for b, planes in enumerate((16 * widen_factor, 32 * widen_factor, 64 * widen_factor)):
        for i in range(n):
            x = wide_block(x, planes, 2 if b > 0 and i == 0 else 1, f"block{b + 1}.layer.{i}")
    x = relu(batch_norm(x, "bn1"))
    return keras.Model(inputs, head(x, num_classes, "fc"), name=f"wide_resnet{depth}_{widen_factor}")


wide_resnet28_10 = functools.partial(wide_resnet, depth=28, widen_factor=10)
wide_resnet34_10 = functools.partial(wide_resnet, depth=34, widen_factor=10)
