"""exp without subtracting the row maximum: inf / nan for large logits."""
QUESTION = "q01_softmax"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def softmax(logits):
    e = np.exp(np.asarray(logits, np.float64))
    return e / e.sum(axis=1, keepdims=True)
