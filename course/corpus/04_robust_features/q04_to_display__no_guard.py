"""No guard: an all-zero gradient divides 0 by 0."""
QUESTION = "q04_to_display"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def to_display(g):
    g = np.asarray(g, np.float32)
    return 0.5 + 0.5 * g / np.abs(g).max(axis=(1, 2, 3), keepdims=True)
