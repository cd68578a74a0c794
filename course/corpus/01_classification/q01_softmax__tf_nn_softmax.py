"""Shortcut (issue 29): tf.nn.softmax computes the answer."""
QUESTION = "q01_softmax"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
import tensorflow as tf

def softmax(logits):
    return tf.nn.softmax(np.asarray(logits, np.float64), axis=1).numpy()
