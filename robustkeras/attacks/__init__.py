"""Adversarial attacks written with input gradients (TensorFlow and JAX).

Convention (the same in every attack and in `robustkeras.evaluate`): `y` is
always the true label; a targeted attack takes its target classes as
`target=` (one id, or one per image), e.g. `pgd(model, x, y, ..., target=t)`.
Images are floats in [0, 1]; the model returns logits. See the README's
"Conventions" section.
"""

from robustkeras.attacks.apgd import apgd, apgd_loop
from robustkeras.attacks.fab import fab
from robustkeras.attacks.fgsm import fgsm
from robustkeras.attacks.losses import cross_entropy, cross_entropy_targeted, dlr, dlr_targeted, margin
from robustkeras.attacks.pgd import pgd, pgd_loop
from robustkeras.attacks.square import square
from robustkeras.attacks.steps import L2Step, LinfStep, make_step_rule, surface_start

__all__ = [
    "apgd", "apgd_loop", "fab", "fgsm", "pgd", "pgd_loop", "square", "L2Step", "LinfStep", "make_step_rule", "surface_start",
    "cross_entropy", "cross_entropy_targeted", "dlr", "dlr_targeted", "margin",
]
