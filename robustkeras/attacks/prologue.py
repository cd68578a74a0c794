"""The checks every attack and evaluation runs first, written once.

`prologue(...)` is the first call of `pgd`, `fgsm`, `apgd`, `square`, `fab`,
`evaluate.robust_accuracy` and `evaluate.autoattack`: it checks the threat
model (`norm`, `eps`), the seed and counts (cheap, before any tensor work),
then the model, images, labels and targets, and returns them resolved in an
`AttackInputs`. So every attack refuses the same bad input with the same
message.

The conventions it enforces (docs/coming_from.md maps other libraries' onto them):

- `norm` is "l2" or "linf" (`2`, `np.inf` and "inf" are refused, naming the spelling).
- `eps` is in the units of [0, 1] pixels: an L-inf `eps` above 1 or an L2 `eps`
  above the image diameter `sqrt(H * W * C)` covers the whole box and is
  refused as out of range (the message suggests `eps / 255`).
- `y` holds the true class ids `(N,)` (or `(N, 1)`, as `keras.datasets` gives them): one-hot
  labels and `None` are refused.
- seeds are in [0, 2**31 - 1] and counts (steps, queries, restarts) in
  [1, 2**31 - 1], as compiled loops and random ops take int32.
"""

import numbers

import numpy as np

from robustkeras import _checks

INT32_MAX = 2**31 - 1
NORMS = ("l2", "linf")
_NORM_SPELLINGS = {2: "l2", "2": "l2", "l_2": "l2", "inf": "linf", "l_inf": "linf", "linfinity": "linf"}


def check_norm(value):
    """Require "l2" or "linf" (any case); other libraries' spellings are refused naming ours.

    Example:
        >>> check_norm("Linf")
        'linf'
    """
    key = value.lower() if isinstance(value, str) else value
    if key in NORMS:
        return key
    hint = ""
    try:
        if isinstance(key, numbers.Real) and not isinstance(key, bool) and np.isinf(key):
            hint = " (write norm='linf')"
        elif key in _NORM_SPELLINGS:
            hint = f" (write norm={_NORM_SPELLINGS[key]!r})"
    except TypeError:  # unhashable
        pass
    raise ValueError(f"Expected `norm` to be 'l2' or 'linf'. Received: norm={_checks._fmt(value)}{hint}")


def check_eps(norm_name, value, image_shape=None, *, optional=False):
    """Require a radius in range for [0, 1] images; return it as a float (or None if `optional`).

    L-inf: `eps` <= 1. L2: `eps` <= the diameter of the image box,
    `sqrt(H * W * C)` (checked when `image_shape` `(H, W, C)` is known).
    A larger radius covers every image: it is a forgotten `/ 255`.

    Example:
        >>> check_eps("linf", 8 / 255)
        0.03137254901960784
    """
    if value is None and optional:
        return None
    value = _checks.non_negative("eps", value)
    if norm_name == "linf":
        limit, what = 1.0, "1 (the L-inf diameter of [0, 1] images)"
    elif image_shape is not None and all(isinstance(d, numbers.Integral) for d in image_shape):
        limit = float(np.sqrt(np.prod(image_shape)))
        what = f"{limit:.4g} (the L2 diameter of [0, 1] images of shape {tuple(int(d) for d in image_shape)})"
    else:
        return value
    if value > limit:
        raise ValueError(f"Expected `eps` <= {what} for norm={norm_name!r}: pixels are in [0, 1]. "
                         f"Received: eps={value:g}; on a 0-255 scale write eps={value:g} / 255 = {value / 255:.4g}")
    return value


def check_seed(value, name="seed"):
    """Require an integer seed in [0, 2**31 - 1] (int32, as compiled random ops take it)."""
    return _checks.positive_int(name, value, minimum=0, maximum=INT32_MAX)


def check_count(name, value, minimum=1):
    """Require an integer count (steps, queries, restarts) in [minimum, 2**31 - 1]."""
    return _checks.positive_int(name, value, minimum=minimum, maximum=INT32_MAX)


def check_batch_size(value):
    """None (all images in one chunk) or a positive integer."""
    return None if value is None else check_count("batch_size", value)


def batch_seed(seed_value, index):
    """The seed of batch `index` of an evaluation seeded by `seed_value`, kept in int32 range."""
    return (seed_value + index) % (INT32_MAX + 1)


def chunks(n, size):
    """`[(start, stop), ...]` covering `range(n)` in pieces of `size` (one piece if `size` is None)."""
    size = n if size is None else size
    return [(a, min(a + size, n)) for a in range(0, n, max(size, 1))]


def check_labels(value, *, n, num_classes):
    """True class ids `(n,)`; `None` and one-hot labels are refused with the way to write them."""
    if value is None:
        raise ValueError("Expected `y` to hold the true class ids, one per image. Received: y=None (to attack "
                         "the model's own predictions write y=evaluate.predict_logits(model, x).argmax(1))")
    shape = np.shape(value)
    if len(shape) == 2 and shape[0] == n and shape[1] == num_classes:
        raise ValueError(f"Expected `y` to hold {n} class ids, shape ({n},). Received: y.shape={shape}, "
                         f"one-hot labels (write y.argmax(1))")
    if len(shape) == 2 and shape[0] == n and shape[1] == 1:  # keras.datasets' (N, 1) labels, as Keras' losses take
        value = np.reshape(value, (n,))
    return _checks.labels("y", value, n=n, num_classes=num_classes)


