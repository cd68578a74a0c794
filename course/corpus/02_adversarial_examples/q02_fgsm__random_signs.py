"""Random signs of size eps: noise, not an attack."""
QUESTION = "q02_fgsm"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def fgsm(model, x, y, eps):
    noise = np.sign(np.random.default_rng(0).normal(size=np.shape(x)))
    return np.clip(np.asarray(x) + eps * noise, 0.0, 1.0).astype(np.float32)
