"""Auto-PGD (Croce & Hein 2020): PGD with momentum and a step size that tunes itself.

APGD needs no step size. It starts at `2 * eps` and halves it, per image, at
checkpoints where progress has stalled; after a halving the image restarts
from its best point so far. It is the gradient half of AutoAttack, the
standard robustness evaluation (see `robustkeras.evaluate.autoattack`).

`apgd` is the public function; `apgd_loop` is the pure, backend-neutral loop
(one `keras.ops.fori_loop`, every decision per image) that `apgd` compiles once
per model and option set.

Why it beats PGD with a fixed step: a large step explores, a small one
converges, and the right switch point differs per image. Why the DLR loss: the
cross-entropy of a saturated softmax has a zero gradient, so a model whose
logits are merely scaled up (say by 1e4) looks robust to PGD-CE while being as
fragile as before; DLR divides by a logit difference, is unchanged by that
scaling, and still finds the adversarial examples.
"""

import numpy as np
from keras import ops

from robustkeras import _checks
from robustkeras import backend as B
from robustkeras.attacks.losses import cross_entropy, cross_entropy_targeted, dlr, dlr_targeted
from robustkeras.attacks.steps import make_step_rule, surface_start
from robustkeras.attacks import prologue as P

RHO = 0.75  # condition 1: halve when under 75% of the steps since the checkpoint raised the loss
MOMENTUM = 0.75  # weight of the new projected step; 0.25 goes to the previous move


def _untargeted(loss_fn):
    return lambda logits, y, target: loss_fn(logits, y)


# (loss name, targeted) -> objective `(logits, y, target) -> (N,)`, maximised.
OBJECTIVES = {
    ("ce", False): _untargeted(cross_entropy),
    ("dlr", False): _untargeted(dlr),
    ("ce", True): cross_entropy_targeted,
    ("dlr", True): dlr_targeted,
}
_MIN_CLASSES = {("ce", False): 2, ("ce", True): 2, ("dlr", False): 3, ("dlr", True): 4}


def checkpoints(steps):
    """Where APGD checks its progress: after `w_j = p_j * steps` iterations.

    The checkpoints follow `p_0 = 0`, `p_1 = 0.22`,
    `p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)`, rounded to whole
    iterations as the authors' implementation does.

    Args:
        steps: number of iterations, >= 1.

    Returns:
        `(is_check, window)`: float32 `(steps,)` with 1 at the last iteration
        of each checkpoint, and int32 `(steps,)` holding, there, the number of
        iterations since the previous checkpoint.

    Example:
        >>> is_check, window = checkpoints(100)
        >>> list(np.flatnonzero(is_check) + 1)[:4]
        [22, 41, 57, 70]
    """
    first, smallest, shrink = (max(int(f * steps), 1) for f in (0.22, 0.06, 0.03))
    is_check, window = np.zeros(steps, np.float32), np.zeros(steps, np.int32)
    done, length = 0, first
    while done + length <= steps:
        done += length
        is_check[done - 1], window[done - 1] = 1.0, length
        length = max(length - shrink, smallest)
    return is_check, window


def _where(mask, a, b):
    """Per-image select between two image batches."""
    return ops.where(ops.reshape(mask, (-1, 1, 1, 1)), a, b)


