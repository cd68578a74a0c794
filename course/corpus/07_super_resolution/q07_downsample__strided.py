"""Keeps every factor-th pixel instead of averaging each block."""
QUESTION = "q07_downsample"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def downsample(images, factor):
    return np.asarray(images, np.float32)[:, ::factor, ::factor]
