"""Shortcut: the library's sketch maker."""
QUESTION = "q08_edge_sketch"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
from robustkeras.synthesis import sketch

def edge_sketch(images):
    return np.asarray(sketch.make_sketch(np.asarray(images, np.float32)))
