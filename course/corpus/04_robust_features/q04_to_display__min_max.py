"""Min-max scaling per image: 0 is no longer grey."""
QUESTION = "q04_to_display"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def to_display(g):
    g = np.asarray(g, np.float32)
    lo, hi = g.min(axis=(1, 2, 3), keepdims=True), g.max(axis=(1, 2, 3), keepdims=True)
    return np.where(hi > lo, (g - lo) / np.maximum(hi - lo, 1e-12), 0.5)
