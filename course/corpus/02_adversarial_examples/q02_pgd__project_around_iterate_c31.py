"""Projects onto the ball around the current iterate instead of the clean images: the attack drifts out of the eps-ball."""

QUESTION = "q02_pgd"
MAX_FRACTION = 0.5
PUBLIC_HINT = r"around the clean"

import numpy as np


def pgd_attack(model, x, y, *, norm, eps, step_size, steps):
    project = project_linf if norm == "linf" else project_l2
    x_adv = np.asarray(x, np.float32).copy()
    for _ in range(steps):
        g = input_gradient(model, x_adv, y)
        x_adv = project(pgd_step(x_adv, g, step_size, norm), x_adv, eps).astype(np.float32)
    return x_adv
