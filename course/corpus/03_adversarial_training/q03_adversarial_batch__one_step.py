"""One L2 step of size eps instead of `steps` smaller steps."""
QUESTION = "q03_adversarial_batch"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import tensorflow as tf
import keras
from robustkeras.attacks import L2Step, LinfStep

def adversarial_batch(logits_fn, x, y, *, eps, steps):
    rule = L2Step(eps, eps)
    x_adv = x
    for _ in range(1):
        with tf.GradientTape() as tape:
            tape.watch(x_adv)
            loss = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, logits_fn(x_adv), from_logits=True))
        grad = tape.gradient(loss, x_adv)
        x_adv = rule.project(rule.step(x_adv, grad), x)
    return tf.stop_gradient(x_adv)
