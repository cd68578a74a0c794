"""Divides by z_pi1 - z_pi2 instead of z_pi1 - z_pi3."""
QUESTION = "q03_dlr_loss"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import keras

def dlr_loss(logits, y):
    logits = keras.ops.convert_to_tensor(logits, "float32")
    true = keras.ops.one_hot(keras.ops.cast(y, "int32"), keras.ops.shape(logits)[1])
    z_y = keras.ops.sum(logits * true, axis=1)
    z_other = keras.ops.max(logits - 1e9 * true, axis=1)
    top = keras.ops.top_k(logits, 3)[0]
    return -(z_y - z_other) / (top[:, 0] - top[:, 1] + 1e-12)
