"""CIFAR-10: the official binary layout read with numpy, tfds as a fallback, a bundled sample.

The binary reader needs only numpy, so training also runs where TensorFlow is
absent (the JAX path). Sources, in order: an explicit `path`, the environment
variable `ROBUSTKERAS_DATA`, the user cache folder (`cache_dir()`:
`~/.cache/robustkeras`, or `ROBUSTKERAS_CACHE`), then tfds `cifar10` (online).
"""

import os
import tarfile
import threading
import zlib
from pathlib import Path

import numpy as np

from robustkeras import _checks

from robustkeras._constants import CIFAR10_CLASSES as CLASSES
from robustkeras._constants import CIFAR10_MEAN as MEAN  # noqa: F401  (public: data.MEAN)
from robustkeras._constants import CIFAR10_STD as STD  # noqa: F401

NUM_CLASSES = len(CLASSES)

_RECORD = 1 + 32 * 32 * 3
_FILES = {
    "train": [f"data_batch_{i}.bin" for i in range(1, 6)],
    "test": ["test_batch.bin"],
}
_SAMPLE = Path(__file__).with_name("assets") / "cifar10_test_sample.npz"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
_PROBE_TIMEOUT_S = 4.0


def cache_dir():
    """The user cache folder robustkeras reads CIFAR-10 from (never inside the installed package).

    `ROBUSTKERAS_CACHE` if set, else `$XDG_CACHE_HOME/robustkeras`, else
    `~/.cache/robustkeras`. Put the official `cifar-10-binary.tar.gz` there (or
    its extracted `cifar-10-batches-bin/`) and every loader finds it.

    Returns:
        A `pathlib.Path` (it may not exist yet).

    Example:
        >>> from robustkeras.data import cache_dir
        >>> print(cache_dir())
    """
    if os.environ.get("ROBUSTKERAS_CACHE"):
        return Path(os.environ["ROBUSTKERAS_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "robustkeras"


def how_to_provide():
    """One line that says how to get CIFAR-10 onto this machine."""
    return (f"CIFAR-10 not found. Download {CIFAR10_URL} (about 170 MB) into {cache_dir()}/ (or into any folder "
            "and pass it as `--data`/`path=` or set ROBUSTKERAS_DATA to it); when online, tfds downloads it by itself.")


def _decode_records(raw):
    """Decode official binary records into (uint8 NHWC images, uint8 labels)."""
    rec = np.frombuffer(raw, np.uint8)
    if rec.size % _RECORD:
        raise ValueError(f"CIFAR-10 binary data is truncated: {rec.size} bytes is not a multiple of {_RECORD}")
    rec = rec.reshape(-1, _RECORD)
    if rec.size and rec[:, 0].max() >= NUM_CLASSES:
        raise ValueError(f"CIFAR-10 binary data is corrupt: label byte {int(rec[:, 0].max())} (expected 0-9)")
    images = rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), rec[:, 0].copy()


def _read_folder(folder, split):
    parts = []
    for name in _FILES[split]:
        if not (folder / name).is_file():
            raise ValueError(f"Expected the CIFAR-10 folder {folder} to hold {name}. Received: it is missing")
        try:
            parts.append(_decode_records((folder / name).read_bytes()))
        except ValueError as err:
            raise ValueError(f"{err} in {folder / name}") from None
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _read_tarball(tar_path, split):
    try:
        with tarfile.open(tar_path, "r:gz") as tar:
            by_name = {Path(m.name).name: m for m in tar if m.isfile()}
            missing = [name for name in _FILES[split] if name not in by_name]
            if missing:
                raise ValueError(f"Expected the CIFAR-10 tarball {tar_path} to hold {', '.join(missing)}. "
                                 "Received: an archive without them")
            raw = [tar.extractfile(by_name[name]).read() for name in _FILES[split]]
        parts = [_decode_records(r) for r in raw]
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        raise ValueError(f"Expected {tar_path} to be the official cifar-10-binary.tar.gz. Received: a corrupt or "
                         f"truncated archive ({type(err).__name__}: {' '.join(str(err).split())[:120]})") from None
    except ValueError as err:
        raise ValueError(f"{err} in {tar_path}") from None
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _find_binary(path):
    candidates = [path] if path is not None else []
    if path is None and os.environ.get("ROBUSTKERAS_DATA"):
        env = Path(os.environ["ROBUSTKERAS_DATA"])
        if not env.exists():
            raise FileNotFoundError(f"Expected ROBUSTKERAS_DATA to name a folder or tarball. Received: "
                                    f"ROBUSTKERAS_DATA={str(env)!r} (nothing there). " + how_to_provide())
        candidates.append(env)  # set: the only place looked at, so a wrong value is an error, not ignored
    elif path is None:
        candidates.append(cache_dir())
    for base in map(Path, candidates):
        for folder in (base, base / "cifar-10-batches-bin"):
            if (folder / "test_batch.bin").is_file():
                return folder
        for tar_path in (base, base / "cifar-10-binary.tar.gz"):
            if tar_path.is_file() and tar_path.name.endswith((".tar.gz", ".tgz")):
                return tar_path
    if path is not None:
        raise ValueError(f"Expected `path` to hold the CIFAR-10 binary layout. Received: path={path!r}. " + how_to_provide())
    if os.environ.get("ROBUSTKERAS_DATA"):
        raise FileNotFoundError(f"Expected ROBUSTKERAS_DATA to hold the CIFAR-10 binary layout. Received: "
                                f"ROBUSTKERAS_DATA={os.environ['ROBUSTKERAS_DATA']!r}. " + how_to_provide())
    return None


def _reachable(url, timeout=_PROBE_TIMEOUT_S):
    """Whether an HTTP HEAD request for `url` answers within `timeout` seconds (DNS and TLS included)."""
    import urllib.request

    result = []

    def ask():
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout) as reply:
                result.append(reply.status < 400)
        except Exception:  # noqa: BLE001  (offline shows as many kinds of error)
            result.append(False)

    probe = threading.Thread(target=ask, daemon=True)  # getaddrinfo has no timeout of its own
    probe.start()
    probe.join(timeout)
    return bool(result and result[0])


