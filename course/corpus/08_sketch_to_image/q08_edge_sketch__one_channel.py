"""One grey channel: (N, H, W, 1) instead of three."""
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
    scale = np.percentile(magnitude, 90, axis=(1, 2), keepdims=True) + 1e-6
    return (1.0 - np.clip(magnitude / scale, 0.0, 1.0))[..., None].astype(np.float32)
