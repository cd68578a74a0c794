"""Seeded uniform noise: not drawn from the class's statistics."""
QUESTION = "q05_class_seeds"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def class_seeds(images, labels, classes, *, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(len(classes), *np.shape(images)[1:])).astype(np.float32)