def _tfds_data_dir():
    """tfds's own data folder: `TFDS_DATA_DIR`, else `~/tensorflow_datasets` (read when called, not at import)."""
    return Path(os.environ.get("TFDS_DATA_DIR") or Path.home() / "tensorflow_datasets").expanduser()


def _tfds_prepared(name):
    """Whether tfds already holds `name` in its data folder (then no download is needed)."""
    folder = _tfds_data_dir() / name
    return folder.is_dir() and any(folder.iterdir())


def _from_tfds(split):
    if not _tfds_prepared("cifar10") and not _reachable(CIFAR10_URL):  # offline: refuse in seconds, not minutes
        raise FileNotFoundError(how_to_provide())
    try:
        import tensorflow_datasets as tfds
    except ImportError as err:
        raise FileNotFoundError(f"{how_to_provide()} (tensorflow_datasets cannot be imported: {err})") from err
    try:
        config = tfds.download.DownloadConfig(try_download_gcs=False)  # the official tarball, the host just probed
        images, labels = tfds.as_numpy(tfds.load(
            "cifar10", split=split, batch_size=-1, as_supervised=True, data_dir=str(_tfds_data_dir()),
            download_and_prepare_kwargs={"download_config": config}))
    except Exception as err:  # tfds raises many kinds when offline
        raise FileNotFoundError(f"{how_to_provide()} (tfds failed: {type(err).__name__}: "
                                f"{' '.join(str(err).split())[:160]})") from err
    return images.astype(np.uint8), labels.astype(np.uint8)


def load_cifar10_arrays(split="test", *, path=None, limit=None):
    """Load CIFAR-10 as uint8 arrays.

    Args:
        split: "train" or "test".
        path: folder holding `cifar-10-batches-bin/`, the folder itself, or the
            official `cifar-10-binary.tar.gz`. Defaults to `ROBUSTKERAS_DATA`,
            then the user cache folder (`cache_dir()`), then tfds.
        limit: keep only the first `limit` images.

    Returns:
        `(images, labels)`: uint8 `(N, 32, 32, 3)` and uint8 `(N,)`.

    Example:
        >>> x, y = load_cifar10_arrays("test", limit=100)
        >>> x.shape, y.shape
        ((100, 32, 32, 3), (100,))
    """
    split = _checks.one_of("split", split, {"train", "test"})
    if limit is not None:
        limit = _checks.positive_int("limit", limit)
    source = _find_binary(path)
    if source is None:
        images, labels = _from_tfds(split)
    elif source.is_dir():
        images, labels = _read_folder(source, split)
    else:
        images, labels = _read_tarball(source, split)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    if len(images) == 0:
        raise ValueError(f"Expected `path` to hold at least one CIFAR-10 {split} image. Received: path={path!r} (empty)")
    return images, labels


