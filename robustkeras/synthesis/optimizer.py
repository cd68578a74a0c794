"""The one optimizer behind every synthesis task.

A task is an *objective* (named loss terms, maximised), a *constraint set*
(an L2 ball around an anchor image, the [0, 1] box, optionally a task-specific
projection) and a *start point*. The step and the ball projection are the
attack code's `L2Step`, so synthesis is literally a (targeted) attack run long
enough to change what the image shows.

Objectives and projections are module-level functions
`objective(params, x, logits, features) -> (N,)` and `project(params, x) -> x`
whose data arrive in `params` (a dict of tensors), so each (model, objective,
projection) pair is compiled once and reused for any data of the same shape.
"""

import dataclasses

import numpy as np
from keras import ops

from robustkeras import _checks, engine, imageops
from robustkeras import backend as B
from robustkeras.attacks.steps import L2Step
from robustkeras.models import introspect
from robustkeras.models.introspect import feature_model

MAX_STEPS = 2**31 - 1  # the loop counter is an int32 tensor


@dataclasses.dataclass
class SynthesisResult:
    """What every task returns.

    Attributes:
        images: float32 `(N, H, W, C)` in [0, 1].
        objective_values: float32 `(steps, N)`: the objective, which the task
            maximises (higher is better), at the start of each step.
        start: the start images.
        extras: task-specific arrays (targets, masks, baselines, ...).
    """

    images: np.ndarray
    objective_values: np.ndarray
    start: np.ndarray
    extras: dict = dataclasses.field(default_factory=dict)


def _outputs_fn(model, input_hw):
    """Pure `(state, x) -> (logits, features)` of a feature model; smaller `x` is resized to `input_hw` first."""
    fn, _ = B.inference_fn(model)

    def outputs(state, x):
        if input_hw is not None and tuple(x.shape[1:3]) != tuple(input_hw):
            x = imageops.resize(x, input_hw)
        logits, features = fn(state, x)
        return ops.cast(logits, "float32"), ops.cast(features, "float32")

    return outputs


def _build_run(model, objective, project, input_hw):
    """The compiled task loop: normalised-gradient ascent (`engine.ascend`), projected after every step.

    The step length follows a cosine decay to zero: fixed-length normalised steps
    would otherwise keep oscillating around the balance of a consistency term.
    """
    outputs = _outputs_fn(model, input_hw)

    def run(state, params, start, anchor, radius, step_size, steps):
        total = ops.cast(steps, "float32")

        def score(x):
            logits, features = outputs(state, x)
            return objective(params, x, logits, features)

        def rule_at(i):
            decay = 0.5 * (1.0 + ops.cos(np.pi * ops.cast(i, "float32") / total))
            return L2Step(radius, step_size * decay)

        task_projection = None if project is None else (lambda x: project(params, x))
        return engine.ascend(score, start, anchor, rule_at, steps=steps, project=task_projection, record=True)

    return run


def _is_plus_inf(value):
    return isinstance(value, (float, np.floating)) and value == np.inf


def _check_params(params, n):
    """`params` as a dict of numpy arrays; per-image vectors and image batches need N (or 1) rows.

    Arrays of 2 or 3 dimensions (e.g. one `(H, W, 1)` mask for every image) are
    left to broadcasting.
    """
    if not isinstance(params, dict):
        raise ValueError(f"Expected `params` to be a dict of arrays. Received: params={_checks._fmt(params)}")
    out = {}
    for key, value in params.items():
        arr = np.asarray(value)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise ValueError(f"Expected `params[{key!r}]` to be numeric. Received: dtype={arr.dtype}")
        if arr.ndim in (1, 4) and arr.shape[0] not in (n, 1):
            raise ValueError(
                f"Expected `params[{key!r}]` to have one row per image ({n}) or a single row. "
                f"Received: params[{key!r}].shape={arr.shape}")
        out[key] = arr
    return out


