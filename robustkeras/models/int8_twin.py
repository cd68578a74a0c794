"""The fake-quantised Keras twin of an int8 TensorFlow Lite model: same arithmetic, with gradients.

`int8_twin(flatbuffer)` walks the int8 model's operators in run order and
builds one Keras layer per operator on the dequantised int8 weights
(per-channel symmetric, as stored), each followed by rounding onto the
operator's int8 output grid (`quant_layers.FakeQuant`). The forward pass thus
follows the integer kernels up to their fixed-point rounding (measured
agreement in `benchmarks/quantize_int8.py`), and gradients flow by the
straight-through estimator, so PGD and every synthesis task run on it. The
final FULLY_CONNECTED op becomes a `Dense` subclass: the library finds the
twin's penultimate features and head as for any Keras classifier.

Supported operators: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, SUB,
MUL, MAXIMUM, MINIMUM, MAX_POOL_2D, AVERAGE_POOL_2D, MEAN, REDUCE_MAX,
RESHAPE, PAD, CONCATENATION, QUANTIZE, DEQUANTIZE, RELU, RELU6, TANH, LOGISTIC,
and the int32 shape arithmetic of Flatten (what the usual Keras convolutional
classifiers convert to); another raises a ValueError naming it.
"""

import keras
import numpy as np

from robustkeras.models.quant_layers import ConstantArithmetic, FakeQuant, QuantDense, Reduce
from robustkeras.models.tflite_graph import Graph

_PADDING = {0: "same", 1: "valid"}  # schema Padding


def _conv(graph, op, x):
    w = graph.tensors[op.inputs[1]].value()  # (out, kh, kw, in)
    bias = _bias(graph, op)
    o = op.options
    layer = keras.layers.Conv2D(w.shape[0], w.shape[1:3], strides=(o.strideH, o.strideW), padding=_PADDING[o.padding],
                                dilation_rate=(o.dilationHFactor, o.dilationWFactor), use_bias=bias is not None,
                                trainable=False)
    return _with_weights(layer, x, [w.transpose(1, 2, 3, 0)], bias)


def _depthwise(graph, op, x):
    w = graph.tensors[op.inputs[1]].value()[0]  # (kh, kw, in * multiplier)
    bias = _bias(graph, op)
    o = op.options
    channels = x.shape[-1]
    layer = keras.layers.DepthwiseConv2D(w.shape[:2], strides=(o.strideH, o.strideW), padding=_PADDING[o.padding],
                                         depth_multiplier=o.depthMultiplier or w.shape[-1] // channels,
                                         dilation_rate=(o.dilationHFactor, o.dilationWFactor),
                                         use_bias=bias is not None, trainable=False)
    return _with_weights(layer, x, [w.reshape(w.shape[0], w.shape[1], channels, -1)], bias)


def _bias(graph, op):
    present = len(op.inputs) > 2 and op.inputs[2] >= 0
    return graph.tensors[op.inputs[2]].value() if present else None


def _with_weights(layer, x, weights, bias):
    y = layer(x)
    layer.set_weights(weights + ([] if bias is None else [bias]))
    return y


def _pool(kind):
    def build(graph, op, x):
        o = op.options
        cls = keras.layers.MaxPooling2D if kind == "max" else keras.layers.AveragePooling2D
        return cls((o.filterHeight, o.filterWidth), strides=(o.strideH, o.strideW), padding=_PADDING[o.padding])(x)
    return build


def _reduce(kind):
    def build(graph, op, x):
        axes = np.atleast_1d(graph.tensors[op.inputs[1]].raw())
        return Reduce(kind, [int(a) % len(x.shape) for a in axes], keepdims=bool(op.options.keepDims))(x)
    return build


def _reshape(graph, op, x):
    shape = graph.tensors[op.outputs[0]].shape
    return keras.layers.Reshape(tuple(shape[1:]))(x)


def _pad(graph, op, x):
    pads = graph.tensors[op.inputs[1]].raw()
    if pads.shape != (4, 2) or pads[0].any() or pads[3].any():
        raise ValueError(f"Expected PAD of the two spatial axes in the int8 model. Received: paddings {pads.tolist()}")
    return keras.layers.ZeroPadding2D(tuple(map(tuple, pads[1:3].tolist())))(x)  # zero point = real 0.0


def _identity(graph, op, x):
    return x


def _activation(name):
    def build(graph, op, x):
        return keras.layers.Activation(name)(x)
    return build


_UNARY = {"CONV_2D": _conv, "DEPTHWISE_CONV_2D": _depthwise, "MAX_POOL_2D": _pool("max"),
          "AVERAGE_POOL_2D": _pool("average"), "MEAN": _reduce("mean"), "REDUCE_MAX": _reduce("max"),
          "RESHAPE": _reshape, "PAD": _pad, "QUANTIZE": _identity, "DEQUANTIZE": _identity,
          "RELU": _activation("relu"), "RELU6": _activation("relu6"), "TANH": _activation("tanh"),
          "LOGISTIC": _activation("sigmoid")}
