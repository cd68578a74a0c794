"""The fraction NOT assigned to the target."""
QUESTION = "q09_success_rate"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def success_rate(judge, images, target_class):
    return float(np.mean(np.argmax(np.asarray(judge(images, training=False)), axis=1) != target_class))
