"""Steps along the raw gradient, not its sign."""
QUESTION = "q02_fgsm"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def fgsm(model, x, y, eps):
    return np.clip(np.asarray(x) + eps * input_gradient(model, x, y), 0.0, 1.0).astype(np.float32)
