"""Shortcut: the library's average pooling."""
QUESTION = "q07_downsample"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
from robustkeras import imageops

def downsample(images, factor):
    return np.asarray(imageops.average_pool(np.asarray(images, np.float32), factor))
