"""Keras classifier -> full-integer int8 TensorFlow Lite flatbuffer, calibrated on given images.

The conversion is TensorFlow's (`tf.lite.TFLiteConverter`, post-training
quantisation with a representative dataset): per-channel symmetric int8
weights, batch norms folded into the convolutions, per-tensor int8 activations
whose grids come from the calibration images' ranges, int8 input and output.
It traces the model on the TensorFlow backend; under the JAX backend the model
is saved and converted in a TensorFlow-backend subprocess (`python -m
robustkeras.models.tflite_convert`), which needs TensorFlow installed.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def tensorflow(purpose="Quantising to int8 uses TensorFlow Lite's converter"):
    """The `tensorflow` module, or an ImportError saying what needs it (the Keras backend may be JAX)."""
    try:
        import tensorflow as tf
    except ImportError as err:
        raise ImportError(f"{purpose}: install TensorFlow (pip install tensorflow); the Keras backend may "
                          "still be JAX.") from err
    return tf


def _representative(calibration, batch_size):
    """Calibration batches whose pixels span all of [0, 1].

    The converter sets the int8 input grid from the smallest and largest
    calibration pixel: calibration images that never reach 0 or 1 would give a
    narrower grid, and every brighter (or darker) pixel met later would be
    clipped without a word, hiding part of the ball from an attack as well.
    One pixel of the first image is set to 0 and one to 1 where needed, which
    barely moves any activation range.
    """
    calibration = np.array(calibration, np.float32)
    flat = calibration[0].reshape(-1)
    if calibration.min() > 0:
        flat[0] = 0.0
    if calibration.max() < 1:
        flat[-1] = 1.0
    calibration[0] = flat.reshape(calibration.shape[1:])
    return lambda: ([calibration[i:i + batch_size]] for i in range(0, len(calibration), batch_size))


def convert_here(model, calibration, batch_size):
    """Convert on the TensorFlow backend (this process). Returns flatbuffer bytes."""
    tf = tensorflow()
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from robustkeras.models.introspect import logits_model

    model = logits_model(model)  # here, not in the caller: the JAX path saves the original model
    spec = tf.TensorSpec((None, *calibration.shape[1:]), tf.float32)
    forward = tf.function(lambda t: model(t, training=False), autograph=False)
    # Frozen to constants: the converter then sees weights it can fold and quantise (and no variable reads).
    frozen = convert_variables_to_constants_v2(forward.get_concrete_function(spec))
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = _representative(calibration, batch_size)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]  # integer kernels only
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return bytes(converter.convert())


def convert_in_subprocess(model, calibration, batch_size):
    """Convert a (JAX-backend) model in a TensorFlow-backend subprocess. Returns flatbuffer bytes."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        try:
            model.save(folder / "model.keras")  # the Keras format is the same on every backend
        except NotImplementedError as err:
            raise ValueError("Expected `model` to be savable with model.save (the JAX backend converts it in a "
                             "TensorFlow subprocess): give each custom layer a get_config, or quantise under "
                             f"KERAS_BACKEND=tensorflow. Received: {err}") from err
        np.save(folder / "calibration.npy", calibration)
        env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
        done = subprocess.run([sys.executable, "-m", "robustkeras.models.tflite_convert", str(folder), str(batch_size)],
                              env=env, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-5:])
            raise RuntimeError("The TensorFlow-backend conversion subprocess failed. It needs TensorFlow installed "
                               "and reloads the model with keras.saving.load_model, so every custom layer must be "
                               "registered (keras.saving.register_keras_serializable) in a module it can import; "
                               "or quantise under KERAS_BACKEND=tensorflow. Its last lines:\n" + tail)
        return (folder / "model.tflite").read_bytes()


def _main(folder, batch_size):
    import keras

    import robustkeras.models  # noqa: F401  (registers the library's layers for loading)

    folder = Path(folder)
    model = keras.saving.load_model(folder / "model.keras", compile=False)
    calibration = np.load(folder / "calibration.npy")
    (folder / "model.tflite").write_bytes(convert_here(model, calibration, int(batch_size)))


if __name__ == "__main__":
    _main(*sys.argv[1:3])
