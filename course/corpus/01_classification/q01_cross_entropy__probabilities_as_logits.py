"""Treats the logits as probabilities: -log z_y."""
QUESTION = "q01_cross_entropy"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def cross_entropy(logits, labels):
    z = np.asarray(logits, np.float64)
    return -np.log(np.abs(z[np.arange(len(z)), np.asarray(labels)]) + 1e-12)
