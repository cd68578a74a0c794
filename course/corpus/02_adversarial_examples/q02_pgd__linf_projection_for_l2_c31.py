"""Uses the L-infinity projection (per-pixel clip) for the L2 attack too."""

QUESTION = "q02_pgd"
MAX_FRACTION = 0.5
PUBLIC_HINT = r"project_linf.*l2|L-?inf(inity)? projection"

import numpy as np


def pgd_attack(model, x, y, *, norm, eps, step_size, steps):
    x0 = np.asarray(x, np.float32)
    x_adv = x0.copy()
    for _ in range(steps):
        g = input_gradient(model, x_adv, y)
        x_adv = project_linf(pgd_step(x_adv, g, step_size, norm), x0, eps).astype(np.float32)
    return x_adv
