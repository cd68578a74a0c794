"""The Square attack (Andriushchenko et al. 2020): random search with square-shaped updates.

Square is score-based: it only reads the model's logits, never a gradient.
That is why AutoAttack runs it last. A model that hides its gradients (a
saturated softmax, a non-differentiable input step, random noise added to
the gradient) fools every gradient attack, but not a search that proposes a
change, runs the model and keeps the change if the margin went down.

Each iteration changes one random square window of the current best image
(the same window for the whole batch, new random signs per image and
channel) and keeps the proposal for the images whose margin improved. The
window covers a fraction `p` of the image that shrinks on a fixed schedule
(`p_init`, then halved at 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000
iterations). L-infinity proposals set the window to `x0 +- eps`; L2
proposals move mass between two windows with a centred "pseudo-Gaussian"
pattern and keep the perturbation on the sphere of radius `eps`.

`square` is the public function. The iterations run in compiled calls of at
most `CALL_IMAGE_QUERIES` image-queries (so Ctrl-C is answered between them);
after each call the images already misclassified leave the batch, so they cost
nothing (measured against masking them in place in `benchmarks/compare_autoattack.py`).
"""

import numpy as np
from keras import ops

from robustkeras import _checks
from robustkeras import backend as B
from robustkeras.attacks import prologue as P
from robustkeras.attacks.losses import margin as _best_other_minus_label
from robustkeras.attacks.steps import l2_norm

_TINY = 1e-12
# Iteration counts (on a 10,000-query scale) after which the window fraction halves.
_HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)


def _margin(logits, y, target, targeted):
    """Margin to minimise: `z_y - max_other` (untargeted) or `max_other - z_target`; < 0 = success."""
    if targeted:
        return _best_other_minus_label(logits, target)
    return -_best_other_minus_label(logits, y)


def _window_size(i, queries, p_init, height, width, *, norm, rescale):
    """Side of the square at iteration `i` (int32 scalar), as in the published schedule."""
    it = ops.cast(i, "float32")
    if rescale:  # the schedule stretched to the query budget (ART's default)
        it = ops.floor(it / ops.cast(queries, "float32") * 10000.0)
    level = ops.sum(ops.cast(it > ops.convert_to_tensor(_HALVINGS, "float32"), "float32"))
    p = p_init / ops.power(2.0, level)
    side = ops.cast(ops.round(ops.sqrt(p * height * width)), "int32")
    smallest = 3 if norm == "l2" else 1
    side = ops.maximum(side, smallest)
    if norm == "l2":
        side = side + ops.cast(side % 2 == 0, "int32")  # odd: the pattern has a centre pixel
    return ops.minimum(side, min(height, width))


def _window(height, width, side, top, left):
    """`(1, H, W, 1)` float mask of the `side`-square whose corner is (`top`, `left`)."""
    rows = ops.arange(height, dtype="int32")[:, None] - top
    cols = ops.arange(width, dtype="int32")[None, :] - left
    inside = (rows >= 0) & (rows < side) & (cols >= 0) & (cols < side)
    return ops.cast(inside, "float32")[None, :, :, None]


def _corner(u, extent, side):
    """A uniform integer in [0, extent - side] from a uniform float `u` in [0, 1)."""
    room = extent - side + 1
    return ops.minimum(ops.cast(ops.floor(u * ops.cast(room, "float32")), "int32"), room - 1)


def _ring_sums(size):
    """`G[m] = sum_{k < m} 1 / (k + 1)^2` for m = 0..size+1: the pattern's values are differences of it."""
    return np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, size + 2) ** 2)]).astype(np.float32)


