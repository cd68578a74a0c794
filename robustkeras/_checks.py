"""Input validation at the public boundary.

Every public function checks its arguments here, before any tensor work, so a
user sees one line naming the argument and the expected value instead of a
deep TensorFlow traceback.
"""

import numbers
import weakref

import numpy as np


def _fmt(value):
    if isinstance(value, np.ndarray):
        return f"array(shape={value.shape}, dtype={value.dtype})"
    text = " ".join(repr(value).split())
    return text if len(text) <= 80 else text[:77] + "..."


def non_negative(name, value):
    """Require a real number >= 0 and return it as a Python float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"Expected `{name}` to be a number >= 0. Received: {name}={_fmt(value)}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"Expected `{name}` >= 0. Received: {name}={value}")
    return value


def positive_int(name, value, minimum=1, maximum=None):
    """Require an integer >= `minimum` (and <= `maximum`, if given) and return it as a Python int."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum
            or (maximum is not None and value > maximum)):
        bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ValueError(f"Expected `{name}` to be an integer {bounds}. Received: {name}={_fmt(value)}")
    return int(value)


def one_of(name, value, choices):
    """Require `value` to be one of `choices` (strings are compared lower-case)."""
    key = value.lower() if isinstance(value, str) else value
    if key not in choices:
        raise ValueError(
            f"Expected `{name}` to be one of {sorted(choices)}. Received: {name}={_fmt(value)}"
        )
    return key


def images(name, x, *, channels=3):
    """Require a float batch (N, H, W, C) with pixels in [0, 1]; return float32 numpy or tensor.

    Tensors that are already float32 are returned unchanged after the checks,
    so this costs one reduction, not a copy.
    """
    shape = getattr(x, "shape", None)
    if shape is None:
        x = np.asarray(x)
        shape = x.shape
    if len(shape) != 4 or (channels is not None and shape[-1] != channels):
        raise ValueError(
            f"Expected `{name}` to be a batch of images of shape (N, H, W, {channels or 'C'})"
            f"{' for this model' if channels is not None else ''}. Received: {name}.shape={tuple(shape)}"
        )
    if shape[0] == 0:
        raise ValueError(f"Expected `{name}` to hold at least one image. Received: {name}.shape={tuple(shape)}")
    dtype = np.dtype(getattr(getattr(x, "dtype", None), "as_numpy_dtype", getattr(x, "dtype", None)))
    if not np.issubdtype(dtype, np.floating):
        raise ValueError(
            f"Expected `{name}` to be floating point in [0, 1] (divide uint8 images by 255). "
            f"Received: {name}.dtype={dtype}"
        )
    arr = np.asarray(x)
    lo, hi = float(np.min(arr)), float(np.max(arr))
    if np.isnan(lo) or np.isnan(hi):
        raise ValueError(f"Expected `{name}` pixels in [0, 1]. Received: {name} contains NaN")
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"Expected `{name}` pixels in [0, 1]. Received: {name} range [{lo:.4g}, {hi:.4g}]"
        )
    return arr.astype(np.float32, copy=False)


