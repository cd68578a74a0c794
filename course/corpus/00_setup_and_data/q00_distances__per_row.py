"""Norms over the last axis only (per pixel row), not over H, W and C."""
QUESTION = "q00_distances"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def l2_distance(a, b):
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    return np.sqrt(np.sum(d * d, axis=-1)).max(axis=(1, 2))

def linf_distance(a, b):
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    return np.abs(d).max(axis=-1).max(axis=(1, 2))
