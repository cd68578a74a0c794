"""One L2 norm for the whole batch instead of one per image."""
QUESTION = "q02_projections"
MAX_FRACTION = 0.5
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def project_linf(x, x0, eps):
    return np.clip(x0 + np.clip(x - x0, -eps, eps), 0.0, 1.0)

def project_l2(x, x0, eps):
    delta = x - x0
    norm = np.sqrt(np.sum(delta ** 2))
    return np.clip(x0 + delta * min(1.0, eps / (norm + 1e-12)), 0.0, 1.0)
