"""From a loaded checkpoint to the model's state dict: which entry, which prefix, which normaliser.

MadryLab's `robustness` saves `{"model": state_dict, "optimizer", "schedule",
"epoch"}` of a DataParallel `AttackerModel`: the weights appear twice, under
`module.model.` and `module.attacker.model.` (the same tensors), beside the
normaliser's `module.normalizer.new_mean` / `new_std` buffers of shape
`(3, 1, 1)`. RobustBench files are bare state dicts, sometimes under
`state_dict` and with `module.` prefixes.
"""

import numpy as np

_STATE_KEYS = ("model", "state_dict", "net", "model_state_dict")
_NORMALIZERS = ("normalizer.", "attacker.normalize.")
_MODEL_PREFIXES = ("model.", "attacker.model.")


def _is_state(obj):
    return isinstance(obj, dict) and obj and all(isinstance(k, str) for k in obj) \
        and any(isinstance(v, np.ndarray) for v in obj.values())


def find_state_dict(obj, source):
    """The dict of arrays inside a checkpoint (itself, or under "model", "state_dict", "net")."""
    if isinstance(obj, dict):
        for key in _STATE_KEYS:
            if _is_state(obj.get(key)):
                return obj[key]
    if _is_state(obj):
        return obj
    keys = sorted(map(str, obj)) if isinstance(obj, dict) else type(obj).__name__
    raise ValueError(f"Expected a checkpoint holding a state dict (itself or under {list(_STATE_KEYS)}). "
                     f"Received: {source} holding {str(keys)[:200]}")


def _strip(state, prefix):
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def split_state_dict(state, source):
    """The model's own arrays (prefixes removed) and the normaliser's `(mean, std)` or `None`.

    Args:
        state: a state dict of numpy arrays.
        source: the file name, for messages.

    Returns:
        `(weights, normalizer)`: `{torch key: array}` and `(mean, std)` tuples of floats, or `None`.

    Example:
        >>> weights, (mean, std) = split_state_dict(find_state_dict(checkpoint, path), path)
    """
    state = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    if all(k.startswith("module.") for k in state):
        state = _strip(state, "module.")
    normalizer = None
    for prefix in _NORMALIZERS:
        if f"{prefix}new_mean" in state and f"{prefix}new_std" in state:
            normalizer = tuple(tuple(float(v) for v in np.ravel(state[f"{prefix}new_{kind}"]))
                               for kind in ("mean", "std"))
            break
    if any(k.startswith(_MODEL_PREFIXES[0]) for k in state):  # MadryLab's AttackerModel
        weights = _strip(state, _MODEL_PREFIXES[0])
        copy = _strip(state, _MODEL_PREFIXES[1])
        for key, value in copy.items():
            if key in weights and not np.array_equal(weights[key], value):
                raise ValueError(f"Expected `module.attacker.model.{key}` to equal `module.model.{key}` in {source} "
                                 "(one model saved twice). Received: different arrays (corrupted or edited file)")
        return weights, normalizer
    return state, normalizer
