"""Scales by the largest value, not the largest magnitude."""
QUESTION = "q04_to_display"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def to_display(g):
    g = np.asarray(g, np.float32)
    scale = g.max(axis=(1, 2, 3), keepdims=True)
    return 0.5 + 0.5 * g / np.maximum(scale, 1e-12)
