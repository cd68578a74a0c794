"""Integer division in uint8: every pixel becomes 0 or 1."""
QUESTION = "q00_to_unit_range"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def to_unit_range(images):
    return (np.asarray(images) // 255).astype(np.float32)