def load_sample(limit=None):
    """The bundled sample: the first 200 offline test images as float32 in [0, 1].

    Returns:
        `(images, labels)`: float32 `(N, 32, 32, 3)` and int32 `(N,)`.

    Example:
        >>> x, y = load_sample(16)
        >>> float(x.max()) <= 1.0
        True
    """
    with np.load(_SAMPLE, allow_pickle=False) as data:
        images, labels = data["images"], data["labels"]
    if limit is not None:
        limit = _checks.positive_int("limit", limit)
        images, labels = images[:limit], labels[:limit]
    return images.astype(np.float32) / 255.0, labels.astype(np.int32)


def to_float(images):
    """uint8 images to float32 in [0, 1]."""
    if getattr(images, "dtype", None) != np.uint8:
        raise ValueError(f"Expected `images` of dtype uint8 (0-255). Received: images.dtype={getattr(images, 'dtype', type(images).__name__)}")
    return images.astype(np.float32) / 255.0


def augment_batch(images, rng):
    """Random crop with 4-pixel reflect padding and horizontal flip, on a uint8 batch in numpy.

    Args:
        images: uint8 `(N, 32, 32, 3)`.
        rng: a `numpy.random.Generator` (the caller derives it from seed and epoch).

    Returns:
        Augmented uint8 batch, same shape.
    """
    n, h, w, _ = images.shape
    padded = np.pad(images, ((0, 0), (4, 4), (4, 4), (0, 0)), mode="reflect")
    dy = rng.integers(0, 9, n)
    dx = rng.integers(0, 9, n)
    rows = dy[:, None] + np.arange(h)[None, :]
    cols = dx[:, None] + np.arange(w)[None, :]
    out = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    flip = rng.random(n) < 0.5
    out[flip] = out[flip, :, ::-1]
    return out


class EpochBatches:
    """Batches for one epoch, shuffled and augmented from `(seed, epoch)` alone.

    Deriving the order from the epoch number (not from a stateful generator)
    makes a resumed run see exactly the batches an uninterrupted run would.
    A `keras.utils.PyDataset`-free plain iterable so it works on every backend.
    """

    def __init__(self, images, labels, *, batch_size, seed, epoch, augment=True, drop_remainder=True):
        batch_size = _checks.positive_int("batch_size", batch_size)
        if len(images) != len(labels) or len(images) == 0:
            raise ValueError(f"Expected `images` and `labels` of the same non-zero length. Received: {len(images)} and {len(labels)}")
        self.images, self.labels = images, labels
        self.batch_size, self.augment = batch_size, augment
        self.rng = np.random.default_rng([seed, epoch])
        self.order = self.rng.permutation(len(images))
        full = len(images) // batch_size
        self.num_batches = full if drop_remainder or full * batch_size == len(images) else full + 1

    def __len__(self):
        return self.num_batches

    def __iter__(self):
        for i in range(self.num_batches):
            idx = self.order[i * self.batch_size:(i + 1) * self.batch_size]
            batch = self.images[idx]
            if self.augment:
                batch = augment_batch(batch, self.rng)
            yield to_float(batch), self.labels[idx].astype(np.int32)


def load_cifar10(split="test", *, path=None, batch_size=128, augment=False, shuffle=None,
                 seed=0, limit=None, as_numpy=False):
    """CIFAR-10 as a batched `tf.data.Dataset` of float32 images in [0, 1] and int32 labels.

    Args:
        split: "train" or "test".
        path: see `load_cifar10_arrays`.
        batch_size: images per batch.
        augment: random crop (4-px padding) and horizontal flip.
        shuffle: shuffle each epoch; defaults to `split == "train"`.
        seed: seed of shuffling and augmentation.
        limit: keep only the first `limit` images.
        as_numpy: return `(float32 images, int32 labels)` arrays instead.

    Returns:
        A `tf.data.Dataset`, or a tuple of numpy arrays when `as_numpy=True`.

    Example:
        >>> ds = load_cifar10("test", batch_size=256, limit=1000)
        >>> x, y = next(iter(ds))
    """
    batch_size = _checks.positive_int("batch_size", batch_size)
    seed = None if seed is None else _checks.positive_int("seed", seed, minimum=0)
    augment = _checks.boolean("augment", augment)
    if shuffle is not None:
        shuffle = _checks.boolean("shuffle", shuffle)
    if seed is None:  # an unseeded run still needs integer seeds for the stateless ops below
        seed = int(np.random.default_rng().integers(0, 2**31 - 2))
    images, labels = load_cifar10_arrays(split, path=path, limit=limit)
    if as_numpy:
        return to_float(images), labels.astype(np.int32)
    import tensorflow as tf

    shuffle = split == "train" if shuffle is None else shuffle
    ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32))).cache()
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)

    def prepare(x, y):
        x = tf.image.convert_image_dtype(x, tf.float32)
        if augment:
            x = tf.pad(x, [[4, 4], [4, 4], [0, 0]], mode="REFLECT")
            x = tf.image.stateless_random_crop(x, [32, 32, 3], seed=tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32, seed=seed))
            x = tf.image.stateless_random_flip_left_right(x, seed=tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32, seed=seed + 1))
        return x, y

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


