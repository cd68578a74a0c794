"""One edge scale for the whole batch: faint images lose their lines."""
QUESTION = "q08_edge_sketch"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def edge_sketch(images):
    images = np.asarray(images, np.float32)
    gray = images @ np.array([0.299, 0.587, 0.114], np.float32)
    gy, gx = np.gradient(gray, axis=(1, 2))
    magnitude = np.hypot(gx, gy)
    lines = np.clip(magnitude / (magnitude.max() + 1e-6), 0.0, 1.0)
    return np.repeat((1.0 - lines)[..., None], 3, axis=-1).astype(np.float32)
