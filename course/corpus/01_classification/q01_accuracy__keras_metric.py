"""Shortcut (issue 29): Keras's accuracy metric computes the answer."""
QUESTION = "q01_accuracy"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
import keras

def accuracy(model, x, y, batch_size=256):
    metric = keras.metrics.SparseCategoricalAccuracy()
    for i in range(0, len(x), batch_size):
        metric.update_state(y[i:i + batch_size], model(x[i:i + batch_size], training=False))
    return float(metric.result())
