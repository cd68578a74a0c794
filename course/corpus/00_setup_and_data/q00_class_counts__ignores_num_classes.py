"""Always counts 10 classes, whatever num_classes says."""
QUESTION = "q00_class_counts"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def class_counts(labels, num_classes=10):
    return np.bincount(np.asarray(labels), minlength=10)
