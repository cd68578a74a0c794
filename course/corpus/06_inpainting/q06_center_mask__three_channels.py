"""One mask channel per colour channel: (n, size, size, 3)."""
QUESTION = "q06_center_mask"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def center_mask(n, size=32, side=16):
    mask = np.zeros((n, size, size, 3), np.float32)
    top = (size - side) // 2
    mask[:, top:top + side, top:top + side] = 1.0
    return mask
