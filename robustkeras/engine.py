"""The one iteration loop behind PGD, FGSM, adversarial training and every synthesis task.

A run is an objective `x -> (N,)` to maximise, a step rule (how a step moves
and how it is projected back onto the ball around `anchor`), an optional task
projection, and a start. PGD keeps each image's best iterate; synthesis records
the objective before every step. APGD has its own schedule (momentum, step
halving) but reuses the same pieces: the step rules, `backend`'s input gradient
and compile cache.
"""

import numpy as np
from keras import ops

from robustkeras import backend as B


def ascend(objective, start, anchor, rule_at, *, steps, project=None, keep_best=False, record=False):
    """Projected gradient ascent as a pure function (call it inside compiled code).

    Each step: `x <- rule.project(project(rule.step(x, grad)), anchor)` with
    `rule = rule_at(i)`. The task projection comes first: for a linear
    constraint that the anchor satisfies (super-resolution), the ball
    projection then keeps it.

    Args:
        objective: `x -> (N,)`, maximised.
        start: start images `(N, H, W, C)`.
        anchor: centre of the ball (the clean images for attacks).
        rule_at: `i -> step rule` (a constant rule for attacks, a decaying one for synthesis).
        steps: number of steps; a Python int <= 4 unrolls, otherwise a loop.
        project: optional `x -> x` task projection.
        keep_best: also return each image's highest-objective iterate (the final one included)
            and its objective.
        record: also return the objective before each step, `(steps, N)` (`steps` must then be
            a concrete value: a Python or numpy int).

    Returns:
        `x`, then `(best_x, best_objective)` if `keep_best`, then the history if `record`.

    Example:
        >>> x_adv = ascend(lambda x: cross_entropy(model(x), y), x0, x0, lambda i: L2Step(0.5, 0.1), steps=10)
    """
    n = ops.shape(start)[0]
    carry = (start, start, ops.full((n,), -np.inf, "float32"),
             ops.zeros((steps, n), "float32") if record else ops.zeros((), "float32"))

    def body(i, carry):
        x, best_x, best_obj, history = carry
        value, grad = B.value_and_input_grad(objective, x)
        if keep_best:
            better = ops.reshape(value > best_obj, (-1, 1, 1, 1))
            best_x = ops.where(better, x, best_x)
            best_obj = ops.maximum(value, best_obj)
        if record:
            history = ops.slice_update(history, (i, 0), ops.expand_dims(value, 0))
        rule = rule_at(i)
        x = rule.step(x, grad)
        if project is not None:
            x = project(x)
        return rule.project(x, anchor), best_x, best_obj, history

    if isinstance(steps, int) and steps <= 4:
        for i in range(steps):
            carry = body(i, carry)
    else:
        carry = ops.fori_loop(0, steps, body, carry)
    x, best_x, best_obj, history = carry
    out = [x]
    if keep_best:
        final = objective(x)
        better = ops.reshape(final > best_obj, (-1, 1, 1, 1))
        out.append((ops.where(better, x, best_x), ops.maximum(final, best_obj)))
    if record:
        out.append(history)
    return out[0] if len(out) == 1 else tuple(out)
