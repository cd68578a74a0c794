"""L2 projection that always scales onto the sphere (no min(1, ...))."""
QUESTION = "q02_projections"
MAX_FRACTION = 0.5
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def project_linf(x, x0, eps):
    return np.clip(x0 + np.clip(x - x0, -eps, eps), 0.0, 1.0)

def project_l2(x, x0, eps):
    delta = x - x0
    norms = np.sqrt(np.sum(delta ** 2, axis=(1, 2, 3), keepdims=True))
    return np.clip(x0 + delta * eps / (norms + 1e-12), 0.0, 1.0)
