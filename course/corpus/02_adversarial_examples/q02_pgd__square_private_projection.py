"""Shortcut (issue 29): the library's input-gradient helper and another attack module's private projection."""
QUESTION = "q02_pgd"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
import keras
from robustkeras import backend
from robustkeras.attacks import square

def pgd_step(x, grad, step_size, norm):
    if norm == "linf":
        return x + step_size * np.sign(grad)
    norms = np.sqrt(np.sum(grad ** 2, axis=(1, 2, 3), keepdims=True))
    return x + step_size * grad / (norms + 1e-12)

def pgd_attack(model, x, y, *, norm, eps, step_size, steps):
    x0 = np.asarray(x, np.float32)
    x_adv = x0.copy()
    for _ in range(steps):
        def objective(t):
            return keras.ops.sum(keras.losses.sparse_categorical_crossentropy(y, model(t, training=False), from_logits=True))
        _, g = backend.value_and_input_grad(objective, x_adv)
        x_adv = np.asarray(square._project(pgd_step(x_adv, np.asarray(g), step_size, norm), x0, eps, norm), np.float32)
    return x_adv
