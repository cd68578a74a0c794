"""A hard-coded class table in another order."""
QUESTION = "q09_images_of"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

NAMES = ["cat", "dog", "airplane", "automobile", "bird", "deer", "frog", "horse", "ship", "truck"]

def images_of(images, labels, class_name, k):
    return np.asarray(images)[np.asarray(labels) == NAMES.index(class_name)][:k]
