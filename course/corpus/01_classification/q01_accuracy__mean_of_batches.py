"""Averages the per-batch accuracies: the smaller last batch weighs as much as a full one."""
QUESTION = "q01_accuracy"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def accuracy(model, x, y, batch_size=256):
    scores = []
    for i in range(0, len(x), batch_size):
        logits = np.asarray(model(x[i:i + batch_size], training=False))
        scores.append(np.mean(np.argmax(logits, axis=1) == np.asarray(y[i:i + batch_size])))
    return float(np.mean(scores))
