"""Adversarial training: a custom `train_step` (TensorFlow and JAX) and a resumable `train`."""

from robustkeras.training.adversarial import AdversarialTrainer
from robustkeras.training.fit import train

__all__ = ["AdversarialTrainer", "train"]
