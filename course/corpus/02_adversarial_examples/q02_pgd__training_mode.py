"""The attack's gradient in training mode (dropout active)."""
QUESTION = "q02_pgd"
MAX_FRACTION = 0.34
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
import tensorflow as tf
import keras

def pgd_step(x, grad, step_size, norm):
    if norm == "linf":
        return x + step_size * np.sign(grad)
    norms = np.sqrt(np.sum(grad ** 2, axis=(1, 2, 3), keepdims=True))
    return x + step_size * grad / (norms + 1e-12)

def pgd_attack(model, x, y, *, norm, eps, step_size, steps):
    project = project_linf if norm == "linf" else project_l2
    x0 = np.asarray(x, np.float32)
    x_adv = x0.copy()
    for _ in range(steps):
        t = tf.convert_to_tensor(x_adv)
        with tf.GradientTape() as tape:
            tape.watch(t)
            loss = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, model(t, training=True), from_logits=True))
        x_adv = project(pgd_step(x_adv, tape.gradient(loss, t).numpy(), step_size, norm), x0, eps).astype(np.float32)
    return x_adv