def _image_shape(x):
    shape = getattr(x, "shape", None)
    if shape is None:
        shape = np.shape(x)
    return tuple(shape[1:]) if len(shape) == 4 else None


class AttackInputs:
    """What `prologue` returns: the checked arguments of an attack or evaluation.

    Attributes:
        model: the model as given; `logits`: the same model on its logits (a final softmax removed).
        x: float32 numpy images; `y`: int32 true labels.
        norm, eps, seed, batch_size: the checked threat model, seed and chunk size.
        num_classes: the model's class count.
        target: int32 target ids `(N,)` given as `target=`, or None; `target_rank`: the rank asked for, or None.
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)
        self._clean = None

    def clean_logits(self):
        """Logits of `x` (float32 numpy), computed once, in chunks of `batch_size`."""
        if self._clean is None:
            from robustkeras import backend as B

            fn, state = B.inference_fn(self.logits)
            self._clean = np.concatenate([np.asarray(fn(state, self.x[a:b]), np.float32)
                                          for a, b in chunks(len(self.x), self.batch_size)])
        return self._clean

    @property
    def targeted(self):
        return self.target is not None or self.target_rank is not None

    def targets(self):
        """Int32 targets `(N,)`, or None (untargeted): the ids given, or the `target_rank`-th likeliest wrong class."""
        if self.target_rank is None:
            return self.target
        return rank_targets(self.y, self.clean_logits(), self.target_rank)


def rank_targets(y, logits, rank):
    """Per image the `rank`-th most likely class other than its true label `y` (1 = the likeliest).

    Example:
        >>> rank_targets(np.array([0]), np.array([[5.0, 1.0, 3.0]]), 1)
        array([2], dtype=int32)
    """
    wrong = np.where(np.eye(logits.shape[-1], dtype=bool)[y], -np.inf, logits)
    return np.argsort(-wrong, axis=1, kind="stable")[:, rank - 1].astype(np.int32)


def prologue(model, x, y, *, norm, eps, seed=0, num_classes=None, gradients=True, batch_size=None,
             target=None, target_rank=None, eps_optional=False):
    """Check and resolve what every attack and evaluation takes, before any tensor work.

    Scalars first (norm, eps, seed, batch size), then the model, the images
    (one forward pass on a model not seen before, to check that it returns
    logits), the labels and the targets.

    Args:
        model: a Keras classifier taking [0, 1] images.
        x, y: images `(N, H, W, C)` in [0, 1] and true class ids `(N,)`.
        norm, eps: the threat model ("l2" / "linf"; radius in [0, 1]-pixel units).
        seed: int32 seed; num_classes: optional, must equal the model's.
        gradients: the attack needs input gradients (refuses models without them).
        batch_size: images per compiled chunk, or None for one chunk.
        target: target class ids (one, or one per image), each differing from `y`.
        target_rank: instead of `target`, the rank of the likeliest wrong class to aim at (1 = likeliest).
        eps_optional: `eps=None` allowed (FAB's unbounded search).

    Returns:
        An `AttackInputs`.

    Example:
        >>> inputs = prologue(model, x, y, norm="l2", eps=0.5)
        >>> inputs.x.dtype, inputs.y.dtype
        (dtype('float32'), dtype('int32'))
    """
    from robustkeras.models.introspect import logits_model

    norm_name = check_norm(norm)
    eps_value = check_eps(norm_name, eps, _image_shape(x), optional=eps_optional)
    seed_value = check_seed(seed)
    chunk = check_batch_size(batch_size)
    if target is not None and target_rank is not None:
        raise ValueError(f"Expected either `target` or `target_rank`, not both. "
                         f"Received: target={_checks._fmt(target)} and target_rank={target_rank!r}")
    if target_rank is not None:
        target_rank = check_count("target_rank", target_rank)
    spec = _checks.classifier(model, num_classes=num_classes, gradients=gradients and eps_value != 0)
    x = _checks.images_for(spec, "x", x, model=model)
    y = check_labels(y, n=x.shape[0], num_classes=spec.num_classes)
    if target is not None:
        target = _checks.targets("target", target, n=x.shape[0], num_classes=spec.num_classes)
        _checks.targets_differ("target", target, y)
    if target_rank is not None and target_rank > spec.num_classes - 1:
        raise ValueError(f"Expected `target_rank` <= {spec.num_classes - 1} (the number of wrong classes). "
                         f"Received: target_rank={target_rank}")
    return AttackInputs(model=model, logits=logits_model(model), x=x, y=y, norm=norm_name, eps=eps_value,
                        seed=seed_value, batch_size=chunk, num_classes=spec.num_classes, target=target,
                        target_rank=target_rank)
