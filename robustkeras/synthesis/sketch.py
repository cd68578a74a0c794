"""Sketch-to-image: make crude sketches, then grow them into images of a class."""

import numpy as np

from robustkeras import _checks
from robustkeras.synthesis import optimizer
from robustkeras.synthesis.translation import run_translation, translate  # noqa: F401


def _edges(images):
    channels = images.shape[-1]
    gray = images @ np.array([0.299, 0.587, 0.114], np.float32) if channels == 3 else images.mean(-1)
    gy, gx = np.gradient(gray, axis=(1, 2))
    magnitude = np.hypot(gx, gy)
    scale = np.percentile(magnitude, 90, axis=(1, 2), keepdims=True) + 1e-6
    lines = np.clip(magnitude / scale, 0, 1)
    return np.repeat((1.0 - lines)[..., None], channels, axis=-1)


def _posterize(images, levels=3):
    blurred = (images + np.roll(images, 1, 1) + np.roll(images, -1, 1) + np.roll(images, 1, 2) + np.roll(images, -1, 2)) / 5
    return np.round(blurred * (levels - 1)) / (levels - 1)


def make_sketch(images, kind="edges"):
    """Crude sketches of `images`: "edges" (dark Sobel-like lines on white) or "posterize" (3 flat levels).

    Example:
        >>> sketches = make_sketch(x, "edges")
    """
    images = _checks.images("images", images, channels=None)
    kind = _checks.one_of("kind", kind, {"edges", "posterize"})
    out = _edges(images) if kind == "edges" else _posterize(images)
    return np.clip(out, 0, 1).astype(np.float32)


def strokes_to_sketch(strokes, size=32, width=1, *, channels=3):
    """Rasterise drawn strokes (lists of (row, col) points in [0, 1]) into a white sketch with black lines.

    Args:
        strokes: list of strokes, each a list of (row, col) points in [0, 1].
        size: side of the sketch (the model's input side).
        width: line half-width in pixels.
        channels: channels of the sketch (the model's).

    Returns:
        float32 `(1, size, size, channels)`.

    Example:
        >>> sketch = strokes_to_sketch([[(0.2, 0.2), (0.8, 0.8)]])
    """
    size = _checks.positive_int("size", size, minimum=2)
    width = _checks.positive_int("width", width)
    channels = _checks.positive_int("channels", channels)
    if isinstance(strokes, (str, bytes)) or not hasattr(strokes, "__iter__"):
        raise ValueError(f"Expected `strokes` to be a list of strokes. Received: strokes={_checks._fmt(strokes)}")
    checked = []
    for i, stroke in enumerate(strokes):
        try:
            pts = np.asarray(stroke, np.float32)
        except (TypeError, ValueError):
            pts = np.zeros((0,))
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) == 0:
            raise ValueError(f"Expected `strokes[{i}]` to be a list of (row, col) points. Received: {_checks._fmt(stroke)}")
        if not np.all(np.isfinite(pts)) or pts.min() < 0 or pts.max() > 1:
            raise ValueError(f"Expected `strokes[{i}]` points in [0, 1]. Received: range [{pts.min():.4g}, {pts.max():.4g}]")
        checked.append(pts)
    canvas = np.ones((size, size, channels), np.float32)
    for pts in checked:
        pts = pts * (size - 1)
        for (r0, c0), (r1, c1) in zip(pts[:-1], pts[1:]):
            for t in np.linspace(0, 1, 2 * size):
                r, c = int(round(r0 + t * (r1 - r0))), int(round(c0 + t * (c1 - c0)))
                canvas[max(r - width + 1, 0):r + width, max(c - width + 1, 0):c + width] = 0.0
    return canvas[None]


def sketch_to_image(model, sketches, target, *, steps=60, step_size=0.5, radius=8.0):
    """Turn sketches into images of `target` classes inside an L2 ball around the sketch.

    Args:
        model: robust classifier.
        sketches: float32 `(N, H, W, C)` in [0, 1], of the model's input shape.
        target: int `(N,)`: the class each image should show.
        steps, step_size, radius: the optimizer.

    Returns:
        `SynthesisResult` (`extras["target"]`).

    Example:
        >>> out = sketch_to_image(model, make_sketch(x), y).images
    """
    spec = optimizer.checked_model(model)
    sketches = _checks.images_for(spec, "sketches", sketches, model=model)
    target = _checks.labels("target", target, n=len(sketches), num_classes=spec.num_classes)
    # A sketch is just a very unusual source image: translation with a larger ball.
    return run_translation(model, sketches, target, *optimizer.check_settings(steps, step_size, radius))
