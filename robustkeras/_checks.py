"""Input validation at the public boundary.

Every public function checks its arguments here, before any tensor work, so a
user sees one line naming the argument and the expected value instead of a
deep TensorFlow traceback.
"""

import numbers

import numpy as np


def _fmt(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def non_negative(name, value):
    """Require a real number >= 0 and return it as a Python float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"Expected `{name}` to be a number >= 0. Received: {name}={_fmt(value)}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"Expected `{name}` >= 0. Received: {name}={value}")
    return value


def positive_int(name, value, minimum=1):
    """Require an integer >= `minimum` and return it as a Python int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(
            f"Expected `{name}` to be an integer >= {minimum}. Received: {name}={_fmt(value)}"
        )
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
            f"Expected `{name}` to be a batch of images of shape (N, H, W, {channels}). "
            f"Received: {name}.shape={tuple(shape)}"
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
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"Expected `{name}` pixels in [0, 1]. Received: {name} range [{lo:.4g}, {hi:.4g}]"
        )
    return arr.astype(np.float32, copy=False)


def labels(name, y, *, n, num_classes):
    """Require `n` integer class ids in [0, num_classes); return int32 numpy."""
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"Expected `{name}` to be a vector of {n} class ids. Received: {name}.shape={arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"Expected `{name}` to hold integer class ids. Received: {name}.dtype={arr.dtype}")
    if arr.min() < 0 or arr.max() >= num_classes:
        raise ValueError(
            f"Expected `{name}` class ids in [0, {num_classes - 1}]. "
            f"Received: {name} range [{arr.min()}, {arr.max()}]"
        )
    return arr.astype(np.int32)


def class_id(name, value, num_classes):
    """Require one integer class id in [0, num_classes)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < num_classes:
        raise ValueError(
            f"Expected `{name}` to be a class id in [0, {num_classes - 1}]. Received: {name}={_fmt(value)}"
        )
    return int(value)
