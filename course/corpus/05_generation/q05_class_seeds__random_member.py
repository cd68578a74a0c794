"""A random training image of the class (a copy, not a new seed): earns only the determinism part."""
QUESTION = "q05_class_seeds"
MAX_FRACTION = 0.5
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def class_seeds(images, labels, classes, *, seed=0):
    rng = np.random.default_rng(seed)
    images, labels = np.asarray(images, np.float32), np.asarray(labels)
    return np.stack([images[rng.choice(np.flatnonzero(labels == c))] for c in np.asarray(classes)]).astype(np.float32)