# Datasets beyond CIFAR-10 ---------------------------------------------------

DATASETS = {  # name -> (tfds name, image shape, classes)
    "cifar10": ("cifar10", (32, 32, 3), 10),
    "cifar100": ("cifar100", (32, 32, 3), 100),
    "svhn": ("svhn_cropped", (32, 32, 3), 10),
    "mnist": ("mnist", (28, 28, 1), 10),
    "fashion_mnist": ("fashion_mnist", (28, 28, 1), 10),
}


def load(name, split="test", *, path=None, limit=None):
    """A labelled image dataset by name, as float32 images in [0, 1] and int32 labels.

    CIFAR-10 is read from its binary layout as in `load_cifar10_arrays` (then
    tfds); the others come from `tensorflow_datasets` (downloaded once when
    online; offline, a clear error says how to provide them).

    Args:
        name: "cifar10", "cifar100", "svhn", "mnist" or "fashion_mnist".
        split: "train" or "test".
        path: CIFAR-10 only: see `load_cifar10_arrays`.
        limit: keep only the first `limit` images.

    Returns:
        `(images, labels)`: float32 `(N, H, W, C)` in [0, 1] and int32 `(N,)`.

    Example:
        >>> x, y = load("fashion_mnist", "test", limit=1000)
        >>> x.shape
        (1000, 28, 28, 1)
    """
    name = _checks.one_of("name", name, DATASETS)
    split = _checks.one_of("split", split, {"train", "test"})
    if limit is not None:
        limit = _checks.positive_int("limit", limit)
    if name == "cifar10":
        images, labels = load_cifar10_arrays(split, path=path, limit=limit)
        return to_float(images), labels.astype(np.int32)
    if path is not None:
        raise ValueError(f"Expected `path` only for cifar10 (the others come from tfds). Received: path={path!r}")
    tfds_name, shape, classes = DATASETS[name]
    try:
        import tensorflow_datasets as tfds
    except ImportError as err:
        raise FileNotFoundError(f"Dataset `{name}` comes from tensorflow_datasets: pip install tensorflow-datasets "
                                "(and be online once to download it).") from err
    tfds_split = split if limit is None else f"{split}[:{limit}]"
    try:
        images, labels = tfds.as_numpy(tfds.load(tfds_name, split=tfds_split, batch_size=-1, as_supervised=True))
    except Exception as err:  # tfds raises many kinds when offline
        raise FileNotFoundError(f"Dataset `{name}` could not be loaded through tfds (offline? it downloads it "
                                f"once). ({type(err).__name__}: {' '.join(str(err).split())[:160]})") from err
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim == 3:
        images = images[..., None]
    if images.shape[1:] != shape or images.dtype != np.uint8 or len(images) == 0:
        raise ValueError(f"Expected tfds `{tfds_name}` to give uint8 images of shape {shape}. "
                         f"Received: {images.dtype} {images.shape}")
    return to_float(images), labels.astype(np.int32)


def check_class_names(class_names, num_classes=None, name="class_names"):
    """Require a list of distinct, non-empty class names (`num_classes` of them, if given); return a tuple."""
    if (not isinstance(class_names, (list, tuple)) or not class_names
            or not all(isinstance(c, str) and c.strip() for c in class_names)):
        raise ValueError(f"Expected `{name}` to be a list of class names. Received: {name}={class_names!r:.120}")
    names = tuple(c.strip() for c in class_names)
    if len({c.lower() for c in names}) != len(names):
        raise ValueError(f"Expected `{name}` to hold distinct names. Received: {name}={list(names)!r:.120}")
    if num_classes is not None and len(names) != num_classes:
        raise ValueError(f"Expected `{name}` to name the model's {num_classes} classes. "
                         f"Received: {len(names)} names ({', '.join(names)[:120]})")
    return names


