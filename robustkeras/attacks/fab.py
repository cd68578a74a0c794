"""FAB-T, the targeted Fast Adaptive Boundary attack (Croce & Hein 2020), L2 and L-infinity.

FAB looks for the *smallest* perturbation that changes the decision. At the
current point it linearises the boundary between the true class `y` and the
target `t` (`z_t - z_y = 0`) and computes two box-constrained projections onto
that hyperplane: of the current point and of the clean image. It steps to a
mix of both (mostly the current point's, at most `alpha_max` of the clean
image's, overshooting by `eta`), and whenever the step lands on an adversarial
point it records it if it is the closest so far and moves back towards the
clean image by the factor `beta`. So the iterates close in on the boundary from
both sides and the recorded norm shrinks.

The projection is exact: the smallest L2 (or L-infinity) `delta` with
`w . delta = c` and `0 <= x + delta <= 1` is `clip(t * w, -x, 1 - x)` (or
`clip(t * sign(w), -x, 1 - x)`) for the smallest `t >= 0` that reaches `c`, a
piecewise-linear equation solved by sorting its breakpoints.

`fab` is the public function. It returns the closest adversarial points it
found inside the `eps`-ball (the clean image where none is) and the found
norms, so it serves both AutoAttack (a robust/not-robust answer at `eps`) and
minimal-norm studies (`eps=None`).
"""

import numpy as np
from keras import ops

from robustkeras import _checks
from robustkeras import backend as B
from robustkeras.attacks import prologue as P

_TINY = 1e-12


def _flat_norm(t, norm):
    flat = ops.reshape(t, (ops.shape(t)[0], -1))
    if norm == "linf":
        return ops.max(ops.abs(flat), axis=1)
    return ops.sqrt(ops.sum(flat * flat, axis=1))


def project_on_hyperplane(x, w, c, *, norm):
    """Smallest `delta` (L2 or L-inf) with `sum(w * delta) = c` and `x + delta` in [0, 1], per row.

    Rows where the box makes `c` unreachable get the `delta` that comes
    closest (every coordinate at its bound in the direction of `w`).

    Args:
        x: `(N, D)` points in [0, 1].
        w: `(N, D)` hyperplane normals.
        c: `(N,)` targets of `w . delta`.
        norm: "l2" or "linf".

    Returns:
        `(N, D)` float32 `delta`.

    Example:
        >>> project_on_hyperplane(np.full((1, 2), .5), np.array([[1., 0.]]), np.array([.2]), norm="l2")
        array([[0.2, 0. ]], dtype=float32)
    """
    direction = ops.where(c >= 0.0, 1.0, -1.0)[:, None]
    w, c = w * direction, ops.abs(c)
    lower, upper = -x, 1.0 - x
    move = w if norm == "l2" else ops.sign(w)  # delta(t) = clip(t * move, lower, upper)
    bound = ops.where(move > 0.0, upper, lower)  # where each coordinate stops
    safe_move = ops.where(move == 0.0, 1.0, move)
    breakpoint = ops.where(move == 0.0, 1e30, bound / safe_move)  # t at which it stops (>= 0)
    slope, stopped = w * move, w * bound  # d/dt of w . delta while moving; w . delta once stopped
    order = ops.argsort(breakpoint, axis=1)
    breakpoint = ops.take_along_axis(breakpoint, order, axis=1)
    slope = ops.take_along_axis(slope, order, axis=1)
    stopped = ops.take_along_axis(stopped, order, axis=1)
    done = ops.cumsum(stopped, axis=1)  # coordinates 0..k stopped
    moving = ops.flip(ops.cumsum(ops.flip(slope, axis=1), axis=1), axis=1)  # coordinates k.. moving
    after = ops.concatenate([moving[:, 1:], ops.zeros_like(moving[:, :1])], axis=1)
    reached = done + breakpoint * after  # w . delta at the k-th breakpoint
    enough = reached >= c[:, None]
    k = ops.argmax(ops.cast(enough, "int32"), axis=1)[:, None]
    before = ops.take_along_axis(done - stopped, k, axis=1)[:, 0]
    rate = ops.take_along_axis(moving, k, axis=1)[:, 0]
    t = ops.where(rate > 0.0, (c - before) / ops.where(rate > 0.0, rate, 1.0), 0.0)
    t = ops.where(ops.any(enough, axis=1), t, 1e30)
    return ops.clip(t[:, None] * move, lower, upper)


