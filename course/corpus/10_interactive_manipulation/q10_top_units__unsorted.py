"""The top k units in index order, not by weight."""
QUESTION = "q10_top_units"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np

def top_units(model, class_id, k=5):
    w = np.asarray(model.layers[-1].kernel)
    return sorted(int(i) for i in np.argsort(-w[:, class_id])[:k])
