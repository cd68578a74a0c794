"""Loops over full batches only: the last, smaller batch is not counted."""
QUESTION = "q01_accuracy"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def accuracy(model, x, y, batch_size=256):
    correct, seen = 0, 0
    for i in range(0, len(x) - batch_size + 1, batch_size):
        logits = np.asarray(model(x[i:i + batch_size], training=False))
        correct += int(np.sum(np.argmax(logits, axis=1) == np.asarray(y[i:i + batch_size])))
        seen += batch_size
    return correct / max(seen, 1)
