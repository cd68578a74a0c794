"""Projected gradient descent (Madry et al. 2018), batched and compiled once per model.

`pgd` is the public function (it checks its arguments once; `run_pgd` is the
same on checked ones, for `evaluate`). `pgd_loop` is the pure, backend-neutral
loop that the adversarial `train_step` (TensorFlow and JAX) calls from inside
its own compiled code; it is `robustkeras.engine.ascend`, the loop the
synthesis optimizer runs too.
"""

import warnings

import numpy as np

from robustkeras import _checks
from robustkeras import backend as B
from robustkeras import engine
from robustkeras.attacks.losses import LOSSES, cross_entropy
from robustkeras.attacks.steps import make_step_rule
from robustkeras.models.introspect import logits_model


def pgd_loop(logits_fn, x0, y, rule, *, steps, target=None, loss_fn=cross_entropy,
             random_start=True, keep_best=False, seed=None):
    """The PGD iteration as a pure function (call it inside compiled code).

    The objective maximised is `loss_fn(logits, y)` (away from the true label
    `y`), or `-loss_fn(logits, target)` when a `target` is given (towards it).
    With `keep_best`, each image returns its highest-objective iterate,
    including the final one. The loop is `robustkeras.engine.ascend`.

    Args:
        logits_fn: `x -> logits`.
        x0: clean images `(N, H, W, C)` in [0, 1].
        y: int true labels `(N,)`.
        rule: a step rule (`L2Step`, `LinfStep`).
        steps: number of steps; a Python int unrolls, a tensor loops.
        target: optional int target classes `(N,)`: makes the attack targeted.
        loss_fn, random_start, keep_best: see `pgd`.
        seed: 2-element int32 seed tensor for the random start.

    Returns:
        Adversarial images shaped like `x0` (and, with `keep_best`, their objective).
    """
    if target is None:
        def objective(x):
            return loss_fn(logits_fn(x), y)
    else:
        def objective(x):
            return -loss_fn(logits_fn(x), target)

    start = rule.random_start(x0, seed) if random_start else x0
    out = engine.ascend(objective, start, x0, lambda i: rule, steps=steps, keep_best=keep_best)
    return out[1] if keep_best else out


def _build_attack(model, norm, targeted, loss_fn, random_start):
    fn, _ = B.inference_fn(model)

    def attack(state, x0, y, target, eps, step_size, steps, seed):
        rule = make_step_rule(norm, eps, step_size)
        return pgd_loop(lambda x: fn(state, x), x0, y, rule, steps=steps, target=target if targeted else None,
                        loss_fn=loss_fn, random_start=random_start, keep_best=True, seed=seed)

    return attack


def _resolve_loss(loss):
    if callable(loss):
        return loss
    return LOSSES[_checks.one_of("loss", loss, LOSSES)]


def legacy_targeted(function, y, target, targeted):
    """The old `targeted=True` form (targets in `y`) as `target=y`, with a warning; `target` otherwise.

    `y` is always the true label; a targeted attack names its `target=`. Calls
    written for the old convention keep their meaning (the targets they passed
    as `y` become `target`) and are told how to write it now.
    """
    if targeted is None:
        return target
    targeted = _checks.boolean("targeted", targeted)
    if not targeted:
        if target is not None:
            raise ValueError("Expected `targeted` left out when `target` is given. Received: targeted=False")
        return None
    if target is not None:
        raise ValueError("Expected `targeted` left out when `target` is given (the old `targeted=True` "
                         "form put the targets in `y`). Received: targeted=True and a target")
    warnings.warn(f"{function}(..., y=targets, targeted=True) is deprecated: `y` is always the true label. "
                  f"Write {function}(model, x, y_true, target=targets, ...).", FutureWarning, stacklevel=3)
    return y


