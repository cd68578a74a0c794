"""Tensors of a checkpoint as references into their storages, turned into numpy arrays once the storages are read."""

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
            if self.dtype not in TORCH_DTYPES:
                raise ValueError(f"Expected a numeric tensor dtype in {source}. Received: {self.dtype!r}")
            dtype = TORCH_DTYPES[self.dtype]
        is_bf16 = self.dtype == "bfloat16" or (self.dtype is None and storage.bfloat16)
        values = storage.buffer[: storage.buffer.size - storage.buffer.size % dtype.itemsize].view(dtype)
        ints = [self.offset, *self.size, *self.stride]
        if not all(isinstance(v, int) and v >= 0 for v in ints) or len(self.size) != len(self.stride):
            raise ValueError(f"Expected tensor sizes and strides in {source}. Received: size={self.size}, "
                             f"stride={self.stride}, offset={self.offset}")
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride)) if all(self.size) else -1
        if last >= values.size:
            raise ValueError(f"Expected every tensor of {source} inside its storage. Received: a tensor of size "
                             f"{self.size} reaching element {last} of {values.size} (corrupted file)")
        if not all(self.size):
            return np.zeros(self.size, dtype)
        view = np.lib.stride_tricks.as_strided(values[self.offset:], self.size,
                                               [s * dtype.itemsize for s in self.stride], writeable=False)
        out = np.array(view)
        if is_bf16:
            out = (out.astype(np.uint32) << 16).view(np.float32)
        return out


def resolve(obj, source, depth=0):
    """Replace every `TensorRef` inside dicts, lists and tuples by its numpy array."""
    if depth > 100:
        raise ValueError(f"Expected a checkpoint nested less than 100 deep. Received: {source}")
    if isinstance(obj, TensorRef):
        return obj.array(source)
    if isinstance(obj, dict):
        resolved = type(obj)() if type(obj) in (dict,) or hasattr(type(obj), "move_to_end") else {}
        for k, v in obj.items():
            resolved[k] = resolve(v, source, depth + 1)
        return resolved
    if isinstance(obj, (list, tuple)):
        return type(obj)(resolve(v, source, depth + 1) for v in obj)
    return obj
