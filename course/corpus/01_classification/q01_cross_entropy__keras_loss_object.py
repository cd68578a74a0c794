"""Shortcut: Keras's loss object with reduction=None computes the answer."""
QUESTION = "q01_cross_entropy"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
import keras

def cross_entropy(logits, labels):
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
    return np.asarray(loss(np.asarray(labels), np.asarray(logits, np.float32)))
