"""The cross-entropy without from_logits=True: the logits are read as probabilities."""
QUESTION = "q02_input_gradient"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
import tensorflow as tf
import keras

def input_gradient(model, x, y):
    x = tf.convert_to_tensor(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = model(x, training=False)
        loss = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, logits))
    return tape.gradient(loss, x).numpy()
