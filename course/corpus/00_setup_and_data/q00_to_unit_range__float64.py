"""Divides by 255.0 without casting: float64 images, twice the memory."""
QUESTION = "q00_to_unit_range"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def to_unit_range(images):
    return np.asarray(images) / 255.0
