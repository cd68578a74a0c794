"""One standard deviation per class (a single number) instead of one per pixel."""

QUESTION = "q05_class_seeds"
MAX_FRACTION = 0.0
PUBLIC_HINT = r"per pixel"

import numpy as np


def class_seeds(images, labels, classes, *, seed=0):
    rng = np.random.default_rng(seed)
    images, labels = np.asarray(images, np.float32), np.asarray(labels)
    out = []
    for c in np.asarray(classes):
        members = images[labels == c]
        out.append(members.mean(axis=0) + members.std() * rng.standard_normal(members.shape[1:]))
    return np.clip(np.stack(out), 0.0, 1.0).astype(np.float32)
