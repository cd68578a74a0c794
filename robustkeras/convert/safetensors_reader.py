"""Read a `safetensors` file with numpy alone: an 8-byte header length, a JSON header, then the raw tensors."""

import json
import math
import struct

import numpy as np

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
           "I8": "i1", "U8": "u1", "BOOL": "?"}
_MAX_HEADER = 100 << 20


def _malformed(path, what):
    return ValueError(f"Expected a safetensors file. Received: {path} ({what})")


def load_safetensors(path):
    """Every tensor of a safetensors file as a numpy array (bfloat16 widened to float32).

    Args:
        path: the `.safetensors` file.

    Returns:
        dict `name -> numpy array`, in the file's order.

    Example:
        >>> state = load_safetensors("model.safetensors")
    """
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise _malformed(path, f"{len(data)} bytes, shorter than the header length")
    (length,) = struct.unpack("<Q", data[:8])
    if length > min(_MAX_HEADER, len(data) - 8):
        raise _malformed(path, f"a header length of {length} bytes in a file of {len(data)}")
    try:
        header = json.loads(data[8:8 + length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _malformed(path, f"its header is not JSON: {err}") from None
    if not isinstance(header, dict):
        raise _malformed(path, "its header is not a JSON object")
    body = np.frombuffer(data, np.uint8, offset=8 + length)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], [int(s) for s in info["shape"]], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise _malformed(path, f"tensor {name!r} lacks dtype, shape or data_offsets") from None
        if dtype not in _DTYPES:
            raise _malformed(path, f"tensor {name!r} of dtype {dtype!r} (read: {sorted(_DTYPES)})")
        np_dtype = np.dtype(_DTYPES[dtype])
        size = math.prod(shape) * np_dtype.itemsize  # Python ints: numpy's int64 product can wrap around
        if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end <= body.size) \
                or end - begin != size or min(shape, default=0) < 0:
            raise _malformed(path, f"tensor {name!r} of shape {shape} at bytes {begin}..{end} of {body.size}")
        array = body[begin:end].view(np_dtype).reshape(shape).copy()
        out[name] = (array.astype(np.uint32) << 16).view(np.float32) if dtype == "BF16" else array
    return out
