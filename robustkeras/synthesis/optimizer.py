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
import warnings
import weakref

import keras
import numpy as np
from keras import ops

from robustkeras import _checks
from robustkeras import backend as B
from robustkeras.attacks.steps import L2Step


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

    @property
    def losses(self):
        """Deprecated name of `objective_values` (the values are maximised, not losses)."""
        warnings.warn("SynthesisResult.losses is deprecated: the values are maximised; use "
                      "`objective_values`.", FutureWarning, stacklevel=2)
        return self.objective_values


_FEATURE_MODELS = weakref.WeakKeyDictionary()


def feature_model(model):
    """`model` with two outputs: logits and penultimate features (the classifier head's input).

    Built once per model; it shares the model's variables.

    Example:
        >>> logits, features = feature_model(model)(x)
    """
    if model not in _FEATURE_MODELS:
        head = model.layers[-1]
        _FEATURE_MODELS[model] = keras.Model(model.inputs[0], [model.outputs[0], head.input],
                                             name=f"{model.name}_features")
    return _FEATURE_MODELS[model]


def _outputs_fn(model, input_size):
    """Pure `(state, x) -> (logits, features)`; resizes `x` to the model's input size first."""
    fn, _ = B.inference_fn(feature_model(model))

    def outputs(state, x):
        if input_size is not None and ops.shape(x)[1] != input_size:
            x = ops.image.resize(x, (input_size, input_size), interpolation="bilinear")
        logits, features = fn(state, x)
        return ops.cast(logits, "float32"), ops.cast(features, "float32")

    return outputs


def _run(outputs, state, objective, project, params, start, anchor, radius, step_size, steps):
    """The compiled loop: normalised-gradient ascent, projected after every step.

    The step length follows a cosine decay to zero: fixed-length normalised steps
    would otherwise keep oscillating around the balance of a consistency term.
    """
    total = ops.cast(steps, "float32")

    def score(x):
        logits, features = outputs(state, x)
        return objective(params, x, logits, features)

    def body(i, carry):
        x, history = carry
        value, grad = B.value_and_input_grad(score, x)
        history = ops.slice_update(history, (i, 0), ops.expand_dims(value, 0))
        decay = 0.5 * (1.0 + ops.cos(np.pi * ops.cast(i, "float32") / total))
        rule = L2Step(radius, step_size * decay)
        x = rule.step(x, grad)
        if project is not None:
            # Task projection first: for a linear constraint that the anchor satisfies
            # (super-resolution), the ball projection then keeps it, so x meets both.
            x = project(params, x)
        x = rule.project(x, anchor)
        return x, history

    history = ops.zeros((steps, ops.shape(start)[0]), "float32")
    return ops.fori_loop(0, steps, body, (start, history))


_COMPILED = weakref.WeakKeyDictionary()


def _compiled(model, objective, project, input_size):
    per_model = _COMPILED.setdefault(model, {})
    key = (objective, project, input_size)
    if key not in per_model:
        outputs = _outputs_fn(model, input_size)

        def run(state, params, start, anchor, radius, step_size, steps):
            return _run(outputs, state, objective, project, params, start, anchor, radius, step_size, steps)

        per_model[key] = (B.compile_fn(run), outputs)
    return per_model[key]


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
             project=None, input_size=32):
    """Maximise `objective` over images by projected, normalised gradient steps.

    Args:
        model: a classifier returning logits for inputs in [0, 1].
        start: float32 `(N, H, W, 3)` start images in [0, 1] (H may be below 32:
            they are resized to `input_size` inside the objective).
        objective: `(params, x, logits, features) -> (N,)`, the score to maximise.
        params: dict of arrays the objective and projection read.
        steps: number of steps (>= 1).
        step_size: L2 length of the first step (>= 0); later steps follow a cosine decay to 0.
        radius: the L2 ball around `anchor` the images must stay in (`inf`: none).
        anchor: centre of the ball; defaults to `start`.
        project: optional `(params, x) -> x`, applied before the ball projection.
        input_size: the model's input size.

    Returns:
        A `SynthesisResult`.

    Example:
        >>> result = optimize(model, start, objective=class_objective,
        ...                   params={"target": targets}, steps=60, step_size=1.0, radius=30)
    """
    start = _checks.images("start", start)
    steps = _checks.positive_int("steps", steps)
    step_size = _checks.non_negative("step_size", step_size)
    radius = np.inf if _is_plus_inf(radius) else _checks.non_negative("radius", radius)
    anchor = start if anchor is None else _checks.images("anchor", anchor)
    if anchor.shape != start.shape:
        raise ValueError(f"Expected `anchor` of shape {start.shape}. Received: anchor.shape={anchor.shape}")
    objective = _checks.function("objective", objective)
    project = _checks.function("project", project, optional=True)
    input_size = _checks.positive_int("input_size", input_size)
    params = _check_params(params, len(start))
    run, _ = _compiled(model, objective, project, input_size if start.shape[1] != input_size else None)
    _, state = B.inference_fn(feature_model(model))
    images, history = run(state, params, start, anchor, np.float32(radius), np.float32(step_size), np.int32(steps))
    return SynthesisResult(np.asarray(images, np.float32), np.asarray(history, np.float32), start)


def class_probability(model, images, classes, *, batch_size=500):
    """Softmax probability of `classes[i]` for each image (numpy, inference mode)."""
    images = _checks.images("images", images)
    batch_size = _checks.positive_int("batch_size", batch_size)
    outputs = getattr(model, "outputs", None)
    classes = np.full(len(images), classes) if np.ndim(classes) == 0 else classes
    classes = _checks.labels("classes", classes, n=len(images), num_classes=outputs[0].shape[-1] if outputs else 10)
    probs = []
    for a in range(0, len(images), batch_size):
        logits = model(images[a:a + batch_size], training=False)
        probs.append(np.asarray(ops.softmax(ops.cast(logits, "float32"), axis=-1)))
    probs = np.concatenate(probs)
    return probs[np.arange(len(images)), np.asarray(classes)]