_BINARY = {"ADD": ("add", keras.layers.Add), "SUB": ("sub", keras.layers.Subtract),
           "MUL": ("mul", keras.layers.Multiply), "MAXIMUM": ("max", keras.layers.Maximum),
           "MINIMUM": ("min", keras.layers.Minimum)}
# Flatten traced with a free batch size computes its target shape at run time (SHAPE, STRIDED_SLICE,
# PACK on int32 tensors); the twin's Reshape knows the shape already, so those ops are skipped.
_SHAPE_OPS = ("SHAPE", "STRIDED_SLICE", "PACK", "CONCATENATION", "GATHER", "SLICE")
SUPPORTED = sorted([*_UNARY, *_BINARY, "FULLY_CONNECTED", "CONCATENATION"])


def _binary(graph, op, values):
    name, merge = _BINARY[op.kind]
    a, b = (graph.tensors[i] for i in op.inputs[:2])
    if a.is_constant or b.is_constant:
        constant_first = a.is_constant
        const, var = (a, op.inputs[1]) if constant_first else (b, op.inputs[0])
        return ConstantArithmetic(name, const.value(), constant_first=constant_first)(values[var])
    return merge()([values[i] for i in op.inputs[:2]])


def _dense(graph, op, values):
    x = values[op.inputs[0]]
    w = graph.tensors[op.inputs[1]].value()  # (out, in)
    bias = _bias(graph, op)
    if len(x.shape) != 2:  # FULLY_CONNECTED flattens its input to (N, in) unless asked to keep it
        x = keras.layers.Reshape((w.shape[1],))(x)
    scale, zero = graph.tensors[op.outputs[0]].grid()
    layer = QuantDense(w.shape[0], scale=scale, zero_point=zero, activation_fn=op.activation,
                       use_bias=bias is not None, trainable=False)
    return _with_weights(layer, x, [w.T], bias)


def _output(graph, op, values):
    """The op's output before rounding, or None for ops that round themselves (FULLY_CONNECTED)."""
    if op.kind == "FULLY_CONNECTED":
        return None
    if op.kind in _BINARY:
        return _binary(graph, op, values)
    if op.kind == "CONCATENATION":
        return keras.layers.Concatenate(axis=op.options.axis)([values[i] for i in op.inputs])
    if op.kind not in _UNARY:
        raise ValueError(f"Expected an int8 model made of {SUPPORTED}: the twin has no layer for operator "
                         f"{op.kind} (replace the Keras layer that converts to it, e.g. Resizing -> "
                         f"RESIZE_BILINEAR, LayerNormalization -> NEG/RSQRT, dilated Conv2D -> SPACE_TO_BATCH_ND). "
                         f"Received: an operator {op.kind}")
    return _UNARY[op.kind](graph, op, values[op.inputs[0]])


def _grid(graph, index, x, activation="none"):
    """Round `x` onto the grid of tensor `index` (float tensors, e.g. after DEQUANTIZE, stay as they are)."""
    tensor = graph.tensors[index]
    if tensor.dtype not in (np.int8, np.uint8):
        return x
    scale, zero = tensor.grid()
    if tensor.dtype == np.uint8:  # a uint8 grid is the int8 grid shifted by 128
        zero -= 128
    return FakeQuant(scale, zero, activation)(x)


def int8_twin(flatbuffer, name="int8_twin"):
    """A Keras model computing what an int8 TensorFlow Lite classifier computes, with gradients.

    Needs TensorFlow installed to read the flatbuffer; the twin itself runs on
    the TensorFlow and JAX backends.

    Args:
        flatbuffer: bytes of a full-integer TensorFlow Lite model with one image input
            (int8, uint8 or float) and one logits output.
        name: the Keras model's name.

    Returns:
        A `keras.Model` taking [0, 1] images of the int8 model's input shape, returning
        float32 logits on the int8 model's output grid.

    Example:
        >>> twin = int8_twin(quantize(model, "int8", calibration=x).flatbuffer)
        >>> x_adv = attacks.pgd(twin, x, y, norm="l2", eps=0.5, step_size=0.0625, steps=20)
    """
    graph = Graph(flatbuffer)
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ValueError(f"Expected an int8 model with one input and one output. Received: {len(graph.inputs)} "
                         f"input(s) and {len(graph.outputs)} output(s)")
    inputs = keras.Input(graph.tensors[graph.inputs[0]].shape[1:])
    values = {graph.inputs[0]: _grid(graph, graph.inputs[0], inputs)}
    for op in graph.operators:
        if op.kind in _SHAPE_OPS and all(graph.tensors[i].dtype == np.int32 for i in op.outputs):
            continue
        raw = _output(graph, op, values)
        out = _dense(graph, op, values) if raw is None else _grid(graph, op.outputs[0], raw, op.activation)
        values[op.outputs[0]] = out
    return keras.Model(inputs, values[graph.outputs[0]], name=name)
