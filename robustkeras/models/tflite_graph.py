"""Reading and compacting an int8 TensorFlow Lite flatbuffer: operators, tensors, grids, constants.

The twin is built from the flatbuffer itself (not from the float model), so
it takes the very weights, biases and activation grids the converter chose.
Reading uses TensorFlow's flatbuffer schema module: TensorFlow must be
installed (the Keras backend may be JAX).
"""

import numpy as np

from robustkeras.models.tflite_convert import tensorflow

_DTYPES = {0: np.float32, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}  # schema TensorType
_FUSED = {0: "none", 1: "relu", 2: "relu_n1_to_1", 3: "relu6"}  # schema ActivationFunctionType


def _schema():
    tensorflow("Reading an int8 TensorFlow Lite model needs TensorFlow's flatbuffer schema")
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    return schema, flatbuffer_utils


def _read(flatbuffer_utils, flatbuffer):
    if not isinstance(flatbuffer, (bytes, bytearray)) or bytes(flatbuffer[4:8]) != b"TFL3":
        head = bytes(flatbuffer[:8]) if isinstance(flatbuffer, (bytes, bytearray)) else type(flatbuffer).__name__
        raise ValueError("Expected `flatbuffer` to be the bytes of a TensorFlow Lite model (file identifier TFL3 "
                         f"at bytes 4-8). Received: {head!r}")
    return flatbuffer_utils.read_model_from_bytearray(bytearray(flatbuffer))


class Tensor:
    """One tensor of the graph: shape, int8 grid (`scale`, `zero_point`, per-channel `axis`), constant data."""

    def __init__(self, raw, buffers):
        self.shape = tuple(int(d) for d in raw.shape) if raw.shape is not None else ()
        self.dtype = _DTYPES.get(raw.type)
        q = raw.quantization
        self.scale = None if q is None or q.scale is None else np.asarray(q.scale, np.float64)
        self.zero_point = None if q is None or q.zeroPoint is None else np.asarray(q.zeroPoint, np.int64)
        self.axis = 0 if q is None else int(q.quantizedDimension)
        data = buffers[raw.buffer].data if raw.buffer < len(buffers) else None
        self.data = None if data is None or len(data) == 0 else np.asarray(data, np.uint8)

    @property
    def is_constant(self):
        return self.data is not None

    def grid(self):
        """`(scale, zero_point)` of a per-tensor grid (activations)."""
        if self.scale is None or self.scale.size != 1:
            raise ValueError(f"Expected a per-tensor int8 grid on an activation tensor. Received: scales {self.scale}")
        return float(self.scale[0]), int(self.zero_point[0])

    def raw(self):
        """The stored values, unscaled (int8/int32 codes or floats)."""
        return np.frombuffer(self.data.tobytes(), self.dtype).reshape(self.shape)

    def value(self):
        """The real values: `(code - zero_point) * scale`, per channel along `axis` where the grid is per channel."""
        codes = self.raw()
        if self.scale is None or self.dtype == np.float32:
            return codes.astype(np.float32)
        shape = [1] * codes.ndim
        if self.scale.size > 1:
            shape[self.axis] = self.scale.size
        zero = self.zero_point if self.zero_point is not None and self.zero_point.size else np.zeros(1, np.int64)
        real = (codes.astype(np.float64) - zero.reshape(shape)) * self.scale.reshape(shape)
        return real.astype(np.float32)


class Operator:
    """One operator: its kind ("CONV_2D", ...), input and output tensor ids (-1: absent), options, fused activation."""

    def __init__(self, kind, inputs, outputs, options):
        self.kind, self.inputs, self.outputs, self.options = kind, list(inputs), list(outputs), options
        code = getattr(options, "fusedActivationFunction", 0)
        if code not in _FUSED:
            raise ValueError(f"Expected a fused activation among {sorted(_FUSED.values())} in op {kind}. "
                             f"Received: activation code {code}")
        self.activation = _FUSED[code]


class Graph:
    """The single subgraph of a TensorFlow Lite model: `tensors`, `operators` in run order, `inputs`, `outputs`."""

    def __init__(self, flatbuffer):
        schema, flatbuffer_utils = _schema()
        model = _read(flatbuffer_utils, flatbuffer)
        if len(model.subgraphs) != 1:
            raise ValueError(f"Expected a TensorFlow Lite model with one subgraph. Received: {len(model.subgraphs)}")
        names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        # New op codes live in builtinCode, old ones (< 127) in deprecatedBuiltinCode: the larger is the real one.
        kinds = [names.get(max(c.builtinCode, c.deprecatedBuiltinCode), "CUSTOM") for c in model.operatorCodes]
        sub = model.subgraphs[0]
        self.tensors = [Tensor(t, model.buffers) for t in sub.tensors]
        self.operators = [Operator(kinds[op.opcodeIndex], op.inputs, op.outputs, op.builtinOptions)
                          for op in sub.operators]
        self.inputs, self.outputs = list(sub.inputs), list(sub.outputs)


def compact(flatbuffer):
    """The same model, smaller: tensor names dropped (signatures kept), identical zero-point vectors stored once.

    The converter writes one int64 zero point per channel of every weight and
    bias tensor (all zeros: the weights are symmetric), 8 bytes each; flatbuffers
    lets tables share one vector, so each distinct vector is written once.

    Args:
        flatbuffer: TensorFlow Lite model bytes.

    Returns:
        bytes of an equivalent model.
    """
    import flatbuffers

    _, flatbuffer_utils = _schema()
    model = _read(flatbuffer_utils, flatbuffer)
    # flatbuffer_utils.strip_strings would also drop the signatures that deployers call the model by.
    model.description = None
    for subgraph in model.subgraphs:
        subgraph.name = None
        for tensor in subgraph.tensors:
            tensor.name = None

    class SharingBuilder(flatbuffers.Builder):
        def __init__(self, size):
            super().__init__(size)
            self.shared = {}

        def CreateNumpyVector(self, x):  # noqa: N802 (flatbuffers' name)
            if x.dtype != np.int64:  # weights (uint8 buffers) and scales are written as usual
                return super().CreateNumpyVector(x)
            key = x.tobytes()
            if key not in self.shared:
                self.shared[key] = super().CreateNumpyVector(x)
            return self.shared[key]

    builder = SharingBuilder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
