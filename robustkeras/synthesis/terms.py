"""Loss terms that synthesis objectives are made of (all per-example, `keras.ops`)."""

from keras import ops


def class_log_prob(logits, target):
    """log p(target | x): the term that pulls an image towards a class.

    Example:
        >>> class_log_prob(logits, targets).shape
        (N,)
    """
    return -ops.sparse_categorical_crossentropy(target, logits, from_logits=True)


def squared_distance(x, reference, weight_map=None):
    """Per-example sum of squared pixel differences, optionally weighted per pixel (e.g. a mask)."""
    diff = ops.square(x - reference)
    if weight_map is not None:
        diff = diff * weight_map
    return ops.sum(diff, axis=(1, 2, 3))


def feature_value(features, unit):
    """The activation of penultimate unit `unit[i]` for each image."""
    onehot = ops.one_hot(unit, ops.shape(features)[-1], dtype=features.dtype)
    return ops.sum(features * onehot, axis=-1)
