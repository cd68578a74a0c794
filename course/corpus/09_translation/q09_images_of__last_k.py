"""The last k images of the class instead of the first."""
QUESTION = "q09_images_of"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
from robustkeras import data

def images_of(images, labels, class_name, k):
    index = data.CLASSES.index(class_name)
    return np.asarray(images)[np.asarray(labels) == index][-k:]