def labels(name, y, *, n, num_classes, what="class id"):
    """Require `n` integer class ids (or other indices: `what`) in [0, num_classes); return int32 numpy."""
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"Expected `{name}` to be a vector of {n} {what}s. Received: {name}.shape={arr.shape}"
        )
    if n == 0:
        raise ValueError(f"Expected `{name}` to hold at least one {what}. Received: {name}.shape={arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"Expected `{name}` to hold integer {what}s. Received: {name}.dtype={arr.dtype}")
    if arr.min() < 0 or arr.max() >= num_classes:
        raise ValueError(
            f"Expected `{name}` {what}s in [0, {num_classes - 1}]. "
            f"Received: {name} range [{arr.min()}, {arr.max()}]"
        )
    return arr.astype(np.int32)


def targets(name, value, *, n, num_classes, what="class id"):
    """Target classes: one class id for every image, or `n` ids; return int32 numpy `(n,)`."""
    if np.ndim(value) == 0:
        return np.full(n, class_id(name, value, num_classes, what=what), np.int32)
    return labels(name, value, n=n, num_classes=num_classes, what=what)


def targets_differ(name, target, y):
    """Require every target class to differ from its true label (the rule of every targeted attack)."""
    same = np.asarray(target) == np.asarray(y)
    if np.any(same):
        raise ValueError(
            f"Expected every `{name}` to differ from its true label `y`. "
            f"Received: {name} == y for {int(np.sum(same))} image(s)")


def class_id(name, value, num_classes, what="class id"):
    """Require one integer class id (or other index: `what`) in [0, num_classes)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or not 0 <= value < num_classes:
        raise ValueError(
            f"Expected `{name}` to be a {what} in [0, {num_classes - 1}]. Received: {name}={_fmt(value)}"
        )
    return int(value)


def number(name, value, *, low=None, high=None, low_open=False, high_open=False):
    """Require a finite real number within the given bounds; return it as a Python float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(float(value)):
        raise ValueError(f"Expected `{name}` to be a finite number. Received: {name}={_fmt(value)}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        interval = ("(" if low_open else "[") + f"{lo}, {hi}" + (")" if high_open else "]")
        raise ValueError(f"Expected `{name}` in {interval}. Received: {name}={value}")
    return value


def boolean(name, value):
    """Require a bool (numpy bools and the integers 0 and 1 are accepted too)."""
    if not (isinstance(value, (bool, np.bool_)) or isinstance(value, numbers.Integral) and value in (0, 1)):
        raise ValueError(f"Expected `{name}` to be True or False. Received: {name}={_fmt(value)}")
    return bool(value)


def same_shape(name, x, ref_name, ref):
    """Require `x` to have the shape of `ref`."""
    if tuple(np.shape(x)) != tuple(np.shape(ref)):
        raise ValueError(
            f"Expected `{name}` of the same shape as `{ref_name}` {tuple(np.shape(ref))}. "
            f"Received: {name}.shape={tuple(np.shape(x))}"
        )


def mask(name, m, image_shape):
    """Require a mask `(N, H, W, 1)`, `(1, H, W, 1)` or `(H, W, 1)` with values in [0, 1] for images `(N, H, W, C)`.

    Returns the mask broadcast to `(N, H, W, 1)` as float32.
    """
    arr = np.asarray(m)
    n, h, w = image_shape[:3]
    if arr.shape not in ((n, h, w, 1), (1, h, w, 1), (h, w, 1)):
        raise ValueError(
            f"Expected `{name}` of shape ({n}, {h}, {w}, 1) or ({h}, {w}, 1). Received: {name}.shape={arr.shape}"
        )
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise ValueError(f"Expected `{name}` to hold numbers in [0, 1]. Received: {name}.dtype={arr.dtype}")
    arr = arr.astype(np.float32)
    if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
        raise ValueError(
            f"Expected `{name}` values in [0, 1]. Received: {name} range [{np.nanmin(arr):.4g}, {np.nanmax(arr):.4g}]"
        )
    return np.broadcast_to(arr, (n, h, w, 1))


def function(name, value, *, optional=False):
    """Require a callable (or None when `optional`)."""
    if value is None and optional:
        return None
    if not callable(value):
        raise ValueError(f"Expected `{name}` to be a function. Received: {name}={_fmt(value)}")
    return value


class ModelSpec:
    """What the public functions read from a classifier: image shape `(H, W, C)` and class count."""

    def __init__(self, shape, num_classes, gradient_pending=None):
        self.shape, self.num_classes = shape, num_classes
        # The model whose input gradient is still to be checked on the first images (unknown input shape).
        self.gradient_pending = gradient_pending

    @property
    def channels(self):
        return None if self.shape is None else self.shape[-1]


def classifier(model, *, name="model", num_classes=None, gradients=False):
    """Check that `model` is a classifier taking [0, 1] images; return its `ModelSpec`.

    The image shape and the class count come from the model. A model with
    more than one input, or fewer than two outputs, is refused. A model that
    rescales its input by 1/127 or less before its first weighted layer (e.g.
    `Rescaling(1/255)`, also inside a nested model) expects [0, 255] pixels
    and is refused (wrap it with `robustkeras.models.pixel_model(model, (0, 255))`).
    `num_classes`, if given, must agree with the model. With `gradients=True`
    (gradient attacks, synthesis), a model that declares `differentiable = False`
    (e.g. an int8 TensorFlow Lite model) is refused, and so is one whose input
    gradient is None or zero (`backend.check_input_gradient`, once per model; for a
    model of unknown input shape, on the first images `images_for` sees). A model
    whose input is an integer dtype is refused (wrap it with `pixel_model`).
    """
    if not callable(model):
        raise ValueError(f"Expected `{name}` to be a Keras classifier. Received: {name}={_fmt(model)}")
    if gradients and getattr(model, "differentiable", True) is False:
        raise ValueError(f"Expected `{name}` to be a differentiable classifier (this step needs input gradients). "
                         f"Received: {type(model).__name__}, which has no gradients"
                         + (f"; {model.no_gradients_hint}" if getattr(model, "no_gradients_hint", None) else ""))
    from robustkeras.models import introspect

    inputs = _model_inputs(model)
    if inputs is not None and len(inputs) != 1:
        raise ValueError(f"Expected `{name}` to take one input (a batch of images). "
                         f"Received: a model with {len(inputs)} inputs")
    if introspect.takes_integers(model):
        raise ValueError(
            f"Expected `{name}` to take float [0, 1] pixels. Received: a model whose input is "
            f"{introspect.input_dtype(model)} (Keras would cast [0, 1] floats to it: truncated pixels, no "
            f"gradients); wrap it: robustkeras.models.pixel_model({name}, input_range=(0, 255))")
    if introspect.expects_0_255(model):
        scale = np.asarray(introspect.input_scale(model)).ravel()
        raise ValueError(
            f"Expected `{name}` to take [0, 1] pixels. Received: a model that rescales its input by "
            f"{float(scale[0]):.4g} before its first weighted layer (it expects [0, 255]); wrap it: "
            f"robustkeras.models.pixel_model({name}, input_range=(0, 255))")
    classes = introspect.num_classes(model)
    _at_least_two_classes(name, classes)
    if num_classes is not None:
        num_classes = positive_int("num_classes", num_classes, minimum=2)
        if classes is not None and classes != num_classes:
            raise ValueError(f"Expected `num_classes` to equal the model's {classes} outputs (or left out). "
                             f"Received: num_classes={num_classes}")
        classes = num_classes
    pending = None
    if gradients:
        from robustkeras import backend

        pending = None if backend.check_input_gradient(model, name=name) else (model, name)
    return ModelSpec(introspect.input_shape(model), classes, pending)


def _model_inputs(model):
    try:
        return model.inputs
    except (AttributeError, ValueError):
        return None


def _at_least_two_classes(name, classes):
    if classes is not None and classes < 2:
        raise ValueError(
            f"Expected `{name}` to return one logit per class, at least 2 (for a binary classifier with one "
            f"output, return two logits: [0, z]). Received: a model with {classes} output(s)")


def _probabilities_guard(name, model, out):
    """Refuse a model whose outputs look like probabilities the library could not turn back into logits."""
    from robustkeras.models import introspect

    out = np.asarray(out, np.float64)
    if out.ndim != 2 or out.shape[-1] < 2 or introspect.ends_in_softmax(model):
        return
    if out.min() >= 0 and np.allclose(out.sum(-1), 1.0, atol=1e-3):
        raise ValueError(
            f"Expected `{name}` to return logits. Received: a model whose outputs are non-negative and sum to 1 "
            f"(probabilities) through an operation the library cannot undo; end it in "
            f"keras.layers.Softmax() or Dense(..., activation='softmax'), or pass the model without its softmax")


_GUARDED = weakref.WeakKeyDictionary()


def images_for(spec, name, x, *, model=None, allow_smaller=False):
    """`images(name, x)` plus a check of the image shape against the model's input (`spec`).

    With `allow_smaller`, square images smaller than the model's input are
    accepted (they are resized up inside the model call, e.g. coarse-to-fine generation).
    For a model of unknown class count (subclassed), one forward pass on `x[:1]` fills it in.
    """
    x = images(name, x, channels=None)
    if spec.shape is not None:
        expected = tuple(spec.shape[:2])
        got = tuple(x.shape[1:3])
        fits = all(e is None or e == g for e, g in zip(expected, got))
        fits = fits and spec.channels in (None, x.shape[3])
        smaller = (allow_smaller and got[0] == got[1] and spec.channels in (None, x.shape[3])
                   and all(e is None or g <= e for e, g in zip(expected, got)))
        if not fits and not smaller:
            shown = "x".join("?" if e is None else str(e) for e in expected)
            raise ValueError(
                f"Expected `{name}` of shape (N, {', '.join('None' if s is None else str(s) for s in spec.shape)}) "
                f"for this model ({shown} images with {spec.channels} channel(s)). Received: {name}.shape={x.shape}")
    if spec.gradient_pending is not None:
        from robustkeras import backend

        backend.check_input_gradient(spec.gradient_pending[0], x, name=spec.gradient_pending[1])
        spec.gradient_pending = None
    if model is not None and (spec.num_classes is None or not _guarded(model)):
        import keras

        out = model(x[:1], training=False) if isinstance(model, keras.Model) else model(x[:1])
        if spec.num_classes is None:
            spec.num_classes = int(out.shape[-1])
            _at_least_two_classes("model", spec.num_classes)
        _probabilities_guard("model", model, out)
        try:
            _GUARDED[model] = True  # the output check runs once per model
        except TypeError:  # not weakly referenceable: checked on every call
            pass
    return x


def _guarded(model):
    try:
        return model in _GUARDED
    except TypeError:
        return False
