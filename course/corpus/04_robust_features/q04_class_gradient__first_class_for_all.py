"""Uses the first image's class for every image."""
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
        logits = model(x, training=False)
        total = tf.reduce_sum(logits[:, int(np.asarray(classes)[0])])
    return tape.gradient(total, x).numpy()
