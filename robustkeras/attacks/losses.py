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
