"""Interactive feature manipulation: paint a region, grow a penultimate-layer feature there."""

import numpy as np

from robustkeras import _checks
from robustkeras.models import introspect
from robustkeras.models.introspect import feature_model
from robustkeras.synthesis import optimizer
from robustkeras.synthesis.terms import feature_value, squared_distance


def feature_objective(params, x, logits, features):
    """Activation of the chosen unit minus `weight` times the squared change outside the region."""
    return feature_value(features, params["unit"]) - params["weight"] * squared_distance(
        x, params["reference"], params["keep"])


def manipulate(model, images, unit, region, *, steps=40, step_size=4.0, weight=10.0, radius=np.inf):
    """Maximise penultimate feature `unit` of each image, changing mostly the painted `region`.

    Args:
        model: robust classifier.
        images: float32 `(N, H, W, C)` in [0, 1], of the model's input shape.
        unit: int feature index (or one per image).
        region: `(N, H, W, 1)` or `(H, W, 1)`, 1 inside the painted region; an
            image with an empty region is returned unchanged.
        steps, step_size, radius: the optimizer.
        weight: weight of the consistency term outside the region.

    Returns:
        `SynthesisResult` (`extras`: `unit`, `region`).

    Example:
        >>> out = manipulate(model, x[:1], unit=17, region=make_mask("center", 1)).images
    """
    spec = optimizer.checked_model(model)
    images = _checks.images_for(spec, "images", images, model=model)
    width = feature_model(model).outputs[1].shape[-1]
    units = _checks.targets("unit", unit, n=len(images), num_classes=width, what="feature index")
    region = _checks.mask("region", region, images.shape)
    weight = _checks.non_negative("weight", weight)
    steps, step_size, radius = optimizer.check_settings(steps, step_size, radius)
    params = {"unit": units, "reference": images, "keep": 1.0 - region, "weight": np.float32(weight)}
    result = optimizer.run(model, images, objective=feature_objective, params=params, steps=steps,
                           step_size=step_size, radius=radius)
    empty = ~np.any(region > 0, axis=(1, 2, 3))  # nothing painted: the image stays exactly as it was
    result.images[empty] = images[empty]
    result.extras.update(unit=units, region=np.ascontiguousarray(region))
    return result


class FeaturePainter:
    """The state behind a notebook widget: one image, painted step by step, with undo.

    Example:
        >>> painter = FeaturePainter(model, x[0])
        >>> unit = painter.top_units(class_id=7)[0]
        >>> painter.paint(region, unit)
        >>> painter.image.shape
        (32, 32, 3)
    """

    def __init__(self, model, image):
        spec = optimizer.checked_model(model)
        if np.ndim(image) != 3:
            raise ValueError(f"Expected `image` of shape (H, W, C). Received: image.shape={np.shape(image)}")
        self.model = model
        self.history = [_checks.images_for(spec, "image", np.asarray(image)[None], model=model)[0]]

    @property
    def image(self):
        """The current image."""
        return self.history[-1]

    def top_units(self, class_id=None, k=5):
        """Units that most raise `class_id`'s logit (head weight), or the most active ones now."""
        k = _checks.positive_int("k", k)
        if class_id is not None:
            weights = introspect.head_weights(self.model)
            _checks.class_id("class_id", class_id, weights.shape[1])
            return list(np.argsort(-weights[:, class_id])[:k])
        _, features = feature_model(self.model)(self.image[None], training=False)
        return list(np.argsort(-np.asarray(features)[0])[:k])

    def paint(self, region, unit, *, steps=20, step_size=4.0, weight=10.0):
        """Grow `unit` inside `region` (H, W, 1) and return the new image."""
        result = manipulate(self.model, self.image[None], unit, np.asarray(region, np.float32)[None],
                            steps=steps, step_size=step_size, weight=weight)
        self.history.append(result.images[0])
        return self.image

    def undo(self):
        """Go back one paint stroke (never past the original)."""
        if len(self.history) > 1:
            self.history.pop()
        return self.image

    def prediction(self):
        """Current class probabilities."""
        logits = np.asarray(feature_model(self.model)(self.image[None], training=False)[0], np.float32)[0]
        e = np.exp(logits - logits.max())
        return e / e.sum()
