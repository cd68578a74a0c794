"""Steps down the loss: the step rules subtract."""
QUESTION = "q02_pgd"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def pgd_step(x, grad, step_size, norm):
    if norm == "linf":
        return x - step_size * np.sign(grad)
    norms = np.sqrt(np.sum(grad ** 2, axis=(1, 2, 3), keepdims=True))
    return x - step_size * grad / (norms + 1e-12)
