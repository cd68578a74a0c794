"""Copy a PyTorch state dict into a Keras model whose layer names are the PyTorch module names.

Conv2d weights `(out, in, kh, kw)` become Keras kernels `(kh, kw, in, out)`;
Linear weights `(out, in)` become `(in, out)`; BatchNorm2d's weight, bias,
running_mean and running_var become gamma, beta, moving_mean and
moving_variance. Every weight of the model must be found and every array of the
state dict used (BatchNorm's `num_batches_tracked` aside), so a wrong
architecture or a renamed key is an error, never a silently random layer.
"""

import keras
import numpy as np

IGNORED_SUFFIXES = (".num_batches_tracked",)
IGNORED_PREFIXES = ("sub_block1.",)  # TRADES' WideResNet keeps an unused block in some files


def _layer_arrays(layer):
    """`[(torch key suffix, Keras variable, transform)]` of one layer."""
    if isinstance(layer, keras.layers.Conv2D):
        pairs = [("weight", layer.kernel, lambda w: np.transpose(w, (2, 3, 1, 0)))]
    elif isinstance(layer, keras.layers.Dense):
        pairs = [("weight", layer.kernel, np.transpose)]
    elif isinstance(layer, keras.layers.BatchNormalization):
        return [("weight", layer.gamma, None), ("bias", layer.beta, None),
                ("running_mean", layer.moving_mean, None), ("running_var", layer.moving_variance, None)]
    else:
        return []
    if layer.use_bias:
        pairs.append(("bias", layer.bias, None))
    return pairs


def copy_state_dict(model, state, source="state dict"):
    """Assign every weight of `model` from `state` (numpy arrays keyed like PyTorch's `state_dict()`).

    Args:
        model: a model from `robustkeras.models.torch_layout`.
        state: `{torch key: array}` without prefixes.
        source: the file name, for messages.

    Returns:
        The number of arrays copied.

    Example:
        >>> copy_state_dict(resnet50_imagenet(), weights, "imagenet_l2_3_0.pt")
    """
    used, missing, assignments = set(), [], []
    for layer in model.layers:
        for suffix, variable, transform in _layer_arrays(layer):
            key = f"{layer.name}.{suffix}"
            if key not in state:
                missing.append(key)
                continue
            value = np.asarray(state[key], np.float32)
            value = transform(value) if transform is not None else value
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(f"Expected `{key}` of shape {tuple(variable.shape)} for {model.name} (after "
                                 f"transposing to Keras' layout). Received: {tuple(value.shape)} in {source} "
                                 "(another architecture or width)")
            assignments.append((variable, value))
            used.add(key)
    unused = sorted(k for k in state if k not in used and not k.endswith(IGNORED_SUFFIXES)
                    and not k.startswith(IGNORED_PREFIXES))
    if missing or unused:
        raise ValueError(f"Expected the state dict of a {model.name} in {source}. Received: "
                         f"{len(missing)} of its weights missing {missing[:4]}, {len(unused)} arrays unused "
                         f"{unused[:4]} (another architecture, or keys with an unknown prefix)")
    for variable, value in assignments:
        variable.assign(value)
    return len(assignments)
