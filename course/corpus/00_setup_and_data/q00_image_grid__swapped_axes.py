"""Swaps height and width of the tiles (transposes each image)."""
QUESTION = "q00_image_grid"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def image_grid(images, ncols):
    images = np.transpose(np.asarray(images), (0, 2, 1, 3))
    n, h, w, c = images.shape
    rows = -(-n // ncols)
    grid = np.zeros((rows * h, ncols * w, c), images.dtype)
    for k in range(n):
        r, q = divmod(k, ncols)
        grid[r * h:(r + 1) * h, q * w:(q + 1) * w] = images[k]
    return grid
