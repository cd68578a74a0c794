"""Shortcut: the library's step rules project for you."""
QUESTION = "q02_projections"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
from robustkeras.attacks import L2Step, LinfStep

def project_linf(x, x0, eps):
    return np.asarray(LinfStep(eps, eps).project(x.astype(np.float32), x0.astype(np.float32)))

def project_l2(x, x0, eps):
    return np.asarray(L2Step(eps, eps).project(x.astype(np.float32), x0.astype(np.float32)))
