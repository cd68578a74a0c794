"""What every result shows: the low-pass judge's verdict and the robust model's probability (as the tour)."""

import numpy as np

from robustkeras import metrics, synthesis
from robustkeras.data import CLASSES
from robustkeras.evaluate import predict_logits

LOW_PASS_FACTOR = 2  # the tour's low-pass judge


def judge_classes(judge, images):
    """The classes the low-pass judge sees in `images` (`metrics.judge_accuracy`'s decision, per image)."""
    return np.argmax(predict_logits(judge, metrics.low_pass(images, LOW_PASS_FACTOR)), axis=1)


def verdict(models, images, target):
    """One line per image: the low-pass judge's class (✓ when it is `target`) and the robust p(target).

    Args:
        models: `DemoModels`.
        images: float32 `(N, H, W, C)` in [0, 1].
        target: int, the class the images were made for.

    Returns:
        Markdown text.

    Example:
        >>> verdict(models, result.images, 3)
        'low-pass judge: **cat** ✓ · robust p(cat) = 0.93'
    """
    seen = judge_classes(models.judge, images)
    probs = synthesis.class_probability(models.robust, images, np.full(len(images), target))
    name = CLASSES[target]
    lines = [f"low-pass judge: **{CLASSES[s]}** {'✓' if s == target else '✗'} · robust p({name}) = {p:.2f}"
             for s, p in zip(seen, probs)]
    return "  \n".join(lines)
