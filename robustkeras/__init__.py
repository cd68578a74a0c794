"""robustkeras: image synthesis with a single adversarially robust Keras classifier."""

import os

# TensorFlow's C++ start-up chatter drowns the lesson in a notebook.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
