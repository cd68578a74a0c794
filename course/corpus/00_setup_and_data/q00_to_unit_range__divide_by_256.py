"""Divides by 256: 255 does not map to 1.0."""
QUESTION = "q00_to_unit_range"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def to_unit_range(images):
    return np.asarray(images).astype(np.float32) / 256.0
