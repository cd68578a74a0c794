"""Shortcut (issue 29): the library's input-gradient helper in `robustkeras.backend`."""
QUESTION = "q02_input_gradient"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
import keras
from robustkeras import backend

def input_gradient(model, x, y):
    def objective(t):
        return keras.ops.sum(keras.losses.sparse_categorical_crossentropy(y, model(t, training=False), from_logits=True))
    value, grad = backend.value_aux_and_input_grad(lambda t: (objective(t), None), np.asarray(x, np.float32))[::2]
    return np.asarray(grad)
