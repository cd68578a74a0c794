"""DLR written in NumPy: right values on arrays, but it cannot run inside the attack's compiled graph."""

QUESTION = "q03_dlr_loss"
MAX_FRACTION = 0.5
PUBLIC_HINT = r"NumPy|graph"

import numpy as np


def dlr_loss(logits, y):
    logits, y = np.asarray(logits, np.float32), np.asarray(y)
    rows = np.arange(len(logits))
    z_y = logits[rows, y]
    other = logits.copy()
    other[rows, y] = -np.inf
    top = -np.sort(-logits, axis=1)
    return -(z_y - other.max(1)) / (top[:, 0] - top[:, 2] + 1e-12)
