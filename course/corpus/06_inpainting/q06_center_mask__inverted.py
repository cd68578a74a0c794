"""Ones outside the square, zeros inside."""
QUESTION = "q06_center_mask"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def center_mask(n, size=32, side=16):
    mask = np.ones((n, size, size, 1), np.float32)
    top = (size - side) // 2
    mask[:, top:top + side, top:top + side] = 0.0
    return mask
