"""Class index off by one (counts classes from 1)."""
QUESTION = "q09_images_of"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
from robustkeras import data

def images_of(images, labels, class_name, k):
    index = data.CLASSES.index(class_name) + 1
    return np.asarray(images)[np.asarray(labels) == index][:k]
