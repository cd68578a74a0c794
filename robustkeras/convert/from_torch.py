"""`from_torch`: a PyTorch checkpoint (MadryLab, RobustBench, safetensors) as a Keras model, registered by name."""

import math
import numbers
import os
import warnings
import zipfile
from pathlib import Path

from robustkeras import _checks
from robustkeras.convert import registry
from robustkeras.convert.arch_inference import infer_arch_kwargs
from robustkeras.convert.checkpoint import find_state_dict, split_state_dict
from robustkeras.convert.safetensors_reader import load_safetensors
from robustkeras.convert.torch_pickle import load_torch_file
from robustkeras.convert.weight_copy import copy_state_dict
from robustkeras.models.torch_layout import IMAGENET_MEAN, IMAGENET_STD, TORCH_ARCHITECTURES


def read_checkpoint(path, *, skip_unsafe=False):
    """The arrays of a checkpoint file and how it was stored.

    Args:
        path: a `torch.save` file (zip or pre-1.6 format, `pickle` or `dill`) or a `.safetensors` file.
        skip_unsafe: see `from_torch`.

    Returns:
        `(object, format, skipped)`: the loaded object (tensors as numpy arrays), "torch-zip",
        "torch-legacy" or "safetensors", and the names of skipped objects.

    Example:
        >>> checkpoint, kind, _ = read_checkpoint("imagenet_l2_3_0.pt")
    """
    with open(path, "rb") as f:
        start = f.read(9)
    if zipfile.is_zipfile(path) or start.startswith(b"\x80"):
        obj, skipped = load_torch_file(path, skip_unsafe=skip_unsafe)
        return obj, "torch-zip" if zipfile.is_zipfile(path) else "torch-legacy", skipped
    if start.startswith(b"PK"):
        raise ValueError(f"Expected a PyTorch checkpoint (torch.save zip or pre-1.6 format). Received: {path} "
                         "(a zip archive without its directory: truncated or damaged; download it again)")
    if len(start) == 9 and start[8:9] == b"{":
        return load_safetensors(path), "safetensors", []
    raise ValueError(f"Expected a PyTorch checkpoint (torch.save zip or pre-1.6 format) or a safetensors file. "
                     f"Received: {path} starting with {start[:9]!r}")


def _default_name(path):
    stem = "".join(c if c.isalnum() or c in "_-" else "_" for c in Path(path).name.split(".")[0])
    return (stem or "model")[:100]


def from_torch(path, arch, *, name=None, input_shape=None, mean=None, std=None, register=True, skip_unsafe=False):
    """Convert a PyTorch checkpoint into a Keras model, without torch and without running pickle code.

    Reads MadryLab `robustness` checkpoints (the dict with `module.model.` /
    `module.attacker.model.` weights and the normaliser's buffers; zip or
    pre-1.6 format; written with `pickle` or `dill`), RobustBench state dicts
    and safetensors files. A checkpoint that asks its unpickler for anything
    but tensors and plain containers is refused (or, with `skip_unsafe=True`,
    those objects are replaced by inert stand-ins, never called). Widths and
    classes are read from the weights' shapes; every weight must be found.

    Args:
        path: the checkpoint file.
        arch: "resnet50_imagenet", "resnet18_imagenet", "preact_resnet18", "wide_resnet28_10" or
            "wide_resnet34_10" (the widths and depth are read from the file).
        name: name in the user registry (default: the file name without extension).
        input_shape: the model's input `(H, W, 3)` (default 224x224 for ImageNet, 32x32 for CIFAR).
        mean, std: normalisation inside the model; default: the checkpoint's normaliser if it has one,
            else ImageNet's for ImageNet architectures and none for the CIFAR ones (RobustBench's).
        register: write `<name>.weights.h5` and `<name>.json` (with its sha256) into the user registry
            (`robustkeras.convert.registry.folder()`), for `robustkeras.pretrained.load(name)`.
        skip_unsafe: skip (never call) objects other than tensors and containers instead of refusing the file.

    Returns:
        A `keras.Model` taking images in [0, 1] and returning logits.

    Example:
        >>> model = from_torch("imagenet_l2_3_0.pt", "resnet50_imagenet", name="madry_l2_3")
        >>> model = robustkeras.pretrained.load("madry_l2_3")
    """
    if not isinstance(path, (str, os.PathLike)) or not Path(path).is_file():
        raise FileNotFoundError(f"Expected `path` to be a checkpoint file. Received: path={path!r} (not a file)")
    arch = _checks.one_of("arch", arch, TORCH_ARCHITECTURES)
    name = registry.check_name(_default_name(path) if name is None else name)
    register = _checks.boolean("register", register)
    skip_unsafe = _checks.boolean("skip_unsafe", skip_unsafe)
    imagenet = arch.endswith("_imagenet")
    if input_shape is None:
        input_shape = (224, 224, 3) if imagenet else (32, 32, 3)
    if len(tuple(input_shape)) != 3 or tuple(input_shape)[2] != 3:
        raise ValueError(f"Expected `input_shape` (H, W, 3). Received: input_shape={input_shape!r}")
    input_shape = [_checks.positive_int("input_shape", s) for s in input_shape]
    if register:
        registry.check_writable()
    obj, kind, skipped = read_checkpoint(path, skip_unsafe=skip_unsafe)
    source = Path(path).name
    if skipped:
        warnings.warn(f"{source} asked for {sorted(set(skipped))[:10]}: skipped (never called, skip_unsafe=True); "
                      "only its tensors are converted", stacklevel=2)
    weights, normalizer = split_state_dict(find_state_dict(obj, source), source)
    default = (IMAGENET_MEAN, IMAGENET_STD) if imagenet else ((0.0,) * 3, (1.0,) * 3)
    file_mean, file_std = normalizer if normalizer is not None else default
    mean, std = (file_mean if mean is None else mean), (file_std if std is None else std)
    for arg, value in (("mean", mean), ("std", std)):
        if len(tuple(value)) != 3 or not all(isinstance(v, numbers.Real) and math.isfinite(v) for v in value) or (arg == "std" and min(value) <= 0):
            raise ValueError(f"Expected `{arg}` of 3 per-channel values{' > 0' if arg == 'std' else ''}. "
                             f"Received: {arg}={value!r}")
    kwargs = {**infer_arch_kwargs(arch, weights, source), "input_shape": input_shape,
              "mean": [float(v) for v in mean], "std": [float(v) for v in std]}
    model = TORCH_ARCHITECTURES[arch](**kwargs)
    copy_state_dict(model, weights, source)
    if register:
        from robustkeras.pretrained import sha256

        registry.register(name, model, {
            "arch": arch, "arch_kwargs": kwargs, "format": kind, "source": source,
            "source_sha256": sha256(path), "normalizer": "from the checkpoint" if normalizer else "default",
            "skipped": skipped, "converted_by": "robustkeras.models.from_torch"})
    return model
