"""One scale for the whole batch instead of one per image."""
QUESTION = "q04_to_display"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def to_display(g):
    g = np.asarray(g, np.float32)
    return 0.5 + 0.5 * g / max(float(np.abs(g).max()), 1e-12)