def apgd_loop(logits_fn, x0, y, target, eps, *, norm, objective, is_check, window, steps, seed=None, x_start=None):
    """The APGD iteration as a pure function (call it inside compiled code).

    Args:
        logits_fn: `x -> logits`.
        x0: clean images `(N, H, W, C)` in [0, 1].
        y: int32 true labels `(N,)`; an iterate with another top class is a success.
        target: int32 targets `(N,)` (passed to `objective`; ignored by untargeted ones).
        eps: radius of the ball (scalar tensor).
        norm: "l2" or "linf".
        objective: `(logits, y, target) -> (N,)`, maximised.
        is_check, window: from `checkpoints(steps)`.
        steps: number of iterations (int or scalar int tensor).
        seed: 2-element int32 seed tensor of the random start.
        x_start: instead of `seed`, the start itself (e.g. drawn for a larger batch).

    Returns:
        `(x_adv, best_objective, success)`: each image's last misclassified
        iterate if it had one, else its highest-objective iterate.
    """

    def evaluate(x):
        def value(x):
            logits = logits_fn(x)
            return objective(logits, y, target), logits

        obj, logits, grad = B.value_aux_and_input_grad(value, x)
        return obj, ops.cast(ops.argmax(logits, axis=-1), "int32") != y, grad

    x = surface_start(make_step_rule(norm, eps, 0.0), x0, seed) if x_start is None else x_start
    obj, wrong, grad = evaluate(x)
    step = 2.0 * eps * ops.ones((ops.shape(x0)[0], 1, 1, 1), "float32")
    always = ops.ones_like(wrong)  # reference code: no "no improvement" halving at the first check
    zeros = ops.zeros_like(obj)
    state = (x, x, grad, step, x, grad, obj, x, wrong, obj, zeros, always, obj)

    def body(i, state):
        x, x_prev, grad, step, x_best, grad_best, best, x_won, won, last, ups, halved, best_at_check = state
        rule = make_step_rule(norm, eps, step)
        a = ops.where(i > 0, MOMENTUM, 1.0)  # no momentum on the first step
        z = rule.project(rule.step(x, grad), x0)
        x_new = rule.project(x + a * (z - x) + (1.0 - a) * (x - x_prev), x0)
        obj, wrong, grad_new = evaluate(x_new)

        x_won, won = _where(wrong, x_new, x_won), won | wrong
        better = obj > best
        x_best, grad_best = _where(better, x_new, x_best), _where(better, grad_new, grad_best)
        best = ops.where(better, obj, best)
        ups = ups + ops.cast(obj > last, "float32")

        # At a checkpoint, halve the step of images that stalled and move them to their best point.
        check = ops.take(is_check, i) > 0
        length = ops.cast(ops.take(window, i), "float32")
        stalled = (ups < RHO * length) | (ops.logical_not(halved) & (best <= best_at_check))
        halve = stalled & check
        step = ops.where(ops.reshape(halve, (-1, 1, 1, 1)), 0.5 * step, step)
        x_next, grad_next = _where(halve, x_best, x_new), _where(halve, grad_best, grad_new)
        halved = ops.where(check, halve, halved)
        best_at_check = ops.where(check, best, best_at_check)
        ups = ops.where(check, zeros, ups)
        return (x_next, x, grad_next, step, x_best, grad_best, best, x_won, won, obj, ups, halved,
                best_at_check)

    state = ops.fori_loop(0, steps, body, state)
    x_best, best, x_won, won = state[4], state[6], state[7], state[8]
    return _where(won, x_won, x_best), best, won


def _build_attack(model, norm, loss, targeted):
    fn, _ = B.inference_fn(model)
    objective = OBJECTIVES[(loss, targeted)]

    def attack(state, x0, x_start, y, target, eps, is_check, window, steps):
        return apgd_loop(lambda x: fn(state, x), x0, y, target, eps, norm=norm, objective=objective,
                         is_check=is_check, window=window, steps=steps, x_start=x_start)

    return attack


def _check_num_classes(outputs, loss, targeted):
    needed = _MIN_CLASSES[(loss, targeted)]
    if outputs < needed:
        kind = ("targeted " if targeted else "") + loss.upper()
        raise ValueError(
            f"Expected a model with at least {needed} classes for the {kind} loss (`loss`={loss!r}"
            f"{', with a `target`' if targeted else ''}). Received: a model with {outputs} outputs"
        )


