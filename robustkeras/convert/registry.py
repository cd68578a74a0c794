"""The user's folder of converted models: `<name>.weights.h5` and `<name>.json` (architecture, sha256, source).

The folder is `$ROBUSTKERAS_MODELS` if set, else `$XDG_CACHE_HOME/robustkeras/models`
(`~/.cache/robustkeras/models`): a user folder, never the installed package.
`robustkeras.pretrained.load(name)` reads it after the shipped manifest.
"""

import json
import os
import re
import tempfile
from pathlib import Path

from robustkeras import _io

ENV_VAR = "ROBUSTKERAS_MODELS"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def folder():
    """The registry folder (not created)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "robustkeras" / "models"


def check_name(name):
    """A model name that is also a safe file name."""
    if not isinstance(name, str) or not _NAME.match(name) or name.endswith((".json", ".h5")):
        raise ValueError("Expected `name` of letters, digits, '_', '.', '-' (at most 100, no extension). "
                         f"Received: name={name!r}")
    from robustkeras.pretrained import manifest

    if name in manifest():  # pretrained.load reads the shipped models first: this one could never be loaded
        raise ValueError(f"Expected `name` other than a shipped model's. Received: name={name!r} "
                         "(pretrained.load would return the shipped model; choose another name)")
    return name


def entries():
    """`{name: entry}` of every converted model in the folder (entries point at their weights files)."""
    out = {}
    base = folder()
    if not base.is_dir():
        return out
    for path in sorted(base.glob("*.json")):
        try:
            entry = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(entry, dict) and isinstance(entry.get("arch"), str):  # weights beside it, whatever "file" says
            out[path.stem] = {**entry, "path": str(path.with_name(f"{path.stem}.weights.h5"))}
    return out


def check_writable():
    """The registry folder, created; a clear error if it cannot hold files (checked before a conversion)."""
    base = folder()
    try:
        base.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=base):
            pass
    except OSError as err:
        raise PermissionError(f"Expected a writable registry folder (${ENV_VAR}, else ~/.cache/robustkeras/models). "
                              f"Received: {str(base)!r} ({err.strerror or err}); set {ENV_VAR} to a folder of "
                              "yours or pass register=False") from None
    return base


def entry_for_weights(path):
    """The entry of a weights file written by `register` (its `<name>.json` beside it), or `None`."""
    path = Path(path)
    if not path.name.endswith(".weights.h5"):
        return None
    sidecar = path.with_name(path.name[: -len(".weights.h5")] + ".json")
    if not sidecar.is_file():
        return None
    try:
        entry = json.loads(sidecar.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return {**entry, "path": str(path)} if isinstance(entry, dict) and "arch" in entry else None


def register(name, model, entry):
    """Save `model`'s weights as `<name>.weights.h5` with `entry` and the file's sha256 as `<name>.json`.

    Returns:
        The weights file's path.
    """
    from robustkeras.pretrained import sha256

    name = check_name(name)
    base = folder()
    weights = base / f"{name}.weights.h5"
    with _io.atomic_path(weights) as tmp:
        model.save_weights(tmp)
        digest = sha256(tmp)
    record = {**entry, "file": weights.name, "sha256": digest}
    _io.write_text(base / f"{name}.json", json.dumps(record, indent=1, sort_keys=True) + "\n")
    return weights
