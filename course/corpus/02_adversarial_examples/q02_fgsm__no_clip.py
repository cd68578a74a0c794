"""No clip to [0, 1]: pixels leave the image range."""
QUESTION = "q02_fgsm"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def fgsm(model, x, y, eps):
    return (np.asarray(x) + eps * np.sign(input_gradient(model, x, y))).astype(np.float32)
