"""Calls the model with training=True: dropout makes the gradient random."""
QUESTION = "q04_class_gradient"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
import tensorflow as tf
import keras

def class_gradient(model, x, classes):
    x = tf.convert_to_tensor(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = model(x, training=True)
        total = tf.reduce_sum(tf.gather(logits, tf.convert_to_tensor(classes, tf.int32), batch_dims=1))
    return tape.gradient(total, x).numpy()
