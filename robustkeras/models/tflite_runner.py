"""Run an int8 TensorFlow Lite classifier like a model: [0, 1] float images in, float logits out, batched.

`TFLiteClassifier` quantises the images onto the model's input grid, runs the
TensorFlow Lite interpreter on batches, and dequantises the int8 logits. It is
a plain callable, which the library accepts wherever it takes a classifier for
forward passes only: `evaluate.clean_accuracy`, `evaluate.predict_logits`, and
the score-based `attacks.square`. Inside compiled code (`tf.function`,
`jax.jit`) it calls back into Python (`tf.numpy_function`, `jax.pure_callback`),
so Square's compiled search loop queries the real integer kernels; TensorFlow's
XLA (`jit_compile=True`) cannot call back and refuses it. It has no gradients:
PGD and synthesis run on the twin (`models.int8_twin`).

Running it needs TensorFlow's interpreter (`tf.lite.Interpreter`) or LiteRT
(`ai_edge_litert`); the Keras backend may be JAX.
"""

import threading
import warnings

import numpy as np

from robustkeras import _checks


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter  # TensorFlow Lite's successor, where installed
        return Interpreter
    except ImportError:
        pass
    from robustkeras.models.tflite_convert import tensorflow

    return tensorflow("Running an int8 TensorFlow Lite model needs LiteRT (pip install ai-edge-litert) or "
                      "TensorFlow's interpreter").lite.Interpreter


class TFLiteClassifier:
    """A TensorFlow Lite image classifier as a callable `x -> logits` on [0, 1] float images.

    Args:
        flatbuffer: bytes of a TensorFlow Lite model with one image input and one logits output.
        num_threads: interpreter threads.
        batch_size: images per interpreter call.

    Example:
        >>> deployable = TFLiteClassifier(quantize(model, "int8", calibration=x).flatbuffer, num_threads=2)
        >>> logits = deployable(x)                      # numpy float32 (N, classes)
        >>> x_adv = attacks.square(deployable, x, y, norm="l2", eps=0.5, queries=1000)
    """

    differentiable = False  # gradient attacks and synthesis refuse it up front (`_checks.classifier`)
    no_gradients_hint = ("attack its twin (`QuantizedModel.twin`) with gradient attacks, and this deployable "
                         "with `attacks.square`")

    def __init__(self, flatbuffer, *, num_threads=2, batch_size=100):
        self.flatbuffer = bytes(flatbuffer)
        self.batch_size = int(batch_size)
        with warnings.catch_warnings():  # tf.lite.Interpreter warns that LiteRT replaces it; it still runs
            warnings.simplefilter("ignore")
            self._interpreter = _interpreter_class()(model_content=self.flatbuffer, num_threads=int(num_threads))
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self.input_shape = tuple(int(d) for d in self._input["shape"][1:])
        self.num_classes = int(self._output["shape"][-1])
        self._rows = None
        self._lock = threading.Lock()  # one interpreter: callbacks from several threads take turns

    def _quantize(self, x):
        scale, zero = self._input["quantization"]
        dtype = self._input["dtype"]
        if not np.issubdtype(dtype, np.integer):
            return x.astype(dtype)
        info = np.iinfo(dtype)
        return np.clip(np.round(x / np.float32(scale) + zero), info.min, info.max).astype(dtype)

    def _dequantize(self, q):
        scale, zero = self._output["quantization"]
        if not np.issubdtype(q.dtype, np.integer):
            return q.astype(np.float32)
        return ((q.astype(np.float32) - zero) * np.float32(scale)).astype(np.float32)

    def _invoke(self, x):
        if self._rows != len(x):  # resizing re-plans the buffers: only when the batch size changes
            self._interpreter.resize_tensor_input(self._input["index"], [len(x), *self.input_shape])
            self._interpreter.allocate_tensors()
            self._rows = len(x)
        self._interpreter.set_tensor(self._input["index"], self._quantize(x))
        self._interpreter.invoke()
        return self._dequantize(self._interpreter.get_tensor(self._output["index"]))

    def predict(self, x):
        """Float32 logits `(N, classes)` of numpy images `(N, H, W, C)` in [0, 1], in batches."""
        x = np.asarray(x)
        if x.ndim != 4 or x.shape[1:] != self.input_shape:
            raise ValueError(f"Expected `x` of shape (N, {', '.join(map(str, self.input_shape))}) for this model. "
                             f"Received: x.shape={x.shape}")
        if len(x) == 0:
            return np.zeros((0, self.num_classes), np.float32)
        x = _checks.images("x", x, channels=self.input_shape[-1])  # the int8 grid would clip 0-255 pixels silently
        with self._lock:
            parts = [self._invoke(x[i:i + self.batch_size]) for i in range(0, len(x), self.batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, self.num_classes), np.float32)

    def __call__(self, x, training=False):
        """Logits of `x`: numpy for numpy or eager input; a callback inside `tf.function` or `jax.jit`."""
        import keras

        if keras.backend.backend() == "jax":
            import jax

            if isinstance(x, jax.core.Tracer):
                return _jax_callback(self, x)
        elif _is_tf_tensor(x):  # traced, or eager under a GradientTape: the callback raises the clear error
            return _tf_callback(self, x)
        return self.predict(keras.ops.convert_to_numpy(x))


_NO_GRADIENT = ("Expected a differentiable model: the int8 TensorFlow Lite model has no gradients. Attack its twin "
                "(`QuantizedModel.twin`) with gradient attacks, and the deployable with `attacks.square`.")


def _is_tf_tensor(x):
    import tensorflow as tf

    return isinstance(x, (tf.Tensor, tf.Variable))


def _tf_callback(classifier, x):
    import tensorflow as tf

    @tf.custom_gradient
    def logits(t):
        out = tf.numpy_function(classifier.predict, [t], tf.float32, stateful=False)
        out.set_shape((t.shape[0], classifier.num_classes))

        def gradient(upstream):  # a clear error instead of a None gradient failing later
            raise ValueError(_NO_GRADIENT)

        return out, gradient

    return logits(x)


def _jax_callback(classifier, x):
    import jax

    @jax.custom_jvp
    def logits(t):
        out = jax.ShapeDtypeStruct((t.shape[0], classifier.num_classes), np.float32)
        return jax.pure_callback(classifier.predict, out, t, vmap_method="sequential")

    @logits.defjvp
    def _(primals, tangents):
        raise ValueError(_NO_GRADIENT)

    return logits(x)
