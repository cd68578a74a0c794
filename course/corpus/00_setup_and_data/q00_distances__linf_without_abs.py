"""L-infinity as the largest signed difference (no absolute value)."""
QUESTION = "q00_distances"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def l2_distance(a, b):
    d = (np.asarray(a, np.float64) - np.asarray(b, np.float64)).reshape(len(a), -1)
    return np.sqrt(np.sum(d * d, axis=1))

def linf_distance(a, b):
    d = (np.asarray(a, np.float64) - np.asarray(b, np.float64)).reshape(len(a), -1)
    return np.max(d, axis=1)