def folder_classes(path, class_names=None):
    """`{folder: class id}` for the class sub-folders of `path`, in folder-name order.

    With `class_names`, each folder must be one of them (compared case-insensitively)
    and gets its index; a folder that names no class is refused, naming it. Without
    them, the folders are numbered in alphanumeric order (as
    `keras.utils.image_dataset_from_directory` does): fine for a model trained on
    those folders, wrong for any other.

    Args:
        path: a folder with one sub-folder per class.
        class_names: optional: the model's class names, in the order of its outputs.

    Returns:
        dict `{folder name: class id}`.

    Example:
        >>> folder_classes("pets", class_names=CLASSES)  # pets/cat, pets/dog
        {'cat': 3, 'dog': 5}
    """
    if not isinstance(path, (str, os.PathLike)) or not Path(path).is_dir():
        raise ValueError(f"Expected `path` to be a folder with one sub-folder per class. Received: path={path!r}")
    folders = sorted(p.name for p in Path(path).iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ValueError(f"Expected `path` to hold one sub-folder per class. Received: path={str(path)!r} "
                         "(no sub-folders)")
    if class_names is None:
        return {folder: i for i, folder in enumerate(folders)}
    names = check_class_names(class_names)
    index = {c.lower(): i for i, c in enumerate(names)}
    unknown = [f for f in folders if f.lower() not in index]
    if unknown:
        raise ValueError(
            f"Expected every sub-folder of `path` to be named after a class of the model ({', '.join(names)}). "
            f"Received: {', '.join(repr(f) for f in unknown)} in path={str(path)!r}")
    return {folder: index[folder.lower()] for folder in folders}


def from_directory(path, *, image_size, color_mode="rgb", limit=None, seed=0, class_names=None):
    """Images in class sub-folders (`path/<class>/*.png`), as float32 in [0, 1] and int32 labels.

    Reads through `keras.utils.image_dataset_from_directory`. Each folder's
    images get the class id of its name in `class_names` (the model's class
    names; an unknown folder is refused, naming it); without `class_names`, the
    folders are numbered in alphanumeric order. A file that cannot be decoded is
    refused, naming it.

    Args:
        path: a folder with one sub-folder per class.
        image_size: `(height, width)` the images are resized to (the model's input size).
        color_mode: "rgb" or "grayscale".
        limit: keep only the first `limit` images (in the order read).
        seed: seed of the order the images are read in.
        class_names: optional: the model's class names, in the order of its outputs.

    Returns:
        `(images, labels, class_names)`: `class_names` as given, or the folder names in order.

    Example:
        >>> x, y, names = from_directory("pets", image_size=(32, 32), class_names=data.CLASSES)
    """
    import keras

    if (not isinstance(image_size, (tuple, list)) or len(image_size) != 2):
        raise ValueError(f"Expected `image_size` to be (height, width). Received: image_size={image_size!r}")
    image_size = tuple(_checks.positive_int("image_size", s) for s in image_size)
    color_mode = _checks.one_of("color_mode", color_mode, {"rgb", "grayscale"})
    seed = _checks.positive_int("seed", seed, minimum=0)
    if limit is not None:
        limit = _checks.positive_int("limit", limit)
    mapping = folder_classes(path, class_names)
    names = tuple(mapping) if class_names is None else check_class_names(class_names)
    try:
        ds = keras.utils.image_dataset_from_directory(
            str(path), labels="inferred", label_mode="int", class_names=list(mapping), color_mode=color_mode,
            image_size=image_size, batch_size=None, shuffle=True, seed=seed, verbose=False)
    except ValueError as err:
        raise ValueError(f"Expected `path` to hold images in class sub-folders. Received: path={str(path)!r} "
                         f"({' '.join(str(err).split())[:160]})") from None
    ids = np.array(list(mapping.values()), np.int32)  # folder index -> class id
    images, labels = [], []
    try:
        for image, label in ds:
            images.append(np.asarray(image))
            labels.append(int(ids[int(label)]))
            if limit is not None and len(images) >= limit:
                break
    except Exception as err:  # TensorFlow's decode error does not name the file
        raise ValueError(f"Expected `path` to hold readable images. Received: {_undecodable(ds.file_paths)} "
                         f"in path={str(path)!r}") from err
    if not images:
        raise ValueError(f"Expected `path` to hold at least one image. Received: path={str(path)!r} (none found)")
    x = np.clip(np.stack(images).astype(np.float32) / 255.0, 0.0, 1.0)
    return x, np.asarray(labels, np.int32), names


def _undecodable(paths):
    """The first of `paths` that TensorFlow cannot decode as an image, described for an error message."""
    import tensorflow as tf

    for file in paths:
        try:
            tf.io.decode_image(tf.io.read_file(file), expand_animations=False)
        except Exception as err:  # noqa: BLE001  (any decode failure names the file)
            return f"{str(file)!r}, which cannot be decoded ({type(err).__name__})"
    return "an image that cannot be decoded"
