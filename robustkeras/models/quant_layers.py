"""Fake-quantisation layers of the int8 twin: float arithmetic on int8 grids, straight-through gradients.

The twin (`models.int8_twin`) computes every operation of an int8 TensorFlow
Lite model in float32 on dequantised weights, then rounds the result onto the
op's int8 output grid (`FakeQuant`), as the integer kernels do. Rounding has no
useful derivative, so gradients pass straight through the rounding (the
straight-through estimator) but stop where the value is clipped to the int8
range, exactly as `tf.quantization.fake_quant_with_min_max_vars` defines them.
Attacks and synthesis then run on the twin like on any Keras classifier.

Every layer is written in `keras.ops`: the twin runs on TensorFlow and JAX.
"""

import keras
from keras import ops

# Fused activations of TensorFlow Lite ops (schema `ActivationFunctionType`): clip bounds in real units.
ACTIVATIONS = {"none": (None, None), "relu": (0.0, None), "relu_n1_to_1": (-1.0, 1.0), "relu6": (0.0, 6.0)}


@keras.saving.register_keras_serializable(package="robustkeras")
class FakeQuant(keras.layers.Layer):
    """Rounds its input onto one int8 grid `(q - zero_point) * scale`, q in [-128, 127].

    Args:
        scale: the grid step (per tensor, a positive float).
        zero_point: the integer that stands for 0.0.
        activation: a fused activation applied first ("none", "relu", "relu6", "relu_n1_to_1").

    Example:
        >>> FakeQuant(0.1, -128, activation="relu")(np.array([[-1.0, 0.26, 99.0]], "float32"))
        array([[ 0. ,  0.3, 25.5]], dtype=float32)
    """

    def __init__(self, scale, zero_point, activation="none", **kwargs):
        super().__init__(**kwargs)
        self.scale, self.zero_point, self.activation = float(scale), int(zero_point), activation
        low, high = ACTIVATIONS[activation]
        # The clip range is the int8 range, narrowed by the activation (as the integer kernels do).
        self.low, self.high = (-128 - self.zero_point) * self.scale, (127 - self.zero_point) * self.scale
        self.low = self.low if low is None else max(low, self.low)
        self.high = self.high if high is None else min(high, self.high)

    def call(self, x):
        clipped = ops.clip(x, self.low, self.high)
        # Rounded after the shift by z, as the integer kernels quantise (the two differ only on exact ties).
        q = ops.round(clipped / self.scale + self.zero_point) - self.zero_point
        return clipped + ops.stop_gradient(q * self.scale - clipped)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "zero_point": self.zero_point,
                "activation": self.activation}


@keras.saving.register_keras_serializable(package="robustkeras")
class ConstantArithmetic(keras.layers.Layer):
    """`x + c`, `x - c`, `c - x`, `x * c`, `max(x, c)` or `min(x, c)` with a constant `c` (broadcast).

    E.g. the input standardisation, or a clipped ReLU.

    Args:
        op: "add", "sub", "mul", "max" or "min".
        constant: the dequantised constant (a nested list or array).
        constant_first: `c - x` instead of `x - c` (only matters for "sub").
    """

    def __init__(self, op, constant, constant_first=False, **kwargs):
        super().__init__(**kwargs)
        self.op, self.constant_first = op, bool(constant_first)
        self.constant = ops.convert_to_numpy(constant).astype("float32").tolist()

    def call(self, x):
        c = ops.convert_to_tensor(self.constant, dtype=x.dtype)
        if self.op == "add":
            return x + c
        if self.op == "mul":
            return x * c
        if self.op in ("max", "min"):
            return (ops.maximum if self.op == "max" else ops.minimum)(x, c)
        return c - x if self.constant_first else x - c

    def get_config(self):
        return {**super().get_config(), "op": self.op, "constant": self.constant,
                "constant_first": self.constant_first}


@keras.saving.register_keras_serializable(package="robustkeras")
class Reduce(keras.layers.Layer):
    """Mean or max over `axes` (TensorFlow Lite's MEAN and REDUCE_MAX; over (1, 2), global pooling)."""

    def __init__(self, kind, axes, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.kind, self.axes, self.keepdims = kind, tuple(int(a) for a in axes), bool(keepdims)

    def call(self, x):
        reduce = ops.mean if self.kind == "mean" else ops.max
        return reduce(x, axis=self.axes, keepdims=self.keepdims)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "axes": self.axes, "keepdims": self.keepdims}


@keras.saving.register_keras_serializable(package="robustkeras")
class QuantDense(keras.layers.Dense):
    """A `Dense` layer whose output is rounded onto an int8 grid (the quantised FULLY_CONNECTED op).

    It stays a `keras.layers.Dense`, so the library finds the classifier head
    (penultimate features, head weights) of the twin as of any Keras model.

    Args:
        units: output width.
        scale, zero_point, activation: the output grid (see `FakeQuant`).
        **kwargs: passed to `Dense`.
    """

    def __init__(self, units, *, scale, zero_point, activation_fn="none", **kwargs):
        super().__init__(units, **kwargs)
        self.quantizer = FakeQuant(scale, zero_point, activation_fn, name="output_grid")

    def call(self, inputs):
        return self.quantizer(super().call(inputs))

    def get_config(self):
        q = self.quantizer
        return {**super().get_config(), "scale": q.scale, "zero_point": q.zero_point, "activation_fn": q.activation}
