"""Hard-codes the step size instead of using `step_size`."""

QUESTION = "q08_sketch_to_image"
MAX_FRACTION = 0.0
PUBLIC_HINT = r"step_size"

import numpy as np


def sketch_to_image(model, sketches, classes, *, steps, step_size=0.5, radius=8.0):
    return optimize(model, sketches, objective=class_objective, params={"target": np.asarray(classes)},
                    steps=steps, step_size=0.5, radius=radius).images