def apgd(model, x, y, *, norm, eps, steps=100, loss="ce", target=None, target_rank=None,
         restarts=1, seed=0, num_classes=None, batch_size=None):
    """Auto-PGD (Croce & Hein 2020), batched and compiled once per model.

    As published: a random start on the `eps`-sphere, initial step `2 * eps`,
    momentum 0.75, and checkpoints at 22%, 41%, 57%, 70%, ... of the
    iterations. At a checkpoint an image's step is halved, and the image moves
    back to its best point, if (1) fewer than 75% of the steps since the last
    checkpoint increased its loss, or (2) its step was not halved at the last
    checkpoint and its best loss has not improved since. Restarts run only on
    the images not yet misclassified.

    Losses: "ce" (cross-entropy) or "dlr" (Difference of Logits Ratio, needs
    >= 3 classes). Given `target=` (or `target_rank=`) the attack pushes
    towards a target class: targeted DLR (>= 4 classes) or minus the
    target's cross-entropy.

    Gradient masking: multiply a model's logits by 1e4 and PGD-CE reports
    it as robust (the saturated softmax has zero gradient), while
    `apgd(..., loss="dlr")`, invariant to that scaling, still breaks it.

    Args:
        model, x, norm, eps: as in `pgd` (any Keras classifier; [0, 1] images
            of its input shape; "l2" or "linf"; the radius, >= 0).
        y: int true labels `(N,)` (always the true labels, also when targeted).
        steps: iterations per restart, >= 1 (100 in AutoAttack).
        loss: "ce" or "dlr".
        target: target classes (one class id, or one per image): makes the
            attack targeted. Each must differ from its true label.
        target_rank: instead of `target`: attack towards the `target_rank`-th
            most likely wrong class on the clean image (1 = the most likely).
        restarts: random starts, >= 1; each image keeps its worst case.
        seed: integer seed of the random starts, in [0, 2**31 - 1].
        num_classes: optional; must equal the model's class count (read from the model).
        batch_size: images per compiled chunk (None: all at once); the
            random starts are drawn for all images first, so the result does
            not depend on it (up to float rounding).

    Returns:
        numpy float32 adversarial images inside the `eps`-ball of `x` and
        [0, 1]: per image, a misclassified iterate if one was found, else the
        iterate of highest loss.

    Example:
        >>> x_adv = apgd(model, x, y, norm="linf", eps=8 / 255, loss="dlr")
        >>> float(np.abs(x_adv - x).max()) <= 8 / 255 + 1e-6
        True
        >>> x_t = apgd(model, x, y, norm="l2", eps=0.5, loss="dlr", target_rank=2)
    """
    steps = P.check_count("steps", steps)
    loss = _checks.one_of("loss", loss, {"ce", "dlr"})
    restarts = P.check_count("restarts", restarts)
    inputs = P.prologue(model, x, y, norm=norm, eps=eps, seed=seed, num_classes=num_classes,
                        batch_size=batch_size, target=target, target_rank=target_rank)
    _check_num_classes(inputs.num_classes, loss, inputs.targeted)
    if inputs.eps == 0:
        return inputs.x.copy()
    return _run_restarts(inputs, steps=steps, loss=loss, restarts=restarts)


def _run_restarts(inputs, *, steps, loss, restarts):
    model, norm, eps, x, y = inputs.logits, inputs.norm, inputs.eps, inputs.x, inputs.y
    targets = inputs.targets()
    target = y if targets is None else targets
    attack = B.compiled(model, ("apgd", norm, loss, inputs.targeted),
                        lambda: _build_attack(model, norm, loss, inputs.targeted))
    _, state = B.inference_fn(model)
    is_check, window = checkpoints(steps)
    rule = make_step_rule(norm, eps, 0.0)
    x_out, best, won = x.copy(), np.full(len(x), -np.inf, np.float32), np.zeros(len(x), bool)
    for r in range(restarts):
        todo = np.flatnonzero(~won)  # as in the reference: restart only the images still standing
        if todo.size == 0:
            break
        start = np.asarray(surface_start(rule, x[todo], np.array([inputs.seed, r], np.int32)), np.float32)
        for a, b in P.chunks(todo.size, inputs.batch_size):
            rows = todo[a:b]
            x_adv, obj, success = attack(state, x[rows], start[a:b], y[rows], target[rows], np.float32(eps),
                                         is_check, window, np.int32(steps))
            x_adv, obj, success = np.asarray(x_adv), np.asarray(obj), np.asarray(success)
            keep = success | (obj > best[rows])
            x_out[rows[keep]], best[rows[keep]] = x_adv[keep], obj[keep]
            won[rows] = success
    return x_out
