"""Shortcut: the library's own conversion from another module."""
QUESTION = "q00_to_unit_range"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import numpy as np
from robustkeras import data

def to_unit_range(images):
    return data.to_float(images)
