"""Per-example attack losses on logits: `loss(logits, y) -> (N,)`."""

from keras import ops


def cross_entropy(logits, y):
    """Per-example softmax cross-entropy of integer labels `y`.

    Example:
        >>> cross_entropy(model(x), y).shape
        (N,)
    """
    return ops.sparse_categorical_crossentropy(y, logits, from_logits=True)


def margin(logits, y):
    """Carlini-Wagner margin: best other logit minus the logit of `y` (positive = misclassified)."""
    num_classes = ops.shape(logits)[-1]
    onehot = ops.one_hot(y, num_classes, dtype=logits.dtype)
    true = ops.sum(logits * onehot, axis=-1)
    other = ops.max(logits - 1e9 * onehot, axis=-1)
    return other - true


LOSSES = {"ce": cross_entropy, "cross_entropy": cross_entropy, "margin": margin}


def _check_classes(logits, minimum, name):
    num_classes = logits.shape[-1]
    if num_classes is not None and num_classes < minimum:
        raise ValueError(
            f"Expected logits with at least {minimum} classes for the {name} loss. "
            f"Received: logits.shape={tuple(logits.shape)}"
        )


def _other_max(logits, y):
    """Largest logit among the classes other than `y`."""
    onehot = ops.one_hot(y, ops.shape(logits)[-1], dtype=logits.dtype)
    return ops.max(ops.where(onehot > 0, -float("inf"), logits), axis=-1)


def _true_logit(logits, y):
    onehot = ops.one_hot(y, ops.shape(logits)[-1], dtype=logits.dtype)
    return ops.sum(logits * onehot, axis=-1)


def dlr(logits, y):
    """Difference of Logits Ratio (Croce & Hein 2020), per example.

    `-(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3)`, where `z_pi1 >= z_pi2 >= ...`
    are the sorted logits. Dividing by a logit difference makes the loss
    invariant to shifting and scaling the logits, so a saturated softmax (which
    zeroes the cross-entropy gradient) cannot hide the decision boundary. It
    is positive exactly when `y` is not the top class. Needs >= 3 classes.

    Args:
        logits: `(N, K)` float logits, `K >= 3`.
        y: `(N,)` int true labels.

    Returns:
        `(N,)` loss values.

    Example:
        >>> dlr(np.array([[3.0, 1.0, 0.0]]), np.array([0]))  # -(3 - 1) / (3 - 0)
        array([-0.6667], dtype=float32)
    """
    _check_classes(logits, 3, "DLR")
    top = ops.top_k(logits, 3, sorted=True)[0]
    return -(_true_logit(logits, y) - _other_max(logits, y)) / (top[:, 0] - top[:, 2] + 1e-12)


def dlr_targeted(logits, y, target):
    """Targeted DLR (Croce & Hein 2020), per example; maximise it to reach `target`.

    `-(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2)`. Needs >= 4 classes.

    Args:
        logits: `(N, K)` float logits, `K >= 4`.
        y: `(N,)` int true labels.
        target: `(N,)` int target classes.

    Returns:
        `(N,)` loss values.

    Example:
        >>> dlr_targeted(np.array([[4.0, 2.0, 1.0, 0.0]]), np.array([0]), np.array([1]))
        array([-0.5714], dtype=float32)
    """
    _check_classes(logits, 4, "targeted DLR")
    top = ops.top_k(logits, 4, sorted=True)[0]
    scale = top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + 1e-12
    return -(_true_logit(logits, y) - _true_logit(logits, target)) / scale


def cross_entropy_targeted(logits, y, target):
    """Minus the cross-entropy of `target`: maximise it to reach `target` (`y` is unused)."""
    del y
    return -cross_entropy(logits, target)


LOSSES["dlr"] = dlr
