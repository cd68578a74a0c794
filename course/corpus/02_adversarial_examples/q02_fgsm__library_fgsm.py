"""Shortcut: the library's fgsm."""
QUESTION = "q02_fgsm"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
from robustkeras.attacks import fgsm as library_fgsm

def fgsm(model, x, y, eps):
    return np.asarray(library_fgsm(model, x, y, eps=eps))
