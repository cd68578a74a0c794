"""Adversarial attacks written with input gradients (`tf.GradientTape` on TensorFlow)."""

from robustkeras.attacks.fgsm import fgsm
from robustkeras.attacks.losses import cross_entropy, margin
from robustkeras.attacks.pgd import pgd, pgd_loop
from robustkeras.attacks.steps import L2Step, LinfStep, make_step_rule

__all__ = ["fgsm", "pgd", "pgd_loop", "L2Step", "LinfStep", "make_step_rule", "cross_entropy", "margin"]
