"""The five tabs' computations, on numpy arrays (no web code): each returns what its tab shows.

Every task runs at its library function's default steps (stated per click in
benchmarks/demo_latency.py). Shown images are uint8 strips (`inputs.shown`);
texts are the low-pass judge's verdict and the robust model's probability.
"""

from robustkeras import synthesis
from robustkeras.data import CLASSES
from robustkeras.demo.inputs import InputError, shown
from robustkeras.demo.verdict import verdict

GENERATED_PER_CLICK = 2  # images per model per click on the generation tab


def class_index(name):
    """The class id of a class name picked on the page."""
    if name not in CLASSES:
        raise InputError(f"Expected a class among {', '.join(CLASSES)}. Received: {name!r}")
    return CLASSES.index(name)


def seed_value(seed):
    """The seed typed on the page, as a non-negative int."""
    try:
        value = int(seed)
    except (TypeError, ValueError):
        value = -1
    if value < 0 or value != seed:
        raise InputError(f"Expected the seed to be a whole number >= 0. Received: {seed!r}")
    return value


def sketch(models, drawn, target):
    """Sketch to image with the robust model, and with the standard model on the same strokes (the control).

    Args:
        models: `DemoModels`.
        drawn: float32 `(1, H, W, C)` sketch (`inputs.canvas_sketch`).
        target: class id.

    Returns:
        `(robust image, robust verdict, standard image, standard verdict)`.
    """
    robust = synthesis.sketch_to_image(models.robust, drawn, [target]).images
    standard = synthesis.sketch_to_image(models.standard, drawn, [target]).images
    return shown(robust), verdict(models, robust, target), shown(standard), verdict(models, standard, target)


def generate(models, target, seed):
    """`GENERATED_PER_CLICK` images of `target` from the robust and the standard model, same seeds.

    Returns:
        `(robust strip, robust verdicts, standard strip, standard verdicts)`.
    """
    classes = [target] * GENERATED_PER_CLICK
    robust = synthesis.generate(models.robust, classes, seed=seed).images
    standard = synthesis.generate(models.standard, classes, seed=seed).images
    return shown(robust), verdict(models, robust, target), shown(standard), verdict(models, standard, target)


def inpaint(models, image, mask, target):
    """Fill the painted `mask` (H, W, 1) of `image` (H, W, C) so that it shows `target`; keep the rest.

    Returns:
        `(masked image, inpainted image, verdict)`.
    """
    result = synthesis.inpaint(models.robust, image[None], [target], mask[None])
    return shown(result.start), shown(result.images), verdict(models, result.images, target)


def translate(models, image, target):
    """Move `image` (H, W, C) towards `target` inside the translation ball.

    Returns:
        `(translated image, verdict)`.
    """
    result = synthesis.translate(models.robust, image[None], [target])
    return shown(result.images), verdict(models, result.images, target)


def paint(painter, models, region, target):
    """Grow the top feature of class `target` inside `region` (H, W, 1) of the painter's image.

    Args:
        painter: a `synthesis.FeaturePainter` (its history is the undo stack).
        models: `DemoModels`.
        region: float32 `(H, W, 1)`, 1 where the brush went.
        target: class id whose top feature is painted.

    Returns:
        `(new image, verdict)`.
    """
    unit = painter.top_units(class_id=target)[0]
    image = painter.paint(region, unit)
    return shown(image[None]), verdict(models, image[None], target)


def undo(painter, models, target):
    """Step the painter back one stroke. Returns `(image, verdict)`."""
    image = painter.undo()
    return shown(image[None]), verdict(models, image[None], target)


def sample_label(labels, index):
    """The class name of test image `index`."""
    return CLASSES[int(labels[index])]


def check_index(index, count):
    """The test-image number picked on the page, checked."""
    try:
        value = int(index)
    except (TypeError, ValueError):
        value = -1
    if not 0 <= value < count or value != index:
        raise InputError(f"Expected a test image number in [0, {count - 1}]. Received: {index!r}")
    return value


