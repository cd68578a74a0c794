"""Adversarial attacks written with input gradients (`tf.GradientTape` on TensorFlow)."""

from robustkeras.attacks.apgd import apgd, apgd_loop
from robustkeras.attacks.fgsm import fgsm
from robustkeras.attacks.losses import cross_entropy, cross_entropy_targeted, dlr, dlr_targeted, margin
from robustkeras.attacks.pgd import pgd, pgd_loop
from robustkeras.attacks.steps import L2Step, LinfStep, make_step_rule, surface_start

__all__ = [
    "apgd", "apgd_loop", "fgsm", "pgd", "pgd_loop", "L2Step", "LinfStep", "make_step_rule", "surface_start",
    "cross_entropy", "cross_entropy_targeted", "dlr", "dlr_targeted", "margin",
]