def fab_loop(logits_fn, x0, y, target, x_start, *, norm, steps, alpha_max, eta, beta):
    """The FAB-T iteration as a pure function (call it inside compiled code).

    Args:
        logits_fn: `x -> logits`.
        x0: clean images `(N, H, W, C)` in [0, 1].
        y, target: int32 true labels and targets `(N,)`.
        x_start: first iterate (`x0`, or a random point near it).
        norm: "l2" or "linf"; steps: iterations (int or int32 scalar).
        alpha_max, eta, beta: the published step constants (scalars).

    Returns:
        `(x_best, best_norm)`: per image the closest misclassified iterate
        found and its distance to `x0` (`inf` where none was found).
    """
    n = ops.shape(x0)[0]
    flat0 = ops.reshape(x0, (n, -1))

    def gap(x):  # z_t - z_y: the boundary is at 0, adversarial for the target side
        logits = logits_fn(x)
        classes = ops.shape(logits)[-1]
        diff = ops.one_hot(target, classes, dtype=logits.dtype) - ops.one_hot(y, classes, dtype=logits.dtype)
        return ops.sum(logits * diff, axis=-1)

    def body(_, carry):
        x, x_best, best_norm = carry
        g, grad = B.value_and_input_grad(gap, x)
        w = ops.reshape(grad, (n, -1))
        flat = ops.reshape(x, (n, -1))
        c_here = -g  # w . delta = -g(x) reaches the linearised boundary from x
        c_clean = -g - ops.sum(w * (flat0 - flat), axis=1)  # ... and from the clean image
        both = project_on_hyperplane(ops.concatenate([flat, flat0]), ops.concatenate([w, w]),
                                     ops.concatenate([c_here, c_clean]), norm=norm)
        d_here, d_clean = ops.reshape(both[:n], ops.shape(x0)), ops.reshape(both[n:], ops.shape(x0))
        a_here = ops.maximum(_flat_norm(d_here, norm), 1e-8)
        a_clean = ops.maximum(_flat_norm(d_clean, norm), 1e-8)
        alpha = ops.reshape(ops.clip(a_here / (a_here + a_clean), 0.0, alpha_max), (-1, 1, 1, 1))
        x = ops.clip((1.0 - alpha) * (x + eta * d_here) + alpha * (x0 + eta * d_clean), 0.0, 1.0)
        wrong = ops.cast(ops.argmax(logits_fn(x), axis=-1), "int32") != y
        size = _flat_norm(x - x0, norm)
        better = wrong & (size < best_norm)
        x_best = ops.where(ops.reshape(better, (-1, 1, 1, 1)), x, x_best)
        best_norm = ops.where(better, size, best_norm)
        x = ops.where(ops.reshape(wrong, (-1, 1, 1, 1)), x0 + beta * (x - x0), x)
        return x, x_best, best_norm

    carry = (x_start, x0, ops.full((n,), np.inf, "float32"))
    _, x_best, best_norm = ops.fori_loop(0, steps, body, carry)
    return x_best, best_norm


def _build_attack(model, norm):
    fn, _ = B.inference_fn(model)  # holds the model weakly

    def attack(state, x0, y, target, x_start, steps, alpha_max, eta, beta):
        return fab_loop(lambda x: fn(state, x), x0, y, target, x_start, norm=norm, steps=steps,
                        alpha_max=alpha_max, eta=eta, beta=beta)

    return attack


def _compiled_attack(model, norm):
    return B.compiled(model, ("fab", norm), lambda: _build_attack(model, norm))


def _random_start(x, radius, norm, rng):
    """Uniform noise (L-inf) or a Gaussian direction (L2) of size `radius / 2` per image, in [0, 1]."""
    if norm == "linf":
        t = rng.uniform(-1.0, 1.0, x.shape).astype(np.float32)
        size = np.abs(t).reshape(len(x), -1).max(1)
    else:
        t = rng.standard_normal(x.shape).astype(np.float32)
        size = np.linalg.norm(t.reshape(len(x), -1), axis=1)
    scale = (0.5 * radius / np.maximum(size, _TINY)).reshape(-1, 1, 1, 1)
    return np.clip(x + scale * t, 0.0, 1.0).astype(np.float32)


def _distance(a, b, norm):
    delta = (a - b).reshape(len(a), -1)
    return np.abs(delta).max(1) if norm == "linf" else np.linalg.norm(delta, axis=1)


