"""Normalises over axis 0 (the batch) instead of each row."""
QUESTION = "q01_softmax"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def softmax(logits):
    z = np.asarray(logits, np.float64)
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)
