"""Projects onto the ball around the current iterate, not the clean x."""
QUESTION = "q02_pgd"
MAX_FRACTION = 0.34
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def pgd_step(x, grad, step_size, norm):
    if norm == "linf":
        return x + step_size * np.sign(grad)
    norms = np.sqrt(np.sum(grad ** 2, axis=(1, 2, 3), keepdims=True))
    return x + step_size * grad / (norms + 1e-12)

def pgd_attack(model, x, y, *, norm, eps, step_size, steps):
    project = project_linf if norm == "linf" else project_l2
    x_adv = np.asarray(x, np.float32).copy()
    for _ in range(steps):
        x_adv = project(pgd_step(x_adv, input_gradient(model, x_adv, y), step_size, norm), x_adv, eps).astype(np.float32)
    return x_adv