def fab(model, x, y, *, norm, eps, target=None, target_rank=None, steps=100, restarts=1,
        alpha_max=0.1, eta=1.05, beta=0.9, seed=0, batch_size=None):
    """FAB-T (Croce & Hein 2020): the closest adversarial point towards a target class.

    The targeted version that the standard AutoAttack runs (once per target,
    100 iterations, one restart). Only images the model classifies correctly
    are attacked. The first run starts at the clean image; further restarts
    start at a random point at half the smaller of `eps` and the best norm so
    far, and each image keeps its closest adversarial point.

    Args:
        model: a Keras classifier returning logits, inputs in [0, 1].
        x: float images `(N, H, W, C)` in [0, 1].
        y: int true labels `(N,)`.
        norm: "l2" or "linf".
        eps: threat radius, or None for no bound (pure minimal-norm search);
            required, as in every attack.
        target: target classes (one id, or one per image), each differing from `y`.
        target_rank: instead of `target`: the `target_rank`-th most likely
            wrong class on the clean image (the default when neither is given: 1).
        steps: iterations per restart, >= 1.
        restarts: runs, >= 1 (restarts need a finite radius: `eps` or a found norm).
        alpha_max, eta, beta: largest weight of the clean image's projection
            (in [0, 1]), overshoot (>= 1) and backward step (in (0, 1)).
        seed: integer seed of the random restarts, in [0, 2**31 - 1].
        batch_size: images per compiled chunk (None: all at once); restarts
            draw their random starts for all images first, so the result does
            not depend on it (up to float rounding).

    Returns:
        `(x_adv, norms)`: numpy float32 images (the closest adversarial point
        found if its distance is within `eps`, else the clean image) and the
        found distances, float32 `(N,)` (`inf` where no adversarial point was
        found; also reported when beyond `eps`).

    Example:
        >>> x_adv, norms = fab(model, x, y, norm="l2", eps=0.5, target_rank=1)
        >>> bool(np.all(np.linalg.norm((x_adv - x).reshape(len(x), -1), axis=1) <= 0.5 + 1e-5))
        True
    """
    steps = P.check_count("steps", steps)
    restarts = P.check_count("restarts", restarts)
    alpha_max = _checks.number("alpha_max", alpha_max, low=0.0, high=1.0)
    eta = _checks.number("eta", eta, low=1.0)
    beta = _checks.number("beta", beta, low=0.0, high=1.0, low_open=True, high_open=True)
    if target is None and target_rank is None:
        target_rank = 1
    inputs = P.prologue(model, x, y, norm=norm, eps=eps, seed=seed, batch_size=batch_size, target=target,
                        target_rank=target_rank, eps_optional=True)
    x, y, norm, eps = inputs.x, inputs.y, inputs.norm, inputs.eps
    target = inputs.targets()
    _, state = B.inference_fn(inputs.logits)
    norms = np.full(len(x), np.inf, np.float32)
    x_best = x.copy()
    todo = np.flatnonzero(np.argmax(inputs.clean_logits(), 1) == y)
    attack = _compiled_attack(inputs.logits, norm)
    rng = np.random.default_rng(inputs.seed)
    for restart in range(restarts):
        if todo.size == 0:  # every image already misclassified: nothing to attack (an empty batch fails on JAX)
            break
        if restart == 0:
            idx, start = todo, x[todo]
        else:  # random starts need a radius: eps, or the norm found so far
            radius = norms if eps is None else np.minimum(norms, eps)
            idx = todo[np.isfinite(radius[todo])]
            if idx.size == 0:
                break
            start = _random_start(x[idx], radius[idx], norm, rng)
        for a, b in P.chunks(idx.size, inputs.batch_size):
            rows = idx[a:b]
            adv, found = attack(state, x[rows], y[rows], target[rows], start[a:b], np.int32(steps),
                                np.float32(alpha_max), np.float32(eta), np.float32(beta))
            adv, found = np.asarray(adv), np.asarray(found)
            better = found < norms[rows]
            x_best[rows[better]], norms[rows[better]] = adv[better], found[better]
    found = np.isfinite(norms)
    if found.any():  # the distance of the returned float32 images, not of the compiled iterate
        norms[found] = _distance(x_best[found], x[found], norm)
    within = found if eps is None else found & (norms <= eps)
    return np.where(within.reshape(-1, 1, 1, 1), x_best, x).astype(np.float32), norms