def pgd(model, x, y, *, norm, eps, step_size, steps, target=None, random_start=True,
        loss="ce", restarts=1, seed=0, num_classes=None, targeted=None):
    """Projected gradient attack, keeping each image's best iterate over steps and restarts.

    Untargeted, it maximises `loss(logits, y)` away from the true labels `y`;
    with `target=` it minimises `loss(logits, target)` towards the target classes.

    Args:
        model: a Keras classifier taking [0, 1] images (any size, channels and
            class count; a final softmax is removed to attack the logits).
        x: float images `(N, H, W, C)` in [0, 1], of the model's input shape.
        y: int true labels `(N,)` (always the true labels, also when targeted).
        norm: "l2" or "linf".
        eps: radius of the threat ball, >= 0.
        step_size: length of each step, >= 0.
        steps: number of steps, >= 1 (as in every attack).
        target: optional target classes: one class id, or int `(N,)`. Given, the
            attack is targeted: it pushes each image towards its target; every
            target must differ from its true label (as in `apgd`, `square`, `fab`).
        random_start: start from a random point of the ball.
        loss: "ce", "margin", or a callable `(logits, y) -> (N,)` per-example loss.
        restarts: independent random starts; each image keeps its worst case.
        seed: integer seed of the random starts.
        num_classes: optional; must equal the model's class count (which is
            read from the model).
        targeted: deprecated: `targeted=True` with the targets in `y` still
            works (with a `FutureWarning`); write `target=` instead.

    Returns:
        numpy float32 adversarial images, inside the `eps`-ball of `x` and [0, 1].

    Example:
        >>> x_adv = pgd(model, x, y, norm="l2", eps=0.5, step_size=0.125, steps=20)
        >>> np.all(np.linalg.norm((x_adv - x).reshape(len(x), -1), axis=1) <= 0.5 + 1e-5)
        True
        >>> x_cat = pgd(model, x, y, norm="l2", eps=2.0, step_size=0.25, steps=20, target=3)
    """
    legacy = targeted is not None
    target = legacy_targeted("pgd", y, target, targeted)
    return checked_pgd(model, x, y, target, norm=norm, eps=eps, step_size=step_size, steps=steps,
                       random_start=random_start, loss=loss, restarts=restarts, seed=seed,
                       num_classes=num_classes, legacy=legacy)


def checked_pgd(model, x, y, target, *, norm, eps, step_size, steps, random_start, loss, restarts, seed,
                num_classes, legacy):
    """`pgd` after the legacy `targeted=` form is resolved (`legacy`: `y` holds the targets, not true labels)."""
    spec = _checks.classifier(model, num_classes=num_classes, gradients=True)
    x = _checks.images_for(spec, "x", x, model=model)
    y = _checks.labels("y", y, n=x.shape[0], num_classes=spec.num_classes)
    if target is not None:
        target = _checks.targets("target", target, n=x.shape[0], num_classes=spec.num_classes)
        if not legacy:
            _checks.targets_differ("target", target, y)
    norm = _checks.one_of("norm", norm, {"l2", "linf"})
    eps = _checks.non_negative("eps", eps)
    step_size = _checks.non_negative("step_size", step_size)
    steps = _checks.positive_int("steps", steps)
    restarts = _checks.positive_int("restarts", restarts)
    seed = _checks.positive_int("seed", seed, minimum=0)
    random_start = _checks.boolean("random_start", random_start)
    loss_fn = _resolve_loss(loss)
    if eps == 0:
        return x.copy()
    return run_pgd(model, x, y, target, norm=norm, eps=eps, step_size=step_size, steps=steps,
                   random_start=random_start, loss_fn=loss_fn, restarts=restarts, seed=seed)


def run_pgd(model, x, y, target, *, norm, eps, step_size, steps, random_start, loss_fn, restarts, seed):
    """`pgd` on checked arguments (numpy in, numpy out), for callers that checked them once already."""
    model = logits_model(model)
    targeted = target is not None
    attack = B.compiled(model, ("pgd", norm, targeted, loss_fn, random_start),
                        lambda: _build_attack(model, norm, targeted, loss_fn, random_start))
    _, state = B.inference_fn(model)
    target = y if target is None else target
    best_x, best_obj = None, None
    for r in range(restarts):
        x_adv, obj = attack(state, x, y, target, np.float32(eps), np.float32(step_size),
                            np.int32(steps), np.array([seed, r], np.int32))
        x_adv, obj = np.array(x_adv), np.array(obj)
        if best_x is None:
            best_x, best_obj = x_adv, obj
        else:
            better = obj > best_obj
            best_x[better], best_obj[better] = x_adv[better], obj[better]
    return best_x
