"""Reshapes (h, w) into (factor, h // factor): averages pixels that are far apart."""
QUESTION = "q07_downsample"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def downsample(images, factor):
    images = np.asarray(images, np.float32)
    n, h, w, c = images.shape
    return images.reshape(n, factor, h // factor, factor, w // factor, c).mean(axis=(1, 3))
