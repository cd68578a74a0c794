"""One L2 step of size eps instead of `steps` smaller ones."""
QUESTION = "q04_towards_class"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
import tensorflow as tf
import keras
from robustkeras.attacks import L2Step, LinfStep

def towards_class(model, x, targets, *, eps, steps):
    rule = L2Step(eps, eps)
    x0 = tf.convert_to_tensor(x, tf.float32)
    x_adv = x0
    for _ in range(1):
        with tf.GradientTape() as tape:
            tape.watch(x_adv)
            log_p = -keras.losses.sparse_categorical_crossentropy(targets, model(x_adv, training=False), from_logits=True)
            total = tf.reduce_sum(log_p)
        x_adv = rule.project(rule.step(x_adv, tape.gradient(total, x_adv)), x0)
    return np.asarray(x_adv)
