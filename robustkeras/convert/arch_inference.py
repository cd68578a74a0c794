"""Architecture arguments (widths, depth, classes) read from a state dict's shapes."""

_FINAL = {"resnet18_imagenet": "fc", "resnet50_imagenet": "fc", "preact_resnet18": "linear",
          "wide_resnet28_10": "fc", "wide_resnet34_10": "fc"}


def _shape(state, key, arch, source):
    if key not in state:
        raise ValueError(f"Expected the state dict of a {arch} (with `{key}`) in {source}. Received: keys "
                         f"{sorted(state)[:5]}... (another architecture? pass the right `arch`)")
    return state[key].shape


def infer_arch_kwargs(arch, state, source="state dict"):
    """`num_classes` and the widths (or depth and widen factor) of `arch` that `state` was saved from.

    Args:
        arch: a key of `robustkeras.models.torch_layout.TORCH_ARCHITECTURES`.
        state: `{torch key: array}` without prefixes.
        source: the file name, for messages.

    Returns:
        dict of keyword arguments for the architecture.

    Example:
        >>> infer_arch_kwargs("resnet50_imagenet", weights)
        {'num_classes': 1000, 'widths': [64, 128, 256, 512]}
    """
    kwargs = {"num_classes": int(_shape(state, f"{_FINAL[arch]}.weight", arch, source)[0])}
    if arch.startswith("wide_resnet"):
        blocks = sum(1 for k in state if k.startswith("block1.layer.") and k.endswith(".conv1.weight"))
        kwargs["depth"] = 6 * blocks + 4
        kwargs["widen_factor"] = int(_shape(state, "block1.layer.0.conv1.weight", arch, source)[0]) // 16
    else:
        kwargs["widths"] = [int(_shape(state, f"layer{i}.0.conv1.weight", arch, source)[0]) for i in range(1, 5)]
    return kwargs
