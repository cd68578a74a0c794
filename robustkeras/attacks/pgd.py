"""Projected gradient descent (Madry et al. 2018), batched and compiled once per model.

`pgd` is the public function. `pgd_loop` is the pure, backend-neutral loop that
the adversarial `train_step` (TensorFlow and JAX) and the synthesis optimizer
call from inside their own compiled code.
"""

import weakref

import numpy as np
from keras import ops

from robustkeras import _checks
from robustkeras import backend as B
from robustkeras.attacks.losses import LOSSES, cross_entropy
from robustkeras.attacks.steps import make_step_rule


def pgd_loop(logits_fn, x0, y, rule, *, steps, targeted=False, loss_fn=cross_entropy,
             random_start=True, keep_best=False, seed=None):
    """The PGD iteration as a pure function (call it inside compiled code).

    The objective maximised is `loss_fn(logits, y)`, or `-loss_fn(logits, y)`
    when `targeted` (then `y` holds the targets). With `keep_best`, each image
    returns its highest-objective iterate, including the final one.

    Args:
        logits_fn: `x -> logits`.
        x0: clean images `(N, H, W, C)` in [0, 1].
        y: int labels (or targets) `(N,)`.
        rule: a step rule (`L2Step`, `LinfStep`).
        steps: number of steps; a Python int unrolls, a tensor loops.
        targeted, loss_fn, random_start, keep_best: see `pgd`.
        seed: 2-element int32 seed tensor for the random start.

    Returns:
        Adversarial images shaped like `x0`.
    """
    sign = -1.0 if targeted else 1.0

    def objective(x):
        return sign * loss_fn(logits_fn(x), y)

    x = rule.random_start(x0, seed) if random_start else x0
    best_x, best_obj = x, ops.full((ops.shape(x0)[0],), -np.inf, "float32")

    def body(_, carry):
        x, best_x, best_obj = carry
        obj, grad = B.value_and_input_grad(objective, x)
        if keep_best:
            better = ops.reshape(obj > best_obj, (-1, 1, 1, 1))
            best_x = ops.where(better, x, best_x)
            best_obj = ops.maximum(obj, best_obj)
        x = rule.project(rule.step(x, grad), x0)
        return x, best_x, best_obj

    if isinstance(steps, int) and steps <= 4:
        carry = (x, best_x, best_obj)
        for i in range(steps):
            carry = body(i, carry)
        x, best_x, best_obj = carry
    else:
        x, best_x, best_obj = ops.fori_loop(0, steps, body, (x, best_x, best_obj))
    if not keep_best:
        return x
    final = objective(x)
    better = ops.reshape(final > best_obj, (-1, 1, 1, 1))
    return ops.where(better, x, best_x), ops.maximum(final, best_obj)


# One compiled attack per (model, options); weak keys so models can be freed.
_COMPILED = weakref.WeakKeyDictionary()


def _compiled_attack(model, norm, targeted, loss_fn, random_start):
    per_model = _COMPILED.setdefault(model, {})
    key = (norm, targeted, loss_fn, random_start)
    if key not in per_model:
        fn, _ = B.inference_fn(model)

        def attack(state, x0, y, eps, step_size, steps, seed):
            rule = make_step_rule(norm, eps, step_size)
            return pgd_loop(lambda x: fn(state, x), x0, y, rule, steps=steps, targeted=targeted,
                            loss_fn=loss_fn, random_start=random_start, keep_best=True, seed=seed)

        per_model[key] = B.compile_fn(attack)
    return per_model[key]


def _resolve_loss(loss):
    if callable(loss):
        return loss
    return LOSSES[_checks.one_of("loss", loss, LOSSES)]


def pgd(model, x, y, *, norm, eps, step_size, steps, targeted=False, random_start=True,
        loss="ce", restarts=1, seed=0, num_classes=10):
    """Projected gradient attack, keeping each image's best iterate over steps and restarts.

    Args:
        model: a Keras classifier returning logits, inputs in [0, 1].
        x: float images `(N, H, W, C)` in [0, 1].
        y: int labels `(N,)`: the true labels, or the targets when `targeted`.
        norm: "l2" or "linf".
        eps: radius of the threat ball, >= 0.
        step_size: length of each step, >= 0.
        steps: number of steps, >= 0.
        targeted: minimise the loss towards `y` instead of maximising it away from `y`.
        random_start: start from a random point of the ball.
        loss: "ce", "margin", or a callable `(logits, y) -> (N,)` per-example loss.
        restarts: independent random starts; each image keeps its worst case.
        seed: integer seed of the random starts.
        num_classes: number of classes, for checking `y`.

    Returns:
        numpy float32 adversarial images, inside the `eps`-ball of `x` and [0, 1].

    Example:
        >>> x_adv = pgd(model, x, y, norm="l2", eps=0.5, step_size=0.125, steps=20)
        >>> np.all(np.linalg.norm((x_adv - x).reshape(len(x), -1), axis=1) <= 0.5 + 1e-5)
        True
    """
    x = _checks.images("x", x, channels=None)
    num_classes = _checks.positive_int("num_classes", num_classes, minimum=2)
    y = _checks.labels("y", y, n=x.shape[0], num_classes=num_classes)
    norm = _checks.one_of("norm", norm, {"l2", "linf"})
    eps = _checks.non_negative("eps", eps)
    step_size = _checks.non_negative("step_size", step_size)
    steps = _checks.positive_int("steps", steps, minimum=0)
    restarts = _checks.positive_int("restarts", restarts)
    seed = _checks.positive_int("seed", seed, minimum=0)
    targeted = _checks.boolean("targeted", targeted)
    random_start = _checks.boolean("random_start", random_start)
    loss_fn = _resolve_loss(loss)
    if eps == 0 or steps == 0 and not random_start:
        return x.copy()
    attack = _compiled_attack(model, norm, targeted, loss_fn, random_start)
    _, state = B.inference_fn(model)
    best_x, best_obj = None, None
    for r in range(restarts):
        x_adv, obj = attack(state, x, y, np.float32(eps), np.float32(step_size),
                            np.int32(steps), np.array([seed, r], np.int32))
        x_adv, obj = np.array(x_adv), np.array(obj)
        if best_x is None:
            best_x, best_obj = x_adv, obj
        else:
            better = obj > best_obj
            best_x[better], best_obj[better] = x_adv[better], obj[better]
    return best_x
