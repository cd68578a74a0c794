"""Shortcut (issue 29): tf.nn's sparse softmax cross-entropy computes the answer."""
QUESTION = "q01_cross_entropy"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
import tensorflow as tf

def cross_entropy(logits, labels):
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=np.asarray(labels),
                                                          logits=np.asarray(logits, np.float64)).numpy()