def optimize(model, start, *, objective, params, steps, step_size, radius=np.inf, anchor=None,
             project=None, input_size=None):
    """Maximise `objective` over images by projected, normalised gradient steps.

    Args:
        model: a classifier taking [0, 1] images (functional or Sequential; nested
            models and a final softmax are handled: see `models.feature_model`).
        start: float32 `(N, H, W, C)` start images in [0, 1], of the model's input
            shape, or square and smaller (they are resized up inside the objective).
        objective: `(params, x, logits, features) -> (N,)`, the score to maximise.
        params: dict of arrays the objective and projection read.
        steps: number of steps (>= 1).
        step_size: L2 length of the first step (>= 0); later steps follow a cosine decay to 0.
        radius: the L2 ball around `anchor` the images must stay in (`inf`: none).
        anchor: centre of the ball; defaults to `start`.
        project: optional `(params, x) -> x`, applied before the ball projection.
        input_size: optional; must equal the model's input side (read from the model).

    Returns:
        A `SynthesisResult`.

    Example:
        >>> result = optimize(model, start, objective=class_objective,
        ...                   params={"target": targets}, steps=20, step_size=1.0, radius=30)
    """
    spec = checked_model(model)
    start = _checks.images_for(spec, "start", start, allow_smaller=True)
    steps, step_size, radius = check_settings(steps, step_size, radius)
    anchor = start if anchor is None else _checks.images("anchor", anchor, channels=spec.channels)
    if anchor.shape != start.shape:
        raise ValueError(f"Expected `anchor` of shape {start.shape}. Received: anchor.shape={anchor.shape}")
    objective = _checks.function("objective", objective)
    project = _checks.function("project", project, optional=True)
    if input_size is not None:
        input_size = _checks.positive_int("input_size", input_size)
        if spec.shape is not None and spec.shape[0] not in (None, input_size):
            raise ValueError(f"Expected `input_size` to equal the model's input side {spec.shape[0]} (or left out). "
                             f"Received: input_size={input_size}")
    params = _check_params(params, len(start))
    return run(model, start, objective=objective, params=params, steps=steps, step_size=step_size,
               radius=radius, anchor=anchor, project=project)


def check_settings(steps, step_size, radius):
    """The optimizer's `steps` (>= 1), `step_size` (>= 0) and `radius` (>= 0 or inf), checked."""
    steps = _checks.positive_int("steps", steps, maximum=MAX_STEPS)
    step_size = _checks.non_negative("step_size", step_size)
    radius = np.inf if _is_plus_inf(radius) else _checks.non_negative("radius", radius)
    return steps, step_size, radius


def checked_model(model):
    """The `ModelSpec` of a synthesis model, after checking it has a layer graph to take features from."""
    spec = _checks.classifier(model, gradients=True)
    feature_model(model)  # a clear error now if the features cannot be found
    return spec


def run(model, start, *, objective, params, steps, step_size, radius=np.inf, anchor=None, project=None):
    """`optimize` on checked arguments (what the tasks call after checking theirs once)."""
    fm = feature_model(model)
    shape = introspect.input_shape(fm)
    input_hw = None if shape is None or tuple(start.shape[1:3]) == tuple(shape[:2]) else shape[:2]
    if input_hw is None:  # a zero gradient on random images is decided on the first real start (once per model)
        B.check_input_gradient(model, start)
    compiled = B.compiled(fm, ("synthesis", objective, project, input_hw),
                          lambda: _build_run(fm, objective, project, input_hw), static_argnames=("steps",))
    _, state = B.inference_fn(fm)
    anchor = start if anchor is None else anchor
    images, history = compiled(state, params, start, anchor, np.float32(radius), np.float32(step_size),
                               np.int32(steps))
    return SynthesisResult(np.array(images, np.float32), np.asarray(history, np.float32), start)


def class_probability(model, images, classes, *, batch_size=500):
    """Softmax probability of `classes[i]` for each image (numpy, inference mode)."""
    spec = _checks.classifier(model)
    images = _checks.images_for(spec, "images", images, model=model)
    batch_size = _checks.positive_int("batch_size", batch_size)
    classes = _checks.targets("classes", classes, n=len(images), num_classes=spec.num_classes)
    probs = []
    logits_net = introspect.logits_model(model)
    for a in range(0, len(images), batch_size):
        logits = logits_net(images[a:a + batch_size], training=False)
        probs.append(np.asarray(ops.softmax(ops.cast(logits, "float32"), axis=-1)))
    probs = np.concatenate(probs)
    return probs[np.arange(len(images)), np.asarray(classes)]
