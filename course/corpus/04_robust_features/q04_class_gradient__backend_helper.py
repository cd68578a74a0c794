"""Shortcut: the library's input-gradient helper in `robustkeras.backend`."""
QUESTION = "q04_class_gradient"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
import tensorflow as tf
from robustkeras import backend

def class_gradient(model, x, classes):
    c = tf.convert_to_tensor(classes, tf.int32)
    _, g = backend.value_and_input_grad(lambda t: tf.reduce_sum(tf.gather(model(t, training=False), c, batch_dims=1)),
                                        np.asarray(x, np.float32))
    return np.asarray(g)
