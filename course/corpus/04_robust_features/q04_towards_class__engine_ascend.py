"""Shortcut: the library's ascent loop."""
QUESTION = "q04_towards_class"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
import keras
from robustkeras import engine
from robustkeras.attacks import L2Step

def towards_class(model, x, targets, *, eps, steps):
    rule = L2Step(eps, 2.5 * eps / steps)
    objective = lambda t: -keras.losses.sparse_categorical_crossentropy(targets, model(t, training=False), from_logits=True)
    out = engine.ascend(objective, np.asarray(x, np.float32), np.asarray(x, np.float32), lambda i: rule, steps=steps)
    return np.asarray(out[0] if isinstance(out, (tuple, list)) else out)
