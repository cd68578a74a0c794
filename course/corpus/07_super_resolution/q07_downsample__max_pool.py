"""Max-pools each block instead of averaging it."""
QUESTION = "q07_downsample"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def downsample(images, factor):
    images = np.asarray(images, np.float32)
    n, h, w, c = images.shape
    return images.reshape(n, h // factor, factor, w // factor, factor, c).max(axis=(2, 4))
