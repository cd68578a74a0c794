"""The class mean itself: every seed of a class is the same image."""
QUESTION = "q05_class_seeds"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def class_seeds(images, labels, classes, *, seed=0):
    images, labels = np.asarray(images, np.float32), np.asarray(labels)
    return np.stack([images[labels == c].mean(axis=0) for c in np.asarray(classes)]).astype(np.float32)
