"""Shortcut (issue 29): another attack's private distance helper."""
QUESTION = "q00_distances"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
from robustkeras.attacks import fab

def l2_distance(a, b):
    return np.asarray(fab._distance(np.asarray(a, np.float32), np.asarray(b, np.float32), "l2"))

def linf_distance(a, b):
    return np.asarray(fab._distance(np.asarray(a, np.float32), np.asarray(b, np.float32), "linf"))
