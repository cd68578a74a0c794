"""robustkeras: image synthesis with a single adversarially robust Keras classifier."""

import os

# TensorFlow's C++ start-up chatter drowns the lesson in a notebook.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

# One library on two backends: refuse others before Keras tries to load them.
if os.environ.get("KERAS_BACKEND", "tensorflow") not in ("tensorflow", "jax"):
    raise ImportError(
        "robustkeras runs on the TensorFlow and JAX backends of Keras. Received: KERAS_BACKEND="
        f"{os.environ['KERAS_BACKEND']!r}; set KERAS_BACKEND=tensorflow or KERAS_BACKEND=jax.")
