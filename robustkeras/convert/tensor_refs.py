"""Tensors of a checkpoint as references into their storages, turned into numpy arrays once the storages are read."""

import collections
import math

import numpy as np

# torch storage class -> numpy dtype ("bfloat16" is widened to float32 when read).
STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"), "DoubleStorage": np.dtype("<f8"), "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype("<u2"), "LongStorage": np.dtype("<i8"), "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"), "CharStorage": np.dtype("i1"), "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"), "UntypedStorage": np.dtype("u1"),
}
TORCH_DTYPES = {
    "float32": np.dtype("<f4"), "float64": np.dtype("<f8"), "float16": np.dtype("<f2"), "bfloat16": np.dtype("<u2"),
    "int64": np.dtype("<i8"), "int32": np.dtype("<i4"), "int16": np.dtype("<i2"), "int8": np.dtype("i1"),
    "uint8": np.dtype("u1"), "bool": np.dtype("?"),
}


class StorageRef:
    """One storage of the file: its key, element dtype, element count and (once read) its bytes."""

    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel, self.buffer = key, dtype, numel, None
        self.bfloat16 = False

    def fill(self, raw, source):
        """Attach the raw bytes; refuses a record shorter than its element count says."""
        need = self.numel * self.dtype.itemsize
        if raw.size < need:
            raise ValueError(f"Expected storage {self.key} of {source} to hold {need} bytes. Received: {raw.size} "
                             "(truncated or corrupted file)")
        self.buffer = raw[:need]


class TensorRef:
    """A tensor of the file: a strided view into a storage (numpy array once resolved)."""

    def __init__(self, storage, offset, size, stride, dtype=None):
        self.storage, self.offset, self.size, self.stride, self.dtype = storage, offset, size, stride, dtype

    def array(self, source):
        """The tensor as a numpy array (a copy), bounds-checked against its storage."""
        storage = self.storage
        if not isinstance(storage, StorageRef) or storage.buffer is None:
            raise ValueError(f"Expected every tensor of {source} to point at a stored storage. Received: "
                             f"{type(storage).__name__}")
        dtype = storage.dtype
        if self.dtype is not None:  # v3 rebuild: untyped storage, dtype given beside it
            if not isinstance(self.dtype, str) or self.dtype not in TORCH_DTYPES:
                raise ValueError(f"Expected a numeric tensor dtype in {source}. Received: {self.dtype!r}")
            dtype = TORCH_DTYPES[self.dtype]
        is_bf16 = self.dtype == "bfloat16" or (self.dtype is None and storage.bfloat16)
        values = storage.buffer[: storage.buffer.size - storage.buffer.size % dtype.itemsize].view(dtype)
        ints = [self.offset, *self.size, *self.stride]
        if not all(isinstance(v, int) and v >= 0 for v in ints) or len(self.size) != len(self.stride) \
                or len(self.size) > 32:
            raise ValueError(f"Expected tensor sizes and strides in {source}. Received: size={str(self.size)[:80]}, "
                             f"stride={str(self.stride)[:80]}, offset={str(self.offset)[:30]}")
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride)) if all(self.size) else -1
        if last >= values.size:
            raise ValueError(f"Expected every tensor of {source} inside its storage. Received: a tensor of size "
                             f"{str(self.size)[:80]} reaching element {last} of {values.size} (corrupted file)")
        if math.prod(self.size) > max(values.size, 1):  # stride-0 views would multiply memory (hostile file)
            raise ValueError(f"Expected every tensor of {source} to hold at most the elements of its storage. "
                             f"Received: a tensor of size {str(self.size)[:80]} over {values.size} elements")
        if not all(self.size):
            return np.zeros(self.size, dtype)
        view = np.lib.stride_tricks.as_strided(values[self.offset:], self.size,
                                               [s * dtype.itemsize for s in self.stride], writeable=False)
        out = np.array(view)
        if is_bf16:
            out = (out.astype(np.uint32) << 16).view(np.float32)
        return out


def resolve(obj, source, budget=None):
    """Replace every `TensorRef` inside dicts, lists and tuples by its numpy array.

    Each object is resolved once (a pickle can reference one list from many places, which would
    otherwise cost exponential time), and the arrays made may hold at most `budget` bytes in all
    (many tensors over one large storage would otherwise multiply memory).

    Args:
        obj: the unpickled object.
        source: the file name, for messages.
        budget: bytes the arrays may hold in all (default: 4x the bytes of every storage, plus 64 MiB).

    Returns:
        `obj` with numpy arrays in place of the tensors.

    Example:
        >>> state = resolve(unpickler.load(), "model.pt")
    """
    state = {"budget": budget, "memo": {}, "source": source}
    return _resolve(obj, state, 0)


def _storages(obj, found, seen, depth=0):
    if id(obj) in seen or depth > 100:
        return
    seen.add(id(obj))
    if isinstance(obj, TensorRef) and isinstance(obj.storage, StorageRef):
        found[id(obj.storage)] = obj.storage.numel * obj.storage.dtype.itemsize
    elif isinstance(obj, dict):
        for v in dict.values(obj):
            _storages(v, found, seen, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _storages(v, found, seen, depth + 1)


def _resolve(obj, state, depth):
    source = state["source"]
    if depth > 100:
        raise ValueError(f"Expected a checkpoint nested less than 100 deep. Received: {source}")
    if id(obj) in state["memo"]:
        return state["memo"][id(obj)][1]
    if state["budget"] is None:
        sizes = {}
        _storages(obj, sizes, set())
        state["budget"] = 4 * sum(sizes.values()) + (64 << 20)
    if isinstance(obj, TensorRef):
        out = obj.array(source)
        state["budget"] -= out.nbytes
        if state["budget"] < 0:
            raise ValueError(f"Expected the tensors of {source} to hold at most 4x the bytes of its storages. "
                             "Received: more (many tensors over the same storage: a hostile or corrupted file)")
    elif isinstance(obj, dict):  # dict's own methods: a pickle can set attributes on an OrderedDict
        out = collections.OrderedDict() if isinstance(obj, collections.OrderedDict) else {}
        for k, v in list(dict.items(obj)):
            out[k] = _resolve(v, state, depth + 1)
    elif isinstance(obj, (list, tuple)):
        out = [_resolve(v, state, depth + 1) for v in obj]
        out = tuple(out) if isinstance(obj, tuple) else out
    else:
        out = obj
    state["memo"][id(obj)] = (obj, out)  # keeps obj alive so its id is not reused
    return out
