"""One normalisation over the whole array: rows do not sum to 1."""
QUESTION = "q01_softmax"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def softmax(logits):
    z = np.asarray(logits, np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()