def _split_pattern(rows, cols, side, ring_sums):
    """The L2 proposal pattern on a `side`-square given per-pixel coordinates inside it.

    The square is split into a top and a bottom rectangle; each holds
    concentric rings around its centre, ring k weighing `sum_{j >= k} 1/(j+1)^2`,
    scaled to unit norm, the bottom one negated (so the pattern sums to about 0).
    """
    half = side // 2
    top = rows < half
    height = ops.where(top, half, side - half)
    r = ops.where(top, rows, rows - half)
    ring = ops.maximum(ops.abs(r - height // 2), ops.abs(cols - side // 2))
    ring = ops.clip(ring, 0, ring_sums.shape[0] - 1)
    outer = ops.take(ring_sums, ops.clip(side // 2 + 1, 0, ring_sums.shape[0] - 1))
    return top, outer - ops.take(ring_sums, ring)


def _normalised_split(values, top, inside):
    """Scale the top and bottom halves to unit norm, negate the bottom, and the whole to unit norm."""
    values = ops.where(inside, values, 0.0)
    top_norm = ops.sqrt(ops.sum(ops.where(top, values, 0.0) ** 2))
    bottom_norm = ops.sqrt(ops.sum(ops.where(top, 0.0, values) ** 2))
    pattern = ops.where(top, values / (top_norm + _TINY), -values / (bottom_norm + _TINY))
    return pattern / (ops.sqrt(ops.sum(pattern**2)) + _TINY)


def _l2_window_pattern(height, width, side, top, left, transpose, ring_sums):
    """`(1, H, W, 1)`: the split pattern on the window at (`top`, `left`), transposed if asked."""
    rows = ops.arange(height, dtype="int32")[:, None] - top + ops.zeros((1, width), "int32")
    cols = ops.arange(width, dtype="int32")[None, :] - left + ops.zeros((height, 1), "int32")
    inside = (rows >= 0) & (rows < side) & (cols >= 0) & (cols < side)
    r, c = ops.where(transpose, cols, rows), ops.where(transpose, rows, cols)
    half_top, values = _split_pattern(r, c, side, ring_sums)
    return _normalised_split(values, half_top, inside)[None, :, :, None]


def _l2_init_layout(height, width):
    """Static layout of the L2 start: a grid of tiles of side `H // 5` holding the split pattern.

    Returns `(tile, pattern, pattern_t)`: per pixel the tile index (-1 outside
    every tile) and the pattern value, plain and transposed (numpy, computed
    once per image size while tracing).
    """
    side = max(height // 5, 1)
    n_rows, n_cols = height // side, width // side
    top0, left0 = (height - n_rows * side) // 2, (width - n_cols * side) // 2
    r = np.arange(side)[:, None] + np.zeros((1, side), int)
    c = np.arange(side)[None, :] + np.zeros((side, 1), int)
    sums = _ring_sums(side)

    def pattern(rows, cols):
        half = side // 2
        top = rows < half
        h = np.where(top, half, side - half)
        rr = np.where(top, rows, rows - half)
        ring = np.maximum(np.abs(rr - h // 2), np.abs(cols - side // 2))
        values = sums[side // 2 + 1] - sums[ring]
        if half == 0:  # a 1-pixel tile: no split
            return values / (np.linalg.norm(values) + _TINY)
        values = np.where(top, values / np.linalg.norm(values[top]), -values / np.linalg.norm(values[~top]))
        return values / np.linalg.norm(values)

    plain, flipped = pattern(r, c), pattern(c, r)
    tile = -np.ones((height, width), np.int32)
    full, full_t = np.zeros((height, width), np.float32), np.zeros((height, width), np.float32)
    for i in range(n_rows):
        for j in range(n_cols):
            rows = slice(top0 + i * side, top0 + (i + 1) * side)
            cols = slice(left0 + j * side, left0 + (j + 1) * side)
            tile[rows, cols] = i * n_cols + j
            full[rows, cols], full_t[rows, cols] = plain, flipped
    return tile, full, full_t


def _keys(seed, i):
    """Two independent 2-element seeds for iteration `i` of the run seeded by `seed` = [seed, restart]."""
    salt = seed[1] * 1000003 + 2 * ops.cast(i, "int32")
    return ops.stack([seed[0], salt]), ops.stack([seed[0], salt + 1])


def _signs(shape, key):
    return ops.where(B.stateless_uniform(shape, key) < 0.5, -1.0, 1.0)


def _start(x0, eps, seed, *, norm):
    """The published starts: random +-eps vertical stripes (L-inf), or signed tiles on the eps-sphere (L2)."""
    n, height, width, channels = x0.shape
    n = ops.shape(x0)[0]
    shared, per_image = _keys(seed, -1)
    if norm == "linf":
        return ops.clip(x0 + eps * _signs((n, 1, width, channels), per_image), 0.0, 1.0)
    tile, plain, flipped = _l2_init_layout(height, width)
    n_tiles = int(tile.max()) + 1
    flip = B.stateless_uniform((max(n_tiles, 1),), shared) < 0.5
    index = ops.convert_to_tensor(np.maximum(tile, 0))
    pattern = ops.where(ops.take(flip, index), ops.convert_to_tensor(flipped), ops.convert_to_tensor(plain))
    pattern = ops.where(ops.convert_to_tensor(tile) >= 0, pattern, 0.0)
    signs = _signs((n, max(n_tiles, 1), channels), per_image)
    signs = ops.reshape(ops.take(signs, ops.reshape(index, (-1,)), axis=1), (n, height, width, channels))
    delta = pattern[None, :, :, None] * signs
    return ops.clip(x0 + eps * delta / (l2_norm(delta) + _TINY), 0.0, 1.0)


def _linf_proposal(x0, x_best, eps, side, i, seed):
    _, height, width, channels = x0.shape
    shared, per_image = _keys(seed, i)
    u = B.stateless_uniform((2,), shared)
    mask = _window(height, width, side, _corner(u[0], height, side), _corner(u[1], width, side))
    signs = _signs((ops.shape(x0)[0], 1, 1, channels), per_image)
    x_new = x_best + mask * (2.0 * eps) * signs
    return ops.clip(ops.clip(x_new, x0 - eps, x0 + eps), 0.0, 1.0)


def _l2_proposal(x0, x_best, eps, side, i, seed, ring_sums):
    _, height, width, channels = x0.shape
    shared, per_image = _keys(seed, i)
    u = B.stateless_uniform((5,), shared)
    top, left = _corner(u[0], height, side), _corner(u[1], width, side)
    first = _window(height, width, side, top, left)
    both = ops.maximum(first, _window(height, width, side, _corner(u[2], height, side), _corner(u[3], width, side)))
    delta = x_best - x0

    def channel_norm(t):  # per image and channel, over the pixels
        return ops.sqrt(ops.sum(t * t, axis=(1, 2), keepdims=True))

    pattern = _l2_window_pattern(height, width, side, top, left, u[4] < 0.5, ring_sums)
    new = pattern * _signs((ops.shape(x0)[0], 1, 1, channels), per_image)
    new = new + delta * first / (channel_norm(delta * first) + _TINY)
    # The window gets the mass of both windows plus an even share of what the sphere has left.
    budget = ops.maximum(eps * eps - l2_norm(delta) ** 2, 0.0) / channels + channel_norm(delta * both) ** 2
    new = new / (channel_norm(new) + _TINY) * ops.sqrt(budget)
    delta = delta * (1.0 - both) + new * first
    return ops.clip(x0 + eps * delta / (l2_norm(delta) + _TINY), 0.0, 1.0)


def square_loop(logits_fn, x0, y, target, x_best, best, eps, p_init, start, stop, queries, seed, *,
                norm, targeted, rescale):
    """Square iterations `start..stop-1` as a pure function (call it inside compiled code).

    Stops early once every image has a negative margin.

    Args:
        logits_fn: `x -> logits`.
        x0: clean images `(N, H, W, C)` in [0, 1].
        y, target: int32 true labels and targets `(N,)` (targets ignored unless `targeted`).
        x_best, best: current best images and their margins `(N,)`.
        eps, p_init: scalar tensors.
        start, stop, queries: int32 scalars: iteration range and the full budget (for the schedule).
        seed: `[seed, restart]` int32.
        norm: "l2" or "linf"; targeted, rescale: Python bools.

    Returns:
        `(x_best, best, i)`: improved images and margins, and the iteration reached.
    """
    _, height, width, _ = x0.shape
    ring_sums = ops.convert_to_tensor(_ring_sums(min(height, width)))

    def proceed(i, x_best, best):
        return (i < stop) & ops.any(best > 0.0)

    def step(i, x_best, best):
        side = _window_size(i, queries, p_init, height, width, norm=norm, rescale=rescale)
        if norm == "linf":
            x_new = _linf_proposal(x0, x_best, eps, side, i, seed)
        else:
            x_new = _l2_proposal(x0, x_best, eps, side, i, seed, ring_sums)
        value = _margin(logits_fn(x_new), y, target, targeted)
        better = (value < best) & (best > 0.0)  # broken images stay as they are
        x_best = ops.where(ops.reshape(better, (-1, 1, 1, 1)), x_new, x_best)
        return i + 1, x_best, ops.where(better, value, best)

    return ops.while_loop(proceed, step, (start, x_best, best))


def _build_start(model, norm, targeted):
    fn, _ = B.inference_fn(model)  # holds the model weakly

    def begin(state, x0, y, target, eps, seed):
        x_best = _start(x0, eps, seed, norm=norm)
        return x_best, _margin(fn(state, x_best), y, target, targeted)

    return begin


def _build_iterations(model, norm, targeted, rescale):
    fn, _ = B.inference_fn(model)

    def iterate(state, x0, y, target, x_best, best, eps, p_init, start, stop, queries, seed):
        return square_loop(lambda x: fn(state, x), x0, y, target, x_best, best, eps, p_init, start, stop,
                           queries, seed, norm=norm, targeted=targeted, rescale=rescale)

    return iterate


def _compiled(model, norm, targeted, rescale):
    """The compiled start and iterations for `model` (one of each per option set, cached in `backend`)."""
    begin = B.compiled(model, ("square-start", norm, targeted), lambda: _build_start(model, norm, targeted))
    iterate = B.compiled(model, ("square", norm, targeted, rescale),
                         lambda: _build_iterations(model, norm, targeted, rescale))
    return begin, iterate


def _bucket(n, limit):
    """Batch size to run `n` images at: exact on TensorFlow (shape-relaxed), a power of 2 under JAX."""
    if B.name() != "jax":
        return n
    return min(1 << max(n - 1, 0).bit_length(), limit)


# Image-queries per compiled call when compacting: a call of a shipped fastnet model stays
# under a few seconds on a loaded 2-core CPU, so Ctrl-C is answered between calls.
CALL_IMAGE_QUERIES = 384


def _next_stop(start, queries, active, compact):
    """End of the next compiled call: doubling lengths from 32 to 512, fewer for a large batch."""
    if not compact:
        return queries - 1
    return min(queries - 1, start + min(max(32, start), 512, max(8, CALL_IMAGE_QUERIES // max(active, 1))))


def _run(model, x, y, target, todo, *, norm, eps, queries, p_init, seed, rescale, compact):
    """One restart on the images `todo`; returns their best images and margins."""
    begin, iterate = _compiled(model, norm, target is not None, rescale)
    _, state = B.inference_fn(model)
    target = y if target is None else target
    seed_t = np.asarray(seed, np.int32)
    x_best, best = begin(state, x[todo], y[todo], target[todo], np.float32(eps), seed_t)
    x_best, best = np.array(x_best), np.array(best)
    active, start = np.flatnonzero(best > 0), 0
    while start < queries - 1 and active.size:
        stop = _next_stop(start, queries, active.size, compact)
        rows = np.concatenate([active, np.repeat(active[:1], _bucket(active.size, len(todo)) - active.size)])
        idx = todo[rows]
        _, xb, mb = iterate(state, x[idx], y[idx], target[idx], x_best[rows], best[rows], np.float32(eps),
                            np.float32(p_init), np.int32(start), np.int32(stop), np.int32(queries), seed_t)
        x_best[active], best[active] = np.asarray(xb)[: active.size], np.asarray(mb)[: active.size]
        active, start = active[best[active] > 0], stop
    return x_best, best


def _project(x_adv, x, eps, norm):
    """Guard against float rounding: pull anything a hair outside the ball back in."""
    delta = (x_adv - x).reshape(len(x), -1)
    if norm == "linf":
        delta = np.clip(delta, -eps, eps)
    else:
        size = np.linalg.norm(delta, axis=1, keepdims=True)
        delta = delta * np.minimum(1.0, eps / np.maximum(size, _TINY))
    return np.clip(x + delta.reshape(x.shape), 0.0, 1.0).astype(np.float32)


def square(model, x, y, *, norm, eps, queries=5000, p_init=0.8, restarts=1, seed=0, target=None,
           target_rank=None, rescale_schedule=False, compact=True, batch_size=None):
    """Square attack (Andriushchenko et al. 2020): score-based random search, L2 or L-infinity.

    Forward passes only: one per query. Images already misclassified (or,
    targeted, already classified as their target) are not attacked; each
    image leaves the batch as soon as it is broken. Restarts run only on the
    images still standing, each image keeping its lowest margin.

    The margin loss is `z_y - max_{j != y} z_j` (targeted: `max_{j != t} z_j - z_t`);
    an image is broken when it drops below 0. AutoAttack's settings are the
    defaults: 5000 queries, `p_init=0.8`, one restart, the schedule not
    rescaled to the query budget (`rescale_schedule=True` stretches it to
    `queries`, as ART's `SquareAttack` does).

    Args:
        model: a Keras classifier returning logits, inputs in [0, 1].
        x: float images `(N, H, W, C)` in [0, 1].
        y: int true labels `(N,)`.
        norm: "l2" or "linf".
        eps: radius of the threat ball, >= 0.
        queries: model evaluations per image and restart, >= 1.
        p_init: initial fraction of the image a square covers, in (0, 1].
        restarts: independent runs on the images not yet broken, >= 1.
        seed: integer seed (windows, signs, start).
        target: target classes (one id, or one per image): makes the attack targeted.
        target_rank: instead of `target`: the `target_rank`-th most likely wrong class.
        rescale_schedule: stretch the window schedule to `queries`.
        compact: drop broken images from the batch between compiled chunks
            (`False` runs the whole budget in one call, broken images masked).
        batch_size: images per independent run (None: all at once). Square
            draws one window per iteration for its whole batch, so unlike
            the gradient attacks its result depends on the chunking.

    Returns:
        numpy float32 images inside the `eps`-ball of `x` and [0, 1]: per
        image the point of lowest margin among `x` and the proposals tried,
        so `x` itself when no proposal lowered its margin (and for images not
        attacked, or `eps=0`). A negative margin means misclassified (targeted:
        classified as the target).

    Example:
        >>> x_adv = square(model, x, y, norm="linf", eps=8 / 255, queries=1000)
        >>> float(np.abs(x_adv - x).max()) <= 8 / 255 + 1e-6
        True
    """
    queries = P.check_count("queries", queries)
    p_init = _checks.number("p_init", p_init, low=0.0, high=1.0, low_open=True)
    restarts = P.check_count("restarts", restarts)
    rescale = _checks.boolean("rescale_schedule", rescale_schedule)
    compact = _checks.boolean("compact", compact)
    inputs = P.prologue(model, x, y, norm=norm, eps=eps, seed=seed, gradients=False, batch_size=batch_size,
                        target=target, target_rank=target_rank)
    x_out = inputs.x.copy()
    if inputs.eps == 0:
        return x_out
    y, targets = inputs.y, inputs.targets()
    best = np.array(_margin(inputs.clean_logits(), y, y if targets is None else targets, targets is not None))
    for a, b in P.chunks(len(x_out), inputs.batch_size):
        for restart in range(restarts):
            todo = a + np.flatnonzero(best[a:b] > 0)
            if todo.size == 0:
                break
            x_new, value = _run(inputs.logits, inputs.x, y, targets, todo, norm=inputs.norm, eps=inputs.eps,
                                queries=queries, p_init=p_init, seed=(inputs.seed, restart), rescale=rescale,
                                compact=compact)
            better = value < best[todo]
            x_out[todo[better]], best[todo[better]] = x_new[better], value[better]
    return _project(x_out, inputs.x, inputs.eps, inputs.norm)
