"""The first k images, whatever their class."""
QUESTION = "q09_images_of"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def images_of(images, labels, class_name, k):
    return np.asarray(images)[:k]
