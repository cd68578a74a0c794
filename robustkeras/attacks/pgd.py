"""Projected gradient descent (Madry et al. 2018), batched and compiled once per model.

`pgd` is the public function (it checks its arguments once, in
`attacks.prologue`; `run_pgd` is the same on checked ones, for `evaluate`).
`pgd_loop` is the pure, backend-neutral loop that the adversarial
`train_step` (TensorFlow and JAX) calls from inside its own compiled code; it
is `robustkeras.engine.ascend`, the loop the synthesis optimizer runs too.
"""

import numpy as np

from robustkeras import _checks
from robustkeras import backend as B
from robustkeras import engine
from robustkeras.attacks import prologue as P
from robustkeras.attacks.losses import LOSSES, cross_entropy
from robustkeras.attacks.steps import make_step_rule


def pgd_loop(logits_fn, x0, y, rule, *, steps, target=None, loss_fn=cross_entropy,
             random_start=True, keep_best=False, seed=None, start=None):
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
        start: optional first iterate (e.g. a random start drawn for a larger
            batch than this one); replaces `random_start` and `seed`.

    Returns:
        Adversarial images shaped like `x0` (and, with `keep_best`, their objective).
    """
    if target is None:
        def objective(x):
            return loss_fn(logits_fn(x), y)
    else:
        def objective(x):
            return -loss_fn(logits_fn(x), target)

    if start is None:
        start = rule.random_start(x0, seed) if random_start else x0
    out = engine.ascend(objective, start, x0, lambda i: rule, steps=steps, keep_best=keep_best)
    return out[1] if keep_best else out


def _build_attack(model, norm, targeted, loss_fn):
    fn, _ = B.inference_fn(model)

    def attack(state, x0, start, y, target, eps, step_size, steps):
        rule = make_step_rule(norm, eps, step_size)
        return pgd_loop(lambda x: fn(state, x), x0, y, rule, steps=steps, target=target if targeted else None,
                        loss_fn=loss_fn, start=start, keep_best=True)

    return attack


def resolve_loss(loss):
    """A loss name ("ce", "margin") or a callable `(logits, y) -> (N,)`, as the callable."""
    if callable(loss):
        return loss
    return LOSSES[_checks.one_of("loss", loss, LOSSES)]


def pgd(model, x, y, *, norm, eps, step_size, steps, target=None, random_start=True,
        loss="ce", restarts=1, seed=0, num_classes=None, batch_size=None):
    """Projected gradient attack, keeping each image's best iterate over steps and restarts.

    Untargeted, it maximises `loss(logits, y)` away from the true labels `y`;
    with `target=` it minimises `loss(logits, target)` towards the target classes.

    Args:
        model: a Keras classifier taking [0, 1] images (any size, channels and
            class count; a final softmax is removed to attack the logits).
        x: float images `(N, H, W, C)` in [0, 1], of the model's input shape.
        y: int true labels `(N,)` (always the true labels, also when targeted).
        norm: "l2" or "linf".
        eps: radius of the threat ball in [0, 1]-pixel units, >= 0 (L-inf <= 1;
            L2 <= the image diameter; 8 / 255, not 8).
        step_size: length of each step, >= 0.
        steps: number of steps, >= 1 (as in every attack).
        target: optional target classes: one class id, or int `(N,)`. Given, the
            attack is targeted: it pushes each image towards its target; every
            target must differ from its true label (as in `apgd`, `square`, `fab`).
        random_start: start from a random point of the ball.
        loss: "ce", "margin", or a callable `(logits, y) -> (N,)` per-example loss.
        restarts: independent random starts; each image keeps its worst case.
        seed: integer seed of the random starts, in [0, 2**31 - 1].
        num_classes: optional; must equal the model's class count (which is
            read from the model).
        batch_size: images per compiled chunk (None: all at once). The random
            starts are drawn for all `N` images first, so the result does not
            depend on it (up to float rounding: the CPU kernels sum in another order).

    Returns:
        numpy float32 adversarial images, inside the `eps`-ball of `x` and [0, 1].

    Example:
        >>> x_adv = pgd(model, x, y, norm="l2", eps=0.5, step_size=0.125, steps=20)
        >>> np.all(np.linalg.norm((x_adv - x).reshape(len(x), -1), axis=1) <= 0.5 + 1e-5)
        True
        >>> x_cat = pgd(model, x, y, norm="l2", eps=2.0, step_size=0.25, steps=20, target=3)
    """
    step_size = _checks.non_negative("step_size", step_size)  # required here; FGSM's defaults to eps
    return _checked_pgd(model, x, y, norm=norm, eps=eps, step_size=step_size, steps=steps, target=target,
                        random_start=random_start, loss=loss, restarts=restarts, seed=seed,
                        num_classes=num_classes, batch_size=batch_size)


def _checked_pgd(model, x, y, *, norm, eps, step_size, steps, target, random_start, loss, restarts, seed,
                 num_classes, batch_size):
    """`pgd` and `fgsm`: the prologue, then `run_pgd` (`step_size=None`: `eps`, FGSM's default)."""
    step_size = None if step_size is None else _checks.non_negative("step_size", step_size)
    steps = P.check_count("steps", steps)
    restarts = P.check_count("restarts", restarts)
    random_start = _checks.boolean("random_start", random_start)
    loss_fn = resolve_loss(loss)
    inputs = P.prologue(model, x, y, norm=norm, eps=eps, seed=seed, num_classes=num_classes,
                        batch_size=batch_size, target=target)
    if inputs.eps == 0:
        return inputs.x.copy()
    return run_pgd(inputs, step_size=inputs.eps if step_size is None else step_size, steps=steps,
                   random_start=random_start, loss_fn=loss_fn, restarts=restarts, seed=inputs.seed)


def attack_runner(inputs, loss_fn, devices=None):
    """`run(x0, start, y, target, eps, step_size, steps) -> (x_adv, objective)`, compiled for `inputs.logits`.

    With `devices` (from `distribute.resolve_devices`), each call is split
    across them (`distribute.sharded`).
    """
    model, norm, targeted = inputs.logits, inputs.norm, inputs.target is not None
    _, state = B.inference_fn(model)
    if devices is not None:
        from robustkeras import distribute

        return distribute.sharded(_build_attack(model, norm, targeted, loss_fn), state, devices)
    attack = B.compiled(model, ("pgd", norm, targeted, loss_fn), lambda: _build_attack(model, norm, targeted, loss_fn))
    return lambda *args: attack(state, *args)


def run_pgd(inputs, *, step_size, steps, random_start, loss_fn, restarts, seed, rows=None, runner=None):
    """`pgd` on checked `inputs` (an `AttackInputs`), numpy out; `rows` picks a subset of the images.

    Each restart draws its random start for all the images at once (seed
    `[seed, restart]`), then runs in chunks of `inputs.batch_size`: the result
    does not depend on the chunk size. `runner`: from `attack_runner` (built
    here if not given).
    """
    norm, eps = inputs.norm, inputs.eps
    x, y = (inputs.x, inputs.y) if rows is None else (inputs.x[rows], inputs.y[rows])
    target = inputs.target if rows is None or inputs.target is None else inputs.target[rows]
    run = attack_runner(inputs, loss_fn) if runner is None else runner
    target = y if target is None else target
    rule = make_step_rule(norm, eps, step_size)
    best_x, best_obj = x.copy(), np.full(len(x), -np.inf, np.float32)
    for r in range(restarts):
        start = np.asarray(rule.random_start(x, np.array([seed, r], np.int32)), np.float32) if random_start else x
        for a, b in P.chunks(len(x), inputs.batch_size):
            x_adv, obj = run(x[a:b], start[a:b], y[a:b], target[a:b], np.float32(eps), np.float32(step_size),
                             np.int32(steps))
            x_adv, obj = np.asarray(x_adv), np.asarray(obj)
            better = obj > best_obj[a:b] if r else np.ones(len(obj), bool)
            best_x[a:b][better], best_obj[a:b][better] = x_adv[better], obj[better]
    return best_x
