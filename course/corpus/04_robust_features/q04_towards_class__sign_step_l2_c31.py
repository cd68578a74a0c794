"""Takes the L-infinity sign step inside targeted L2 PGD (the step of the other threat model)."""

QUESTION = "q04_towards_class"
MAX_FRACTION = 0.5
PUBLIC_HINT = r"sign"

import keras
import numpy as np
import tensorflow as tf


def towards_class(model, x, targets, *, eps, steps):
    step_size = 2.5 * eps / steps
    x0 = tf.convert_to_tensor(x, tf.float32)
    x_adv = x0
    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(x_adv)
            total = -tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(
                targets, model(x_adv, training=False), from_logits=True))
        x_adv = L2Step(eps, step_size).project(x_adv + step_size * tf.sign(tape.gradient(total, x_adv)), x0)
    return np.asarray(x_adv)
