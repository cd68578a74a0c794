"""Class-to-class translation: move a source image towards a target class inside an L2 ball."""

from robustkeras import _checks
from robustkeras.synthesis import optimizer
from robustkeras.synthesis.generation import class_objective

# Pairs whose shapes are close enough for a small edit to change the class.
PAIRS = (("horse", "deer"), ("automobile", "truck"), ("cat", "dog"), ("airplane", "bird"), ("ship", "airplane"))


def translate(model, images, target, *, steps=60, step_size=0.5, radius=6.0):
    """Translate `images` to the `target` classes (e.g. horse -> deer) within an L2 `radius`.

    Args:
        model: robust classifier.
        images: float32 `(N, H, W, C)` in [0, 1], of the model's input shape (source images).
        target: int `(N,)`: the class each image should show.
        steps, step_size, radius: the optimizer.

    Returns:
        `SynthesisResult` (`extras["target"]`).

    Example:
        >>> deer = translate(model, horses, np.full(len(horses), 4)).images
    """
    spec = optimizer.checked_model(model)
    images = _checks.images_for(spec, "images", images, model=model)
    target = _checks.labels("target", target, n=len(images), num_classes=spec.num_classes)
    return run_translation(model, images, target, *optimizer.check_settings(steps, step_size, radius))


def run_translation(model, images, target, steps, step_size, radius):
    """`translate` on checked arguments."""
    result = optimizer.run(model, images, objective=class_objective, params={"target": target},
                           steps=steps, step_size=step_size, radius=radius)
    result.extras["target"] = target
    return result
