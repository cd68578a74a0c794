"""Start TensorFlow without its start-up chatter on machines without a GPU (the CLI uses it).

TensorFlow's C++ side prints "Could not find cuda drivers", "oneDNN custom
operations are on" and "failed call to cuInit" while it loads and enumerates
devices, some before absl logging is initialised, so `TF_CPP_MIN_LOG_LEVEL`
cannot hide them (and `TF_ENABLE_ONEDNN_OPTS=0` would change the numerics).
`load_backend` imports the backend with file descriptor 2 redirected to a
temporary file, then writes back every line that is not known start-up noise.
"""

import os
import re
import sys
import tempfile

NOISE = re.compile(
    r"Could not find cuda drivers|oneDNN custom operations|failed call to cuInit|"
    r"All log messages before absl::InitializeLog|rebuild TensorFlow with the appropriate compiler flags|"
    r"This TensorFlow binary is optimized to use available CPU instructions|"
    r"Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered|"
    r"TF-TRT Warning|An NVIDIA GPU may be present on this machine")


def load_backend():
    """Import Keras and its backend (and list TensorFlow's devices) with the start-up noise filtered out.

    Returns:
        The lines that were dropped (for tests).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. some notebook frontends)
        import keras  # noqa: F401
        return []
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), fd)
        try:
            import keras

            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                tf.config.list_physical_devices()
            else:
                import jax

                jax.devices()
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
        capture.seek(0)
        text = capture.read().decode("utf-8", "replace")
    dropped = []
    for line in text.splitlines():
        if NOISE.search(line):
            dropped.append(line)
        elif line.strip():
            print(line, file=sys.stderr)
    return dropped
