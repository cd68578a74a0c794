"""Ignores `radius` (optimize's default ball is used whatever the caller asks)."""

QUESTION = "q08_sketch_to_image"
MAX_FRACTION = 0.0
PUBLIC_HINT = r"radius"

import numpy as np


def sketch_to_image(model, sketches, classes, *, steps, step_size=0.5, radius=8.0):
    return optimize(model, sketches, objective=class_objective, params={"target": np.asarray(classes)},
                    steps=steps, step_size=step_size, radius=8.0).images
