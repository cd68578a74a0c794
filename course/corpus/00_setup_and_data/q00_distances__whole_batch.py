"""One distance for the whole batch instead of one per image."""
QUESTION = "q00_distances"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def l2_distance(a, b):
    return np.sqrt(np.sum((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))

def linf_distance(a, b):
    return np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)))
