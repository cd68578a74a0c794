"""Model registry: architectures by name, weights through `robustkeras.pretrained`."""

from robustkeras import _checks
from robustkeras import backend as _backend  # noqa: F401  (refuses unsupported Keras backends at import)
from robustkeras.models.fastnet import fastnet
from robustkeras.models.introspect import feature_model, logits_model, pixel_model
from robustkeras.models.layers import Standardize
from robustkeras.models.int8_twin import int8_twin
from robustkeras.models.mobilenet import mobilenetv2_cifar
from robustkeras.models.quantize import QuantizedModel, quantize
from robustkeras.models.resnet import resnet18_cifar
from robustkeras.models.tflite_runner import TFLiteClassifier
from robustkeras.models.torch_layout import TORCH_ARCHITECTURES

ARCHITECTURES = {
    "fastnet": fastnet,
    "fastnet_small": lambda **kw: fastnet(widths=(16, 32, 64, 128), name="fastnet_small", **kw),
    "resnet18_cifar": resnet18_cifar,
    "mobilenetv2_cifar": mobilenetv2_cifar,
    **TORCH_ARCHITECTURES,  # torchvision / RobustBench layouts, filled by from_torch
}


def from_torch(path, arch, **kwargs):
    """A PyTorch checkpoint as a Keras model (see `robustkeras.convert.from_torch`, which this calls).

    Example:
        >>> model = from_torch("imagenet_l2_3_0.pt", arch="resnet50_imagenet", name="madry_l2_3")
    """
    from robustkeras.convert import from_torch as convert  # lazy: convert imports models

    return convert(path, arch, **kwargs)


def get_model(name, weights=None, **kwargs):
    """Build an architecture by name, optionally loading registered weights.

    Args:
        name: one of `ARCHITECTURES` ("fastnet", "fastnet_small", "resnet18_cifar",
            "mobilenetv2_cifar", and
            the PyTorch layouts "resnet18_imagenet", "resnet50_imagenet", "preact_resnet18",
            "wide_resnet28_10", "wide_resnet34_10").
        weights: `None` for random initialisation, or the name of a pretrained
            model of this architecture (see `robustkeras.pretrained.available()`).
        **kwargs: passed to the architecture (e.g. `num_classes`).

    Returns:
        A `keras.Model` returning logits for inputs in [0, 1].

    Example:
        >>> model = get_model("fastnet")
        >>> robust = get_model("fastnet", weights="fastnet_l2_robust")
    """
    name = _checks.one_of("name", name, ARCHITECTURES)
    if weights is not None:
        if kwargs:  # the weights fix the architecture's arguments; silently ignoring them would mislead
            raise ValueError(f"Expected no architecture arguments with `weights`. Received: {sorted(kwargs)} "
                             f"with weights={weights!r}")
        from robustkeras import pretrained  # the one lazy import between the two (pretrained imports models)

        entries = pretrained.manifest()
        _checks.one_of("weights", weights, entries)
        if entries[weights]["arch"] != name:
            raise ValueError(f"Expected `weights` of architecture `{name}`. "
                             f"Received: weights={weights!r} is a {entries[weights]['arch']}")
        return pretrained.load(weights, expected_arch=name)
    return ARCHITECTURES[name](**kwargs)


__all__ = ["get_model", "from_torch", "ARCHITECTURES", "fastnet", "resnet18_cifar", "mobilenetv2_cifar", "Standardize",
           "feature_model", "logits_model", "pixel_model", "quantize", "QuantizedModel", "int8_twin",
           "TFLiteClassifier"]
