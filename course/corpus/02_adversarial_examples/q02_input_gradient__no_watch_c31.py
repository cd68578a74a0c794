"""Forgets `tape.watch(x)`: a tensor that is not a Variable is not recorded, so the gradient is None."""

QUESTION = "q02_input_gradient"
MAX_FRACTION = 0.0
PUBLIC_HINT = r"tape\.watch"

import keras
import tensorflow as tf


def input_gradient(model, x, y):
    x = tf.convert_to_tensor(x, tf.float32)
    with tf.GradientTape() as tape:
        logits = model(x, training=False)
        loss = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
    return tape.gradient(loss, x).numpy()
