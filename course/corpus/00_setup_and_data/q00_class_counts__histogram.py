"""np.histogram with num_classes bins over the labels' own range: bins do not match classes."""
QUESTION = "q00_class_counts"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def class_counts(labels, num_classes=10):
    return np.histogram(np.asarray(labels), bins=num_classes)[0]
