"""Browser values (canvases, uploads) turned into the model's arrays, with page-readable errors.

Canvases are drawn at `ZOOM` times the model's side and pooled back to it: a
sketch keeps the darkest ink of each block (a thin stroke survives), a
painted region keeps every block the brush touched.
"""

import numpy as np
from PIL import Image

ZOOM = 8  # canvas pixels per model pixel


class InputError(ValueError):
    """Bad input from the page; its message is shown there as it is."""


def _blocks(array, side):
    """`(side, side, k*k, C)`: the canvas pixels of each model pixel (canvas resized to a multiple first)."""
    h, w = array.shape[:2]
    k = max(1, round(max(h, w) / side))
    if (h, w) != (side * k, side * k):
        channels = [np.asarray(Image.fromarray(array[..., c]).resize((side * k, side * k), Image.NEAREST))
                    for c in range(array.shape[-1])]
        array = np.stack(channels, -1)
    c = array.shape[-1]
    return array.reshape(side, k, side, k, c).transpose(0, 2, 1, 3, 4).reshape(side, side, k * k, c)


def _rgba(array, name):
    array = np.asarray(array)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, -1)
    if array.ndim != 3 or array.shape[-1] not in (3, 4):
        raise InputError(f"Expected `{name}` to be an RGB or RGBA picture. Received: an array of shape {array.shape}")
    if array.shape[-1] == 3:
        array = np.concatenate([array, np.full(array.shape[:2] + (1,), 255, array.dtype)], -1)
    return array.astype(np.uint8)


def canvas_sketch(value, side, channels=3):
    """The sketch drawn on a canvas, as the model takes it.

    Args:
        value: the canvas's value (`{"composite": RGBA array, ...}`) or None.
        side: the model's input side.
        channels: the model's input channels.

    Returns:
        float32 `(1, side, side, channels)` in [0, 1]: white paper, dark strokes.

    Example:
        >>> canvas_sketch({"composite": drawn}, 32).shape
        (1, 32, 32, 3)
    """
    composite = None if value is None else value.get("composite")
    if composite is None:
        raise InputError("Expected strokes on the sketch canvas. Received: an empty canvas (draw something first)")
    rgba = _rgba(composite, "sketch").astype(np.float32) / 255.0
    rgb = rgba[..., :3] * rgba[..., 3:] + (1.0 - rgba[..., 3:])  # on white paper
    ink = 1.0 - rgb.mean(-1, keepdims=True)
    if ink.max() < 0.1:
        raise InputError("Expected strokes on the sketch canvas. Received: an empty canvas (draw something first)")
    blocks = _blocks(np.concatenate([rgb, ink], -1), side)
    darkest = np.argmax(blocks[..., 3], axis=-1)
    sketch = np.take_along_axis(blocks[..., :3], darkest[..., None, None], axis=2)[:, :, 0]
    if channels == 1:
        sketch = sketch.mean(-1, keepdims=True)
    return np.clip(sketch, 0, 1).astype(np.float32)[None]


def painted_region(value, side, *, what="mask"):
    """The region painted over an editor's picture: 1 where the brush went.

    Args:
        value: the editor's value (`{"background", "layers", "composite"}`) or None.
        side: the model's input side.
        what: what the region is called in messages ("mask", "region").

    Returns:
        float32 `(side, side, 1)`.
    """
    layers = [] if value is None else [layer for layer in (value.get("layers") or []) if layer is not None]
    alpha = np.zeros((side, side), bool)
    for layer in layers:
        rgba = _rgba(layer, what)
        alpha |= np.any(_blocks(rgba[..., 3:], side)[..., 0] > 0, axis=-1)
    if not alpha.any():
        raise InputError(f"Expected a painted {what} over the picture. Received: nothing painted "
                         f"(pick the brush and paint over the picture)")
    return alpha[..., None].astype(np.float32)


def uploaded_image(array, side, channels=3):
    """An uploaded picture, checked to be the model's size (never silently resized).

    Returns:
        float32 `(side, side, channels)` in [0, 1].
    """
    if array is None:
        raise InputError("Expected a picture. Received: none (pick a test image or upload one)")
    rgba = _rgba(array, "image")
    if rgba.shape[:2] != (side, side):
        raise InputError(f"Expected a {side}x{side} picture (the model's input size). "
                         f"Received: {rgba.shape[1]}x{rgba.shape[0]} (resize it first, or pick a test image)")
    image = rgba[..., :3].astype(np.float32) / 255.0
    return image.mean(-1, keepdims=True) if channels == 1 else image


def zoomed(image, zoom=ZOOM):
    """uint8 picture of a [0, 1] image, each pixel a `zoom` x `zoom` block (for canvases)."""
    big = np.repeat(np.repeat(np.asarray(image), zoom, 0), zoom, 1)
    return np.round(np.clip(big, 0, 1) * 255).astype(np.uint8)


def shown(images, zoom=ZOOM):
    """uint8 picture of `(N, H, W, C)` images side by side, each pixel a `zoom` x `zoom` block.

    What the page shows: every `zoom`-th pixel of it is the image, exactly (to 1/255).
    """
    strip = np.concatenate(list(np.asarray(images)), axis=1)
    if strip.shape[-1] == 1:
        strip = np.repeat(strip, 3, -1)
    return zoomed(strip, zoom)
