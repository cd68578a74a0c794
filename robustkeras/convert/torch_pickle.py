"""Read PyTorch checkpoints (zip and pre-1.6 formats) into numpy arrays without torch and without running pickle code.

`torch.save` pickles its object and stores tensor storages beside the pickle:
in a zip archive (`<name>/data.pkl`, `<name>/data/<key>`) since PyTorch 1.6, or,
in the legacy format, as a magic number, a protocol version, a system-info dict,
the pickle, the list of storage keys and then each storage as an int64 element
count and its raw bytes. Loading such a file the usual way lets the pickle
import and call anything (`os.system` included). `RestrictedUnpickler` only
resolves the few names a checkpoint of tensors needs (tensor and storage
rebuilds, `OrderedDict`, plain containers) to functions of its own; every other
name is refused, naming what the file asked for.
"""

import collections
import io
import os
import pickle
import pickletools
import struct
import zipfile

import numpy as np

from robustkeras.convert.tensor_refs import STORAGE_DTYPES, TORCH_DTYPES, StorageRef, TensorRef, resolve


class UnsafeCheckpointError(ValueError):
    """A checkpoint asked the unpickler for something other than tensors and plain containers."""


class Skipped:
    """Inert stand-in for an object the checkpoint asked for and `skip_unsafe=True` skipped (never called)."""

    qualname = "?"

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass

    def __repr__(self):
        return f"<skipped {self.qualname}>"


MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001


def _rebuild_tensor(storage, offset, size, stride, *rest):
    return TensorRef(storage, offset, tuple(size), tuple(stride))


def _rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype, *rest):
    return TensorRef(storage, offset, tuple(size), tuple(stride), dtype=dtype)


def _rebuild_parameter(data, *rest):
    return data


def _rebuild_from_type_v2(func, new_type, args, state):
    return func(*args)


