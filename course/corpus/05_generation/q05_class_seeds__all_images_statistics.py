"""Mean and std of all images, not of the requested class."""
QUESTION = "q05_class_seeds"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def class_seeds(images, labels, classes, *, seed=0):
    rng = np.random.default_rng(seed)
    images = np.asarray(images, np.float32)
    mean, std = images.mean(axis=0), images.std(axis=0)
    out = [mean + std * rng.standard_normal(mean.shape) for _ in np.asarray(classes)]
    return np.clip(np.stack(out), 0.0, 1.0).astype(np.float32)
