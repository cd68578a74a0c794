"""The demo's models, loaded once per name: the robust one, the standard control and the judge."""

import dataclasses
import functools

import keras

from robustkeras import _checks, pretrained
from robustkeras.models.introspect import input_shape

DEFAULT_MODEL = "fastnet_l2_robust"


def robust_names():
    """Names the demo accepts: the pretrained robust models and their int8 twins (`name_int8`).

    Example:
        >>> "fastnet_l2_robust" in robust_names()
        True
    """
    robust = {name for name, entry in pretrained.manifest().items() if entry.get("role") == "robust"}
    return sorted(robust | {f"{name}_int8" for name in robust})


def check_name(name):
    """`name` if it is one of `robust_names()`, else a ValueError naming `model` and the choices."""
    return _checks.one_of("model", name, set(robust_names()))


@dataclasses.dataclass(frozen=True)
class DemoModels:
    """What every tab computes with.

    Attributes:
        name: the robust model's name.
        robust: the robust classifier (synthesis).
        standard: the standard classifier (the control beside generation and sketches).
        judge: an independently trained standard classifier (the low-pass judge).
        side: the input side in pixels (32).
        channels: input channels (3).
    """

    name: str
    robust: keras.Model
    standard: keras.Model
    judge: keras.Model
    side: int
    channels: int


@functools.lru_cache(maxsize=2)
def load(name=DEFAULT_MODEL):
    """Load the demo's three models once per process (later calls return the same objects).

    Args:
        name: one of `robust_names()`.

    Returns:
        `DemoModels`.

    Example:
        >>> models = load("fastnet_l2_robust")
        >>> models.side
        32
    """
    name = check_name(name)
    if name.endswith("_int8"):
        robust = pretrained.load_quantized(name[: -len("_int8")]).twin
    else:
        robust = pretrained.load(name)
    shape = input_shape(robust)
    return DemoModels(name=name, robust=robust, standard=pretrained.load("fastnet_standard"),
                      judge=pretrained.load("fastnet_judge"), side=int(shape[0]), channels=int(shape[-1]))
