"""log(sum(exp(z))) without the max trick: inf for large logits."""
QUESTION = "q01_cross_entropy"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def cross_entropy(logits, labels):
    z = np.asarray(logits, np.float64)
    return np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(z)), np.asarray(labels)]
