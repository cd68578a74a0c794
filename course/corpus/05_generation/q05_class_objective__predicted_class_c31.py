"""Uses the predicted class (the argmax) instead of `params['target']`."""

QUESTION = "q05_class_objective"
MAX_FRACTION = 0.0
PUBLIC_HINT = r"target"

from keras import ops


def class_objective(params, x, logits, features):
    return ops.max(ops.log_softmax(logits, axis=-1), axis=-1)
