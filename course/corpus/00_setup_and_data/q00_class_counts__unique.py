"""np.unique counts: a class that never occurs is skipped, not counted 0."""
QUESTION = "q00_class_counts"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def class_counts(labels, num_classes=10):
    return np.unique(np.asarray(labels), return_counts=True)[1]
