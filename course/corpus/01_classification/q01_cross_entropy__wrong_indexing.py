"""z[:, labels] picks every label for every row (an (N, N) array)."""
QUESTION = "q01_cross_entropy"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def cross_entropy(logits, labels):
    z = np.asarray(logits, np.float64)
    m = z.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    return lse - z[:, np.asarray(labels)]
