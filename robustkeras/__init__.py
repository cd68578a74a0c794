"""robustkeras: image synthesis with a single adversarially robust Keras classifier."""

import os

# TensorFlow's C++ start-up chatter drowns the lesson in a notebook.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"


def _keras_backend():
    """`(backend, where it was set)` as Keras will resolve it, without importing Keras.

    Keras reads `KERAS_BACKEND`, then `keras.json` in `KERAS_HOME` (default
    `~/.keras`, or `/tmp/.keras` when the home folder is not writable), then
    defaults to TensorFlow. If Keras is already imported, its choice is final.
    """
    import sys

    if "keras" in sys.modules and hasattr(sys.modules["keras"], "backend"):
        return sys.modules["keras"].backend.backend(), "the imported keras"
    if "KERAS_BACKEND" in os.environ:
        return os.environ["KERAS_BACKEND"], "KERAS_BACKEND"
    home = os.environ.get("KERAS_HOME")
    if home is None:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    config = os.path.join(home, "keras.json")
    try:
        import json

        with open(config) as f:
            backend = json.load(f).get("backend")
    except (OSError, ValueError, AttributeError):
        return "tensorflow", "the default"
    return (backend, config) if isinstance(backend, str) else ("tensorflow", "the default")


# One library on two backends: refuse others before Keras tries to load them.
_BACKEND, _SOURCE = _keras_backend()
if _BACKEND not in ("tensorflow", "jax"):
    raise ImportError(
        f"robustkeras runs on the TensorFlow and JAX backends of Keras. Received: backend {_BACKEND!r} "
        f"(from {_SOURCE}); set KERAS_BACKEND=tensorflow or KERAS_BACKEND=jax"
        + ("" if _SOURCE == "KERAS_BACKEND" else f", or change \"backend\" in {_SOURCE}") + ".")