def _codecs_encode(text, encoding="utf-8"):
    """Protocol-2 pickles store bytes as `_codecs.encode(str, "latin1")`; nothing else is accepted."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafeCheckpointError(f"Expected `_codecs.encode(str, 'latin1')` in the checkpoint. "
                                    f"Received: encode({type(text).__name__}, {encoding!r})")
    return text.encode("latin1")


def _numpy_dtype(name, *rest):
    if not isinstance(name, str) or np.dtype(name).kind not in "biuf":
        raise UnsafeCheckpointError(f"Expected a numeric numpy dtype in the checkpoint. Received: {name!r}")
    return np.dtype(name)


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or not isinstance(data, bytes):
        raise UnsafeCheckpointError("Expected a numpy scalar of a numeric dtype in the checkpoint. "
                                    f"Received: scalar({dtype!r}, {type(data).__name__})")
    return np.frombuffer(data, dtype)[0]


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("collections", "Counter"): collections.Counter,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("__builtin__", "set"): set,
    ("_codecs", "encode"): _codecs_encode,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch", "Tensor"): "Tensor",
    ("torch._tensor", "Tensor"): "Tensor",
    ("torch.nn.parameter", "Parameter"): "Parameter",
    ("torch", "device"): str,
    ("numpy", "dtype"): _numpy_dtype,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    **{("torch", name): name for name in STORAGE_DTYPES},
    **{("torch", name): name for name in TORCH_DTYPES},
}


class RestrictedUnpickler(pickle.Unpickler):
    """A `pickle.Unpickler` that resolves only tensor rebuilds, storages and plain containers.

    Args:
        file: binary file positioned at a pickle.
        storage: `key -> numpy uint8 buffer` (zip format) or `None` (legacy: storages come after the pickle).
        skip_unsafe: replace every other object with an inert `Skipped` stand-in (never called) instead of refusing.
        source: the file name, for error messages.
    """

    def __init__(self, file, *, storages=None, skip_unsafe=False, source="checkpoint"):
        super().__init__(file, encoding="utf-8")
        self.storages, self.skip_unsafe, self.source = storages, skip_unsafe, source
        self.refs, self.skipped = {}, []

    def find_class(self, module, name):
        found = _ALLOWED.get((module, name))
        if found is not None:
            return found
        qualname = f"{module}.{name}"
        if not self.skip_unsafe:
            raise UnsafeCheckpointError(
                f"Expected a checkpoint holding only tensors and plain containers. Received: {self.source} asks "
                f"for `{qualname}` (refused: loading it the usual way would run code from the file; to read "
                "only its tensors and skip such objects, never calling them, pass skip_unsafe=True)")
        self.skipped.append(qualname)
        return type(f"Skipped_{name}", (Skipped,), {"qualname": qualname})

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] not in ("storage", b"storage"):
            raise UnsafeCheckpointError(f"Expected tensor storages in {self.source}. Received: persistent id "
                                        f"{str(pid)[:80]}")
        storage_type, key, _location, numel = pid[1:5]
        if len(pid) > 5 and pid[5] is not None:
            raise ValueError(f"Expected whole tensor storages in {self.source}. Received: a storage view "
                             f"{str(pid[5])[:80]} (PyTorch < 0.4; re-save the file with a recent torch)")
        if not isinstance(storage_type, str) or storage_type not in STORAGE_DTYPES or not isinstance(numel, int) \
                or numel < 0 or not isinstance(key, (str, bytes, int)):
            raise ValueError(f"Expected a tensor storage in {self.source}. Received: {str(pid)[:80]}")
        key = key.decode() if isinstance(key, bytes) else str(key)
        if key not in self.refs:
            self.refs[key] = StorageRef(key, STORAGE_DTYPES[storage_type], numel)
            self.refs[key].bfloat16 = storage_type == "BFloat16Storage"
        return self.refs[key]


def _malformed(source, what):
    return ValueError(f"Expected a PyTorch checkpoint (torch.save, zip or pre-1.6 format). Received: {source} "
                      f"({what})")


# Errors a hostile or damaged pickle can raise inside the unpickler or while its objects are read.
_READ_ERRORS = (pickle.UnpicklingError, EOFError, struct.error, ValueError, TypeError, IndexError, KeyError,
                AttributeError, OverflowError, MemoryError, RecursionError, zipfile.BadZipFile, RuntimeError,
                NotImplementedError)


def _unpickle(stream, source, **kwargs):
    """One pickle from `stream` (an in-memory file) with `RestrictedUnpickler`, and the unpickler.

    `pickletools.genops` walks the opcodes first: it checks every length against the bytes present, so a
    pickle announcing a 40 GB string is refused before the C unpickler would allocate it.
    """
    start = stream.tell()
    try:
        for _ in pickletools.genops(stream):
            pass
    except _READ_ERRORS as err:
        raise _malformed(source, f"its pickle does not read: {type(err).__name__}: {str(err)[:200]}") from None
    stream.seek(start)
    unpickler = RestrictedUnpickler(stream, source=source, **kwargs)
    return unpickler.load(), unpickler


def _guarded(source, read):
    """`read()`, every failure but a refusal turned into one clear error naming the file."""
    try:
        return read()
    except UnsafeCheckpointError:
        raise
    except _READ_ERRORS as err:
        if isinstance(err, ValueError) and str(err).startswith("Expected"):
            raise
        raise _malformed(source, f"{type(err).__name__}: {str(err)[:200]}") from None


def _records(archive, path, source):
    """`read(name)` of the archive's records, refusing more bytes in all than 4x the file (a zip bomb):
    torch.save stores its records uncompressed."""
    budget = [4 * os.path.getsize(path) + (1 << 20)]

    def read(name):
        info = archive.getinfo(name)
        budget[0] -= info.file_size
        if budget[0] < 0:
            raise _malformed(source, f"records of more than 4x the file's size once decompressed ({name}: "
                                     f"{info.file_size} bytes): a zip bomb?")
        return archive.read(info)

    return read


def load_zip(path, *, skip_unsafe=False):
    """Objects of a zip-format `torch.save` file, tensors as numpy arrays; returns `(object, skipped names)`."""
    source = str(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise _malformed(source, f"not a readable zip archive: {err}") from None
    with archive:
        return _guarded(source, lambda: _read_zip(archive, path, source, skip_unsafe))


def _read_zip(archive, path, source, skip_unsafe):
    names = archive.namelist()
    read = _records(archive, path, source)
    pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
    if len(pickles) != 1:
        raise _malformed(source, f"a zip archive with {len(pickles)} data.pkl records, not one")
    prefix = pickles[0][: -len("data.pkl")]
    byteorder = read(prefix + "byteorder").decode() if prefix + "byteorder" in names else "little"
    if byteorder != "little":
        raise _malformed(source, f"byteorder {byteorder[:20]!r}: only little-endian files are read")
    obj, unpickler = _unpickle(io.BytesIO(read(pickles[0])), source, skip_unsafe=skip_unsafe)
    for key, ref in unpickler.refs.items():
        record = f"{prefix}data/{key}"
        if record not in names:
            raise _malformed(source, f"storage {key[:80]} missing from the archive")
        ref.fill(np.frombuffer(read(record), np.uint8), source)
    return resolve(obj, source), unpickler.skipped


def load_legacy(path, *, skip_unsafe=False):
    """Objects of a pre-1.6 `torch.save` file (`_use_new_zipfile_serialization=False`); returns `(object, skipped)`."""
    source = str(path)
    with open(path, "rb") as f:
        stream = io.BytesIO(f.read())
    return _guarded(source, lambda: _read_legacy(stream, source, skip_unsafe))


def _read_legacy(stream, source, skip_unsafe):
    try:
        header = [_unpickle(stream, source)[0] for _ in range(3)]
    except UnsafeCheckpointError:
        raise
    except ValueError as err:
        raise _malformed(source, f"no torch.save header: {str(err)[-200:]}") from None
    magic, version, info = header
    if magic != MAGIC_NUMBER or version != PROTOCOL_VERSION:
        raise _malformed(source, f"magic number {str(magic)[:30]} / protocol {str(version)[:30]}")
    if not isinstance(info, dict) or not info.get("little_endian", False):
        raise _malformed(source, "a big-endian file (only little-endian files are read)")
    obj, unpickler = _unpickle(stream, source, skip_unsafe=skip_unsafe)
    keys, _ = _unpickle(stream, source)
    if not isinstance(keys, list) or set(map(str, keys)) != set(unpickler.refs):
        raise _malformed(source, "its storage list does not match the tensors of its pickle")
    for key in map(str, keys):
        ref = unpickler.refs[key]
        count = stream.read(8)
        if len(count) != 8:
            raise _malformed(source, f"truncated before storage {key[:80]}")
        (numel,) = struct.unpack("<q", count)
        if numel != ref.numel:
            raise _malformed(source, f"storage {key[:80]} holds {numel} elements, its tensors expect {ref.numel}")
        left = len(stream.getbuffer()) - stream.tell()
        if numel * ref.dtype.itemsize > left:
            raise ValueError(f"Expected storage {key[:80]} of {source} to hold {numel * ref.dtype.itemsize} bytes. "
                             f"Received: {left} (truncated or corrupted file)")
        ref.fill(np.frombuffer(stream.read(numel * ref.dtype.itemsize), np.uint8), source)
    return resolve(obj, source), unpickler.skipped


def load_torch_file(path, *, skip_unsafe=False):
    """A `torch.save` file of either format as numpy arrays and containers; returns `(object, skipped names)`.

    Args:
        path: the checkpoint file.
        skip_unsafe: replace objects other than tensors and plain containers by inert stand-ins instead of
            refusing the file (their names are returned).

    Returns:
        `(object, skipped)`: the saved object with every tensor a numpy array, and the skipped names.

    Example:
        >>> checkpoint, _ = load_torch_file("imagenet_l2_3_0.pt")
        >>> sorted(checkpoint)
        ['epoch', 'model', 'optimizer', 'schedule']
    """
    if zipfile.is_zipfile(path):
        return load_zip(path, skip_unsafe=skip_unsafe)
    with open(path, "rb") as f:
        start = f.read(262)
    if len(start) >= 262 and start[257:262] == b"ustar":
        raise _malformed(str(path), "the tar-based format of PyTorch < 0.4; re-save it with a recent torch")
    if not start.startswith(b"\x80"):
        raise _malformed(str(path), "neither a zip archive nor a pickle")
    return load_legacy(path, skip_unsafe=skip_unsafe)
