"""Shortcut: the library's DLR loss."""
QUESTION = "q03_dlr_loss"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

from robustkeras.attacks import dlr

def dlr_loss(logits, y):
    return dlr(logits, y)
