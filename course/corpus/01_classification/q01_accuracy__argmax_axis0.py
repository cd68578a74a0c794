"""argmax over the batch axis instead of the classes."""
QUESTION = "q01_accuracy"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def accuracy(model, x, y, batch_size=256):
    correct = 0
    for i in range(0, len(x), batch_size):
        logits = np.asarray(model(x[i:i + batch_size], training=False))
        correct += int(np.sum(np.argmax(logits, axis=0)[:len(logits)] == np.asarray(y[i:i + batch_size])[:logits.shape[1]]))
    return correct / len(x)
