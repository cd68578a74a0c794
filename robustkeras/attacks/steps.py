"""Step rules: how one attack step moves, and how it is projected back.

As in MadryLab's robustness library, each threat model is a tiny object with
`step`, `project` and `random_start`; PGD, FGSM, APGD and every synthesis task
share them. All math is `keras.ops`, so both backends use the same code.
"""

import keras
from keras import ops

from robustkeras import _checks
from robustkeras import backend as B

_TINY = 1e-12


def l2_norm(t):
    """Per-example L2 norm of a batch, shaped `(N, 1, 1, 1)` for broadcasting."""
    return ops.sqrt(ops.sum(ops.square(t), axis=(1, 2, 3), keepdims=True))


class LinfStep:
    """Steps along the gradient's sign; projects onto the L-infinity ball of radius `eps`.

    Example:
        >>> rule = LinfStep(eps=8 / 255, step_size=2 / 255)
        >>> x_adv = rule.project(rule.step(x, grad), x0)
    """

    norm = "linf"

    def __init__(self, eps, step_size):
        self.eps, self.step_size = eps, step_size

    def step(self, x, grad):
        return x + self.step_size * ops.sign(grad)

    def project(self, x, x0):
        return ops.clip(x0 + ops.clip(x - x0, -self.eps, self.eps), 0.0, 1.0)

    def random_start(self, x0, seed):
        noise = B.stateless_uniform(ops.shape(x0), seed, -1.0, 1.0)
        return ops.clip(x0 + self.eps * noise, 0.0, 1.0)


class L2Step:
    """Steps along the normalised gradient; projects onto the L2 ball of radius `eps`.

    Example:
        >>> rule = L2Step(eps=0.5, step_size=0.1)
        >>> x_adv = rule.project(rule.step(x, grad), x0)
    """

    norm = "l2"

    def __init__(self, eps, step_size):
        self.eps, self.step_size = eps, step_size

    def step(self, x, grad):
        return x + self.step_size * grad / (l2_norm(grad) + _TINY)

    def project(self, x, x0):
        delta = x - x0
        scale = ops.minimum(1.0, self.eps / (l2_norm(delta) + _TINY))
        return ops.clip(x0 + delta * scale, 0.0, 1.0)

    def random_start(self, x0, seed):
        # Uniform in the ball: a Gaussian direction, radius eps * U^(1/d).
        direction = B.stateless_normal(ops.shape(x0), seed)
        direction = direction / (l2_norm(direction) + _TINY)
        n = ops.shape(x0)[0]
        dim = ops.cast(ops.prod(ops.shape(x0)[1:]), "float32")
        u = B.stateless_uniform((n, 1, 1, 1), B.fold_seed(seed[1], seed[0]), 0.0, 1.0)
        radius = self.eps * ops.power(u, 1.0 / dim)
        return ops.clip(x0 + radius * direction, 0.0, 1.0)


def surface_start(rule, x0, seed):
    """A random point on the sphere of radius `rule.eps` around `x0`, clipped to [0, 1].

    This is the start of Auto-PGD (Croce & Hein 2020): uniform noise scaled so
    its largest pixel is `eps` (L-infinity), or a Gaussian direction of length
    `eps` (L2). Starting on the surface, not inside the ball, is what the
    published attack does.

    Args:
        rule: an `L2Step` or `LinfStep` (only `norm` and `eps` are used).
        x0: clean images `(N, H, W, C)`.
        seed: 2-element int32 seed tensor.

    Returns:
        Start images shaped like `x0`.

    Example:
        >>> x_start = surface_start(LinfStep(8 / 255, 0.0), x0, B.fold_seed(0, 0))
    """
    if rule.norm == "linf":
        noise = B.stateless_uniform(ops.shape(x0), seed, -1.0, 1.0)
        size = ops.max(ops.abs(noise), axis=(1, 2, 3), keepdims=True)
    else:
        noise = B.stateless_normal(ops.shape(x0), seed)
        size = l2_norm(noise)
    return ops.clip(x0 + rule.eps * noise / (size + _TINY), 0.0, 1.0)


STEP_RULES = {"l2": L2Step, "linf": LinfStep}


def make_step_rule(norm, eps, step_size):
    """The step rule for `norm` ("l2" or "linf") after checking `eps` and `step_size`.

    Example:
        >>> rule = make_step_rule("l2", 0.5, 0.1)
    """
    norm = _checks.one_of("norm", norm, STEP_RULES)
    if not keras.ops.is_tensor(eps):
        eps = _checks.non_negative("eps", eps)
    if not keras.ops.is_tensor(step_size):
        step_size = _checks.non_negative("step_size", step_size)
    return STEP_RULES[norm](eps, step_size)
