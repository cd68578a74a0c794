"""Shortcut (issue 29): the library's ascent loop `engine.ascend` builds the batch."""
QUESTION = "q03_adversarial_batch"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import tensorflow as tf
import keras
from robustkeras import engine
from robustkeras.attacks import L2Step

def adversarial_batch(logits_fn, x, y, *, eps, steps):
    rule = L2Step(eps, 2.5 * eps / steps)
    objective = lambda t: keras.losses.sparse_categorical_crossentropy(y, logits_fn(t), from_logits=True)
    out = engine.ascend(objective, x, x, lambda i: rule, steps=steps)
    return tf.stop_gradient(out[0] if isinstance(out, (tuple, list)) else out)
