"""Class-conditional seeds: per-class Gaussians (low-rank + diagonal covariance) of training images.

Stored as a small npz per resolution `s` (the image side, and a half and a
quarter of it when it divides by 4; 8, 16, 32 for CIFAR-10), float16:
`mean_s (K, d)`, `basis_s (K, k, d)` (principal directions scaled by their
standard deviations), `diag_s (K, d)` (residual standard deviation), and a
mixture: `mix_means_s (K, M, d)`, `mix_weights_s (K, M)`; `d = s*s*C` for
`K` classes of `C`-channel images.
"""

from pathlib import Path

import numpy as np

from robustkeras import _checks, imageops

STATS_FILE = Path(__file__).resolve().parent.parent / "pretrained" / "cifar10_class_stats.npz"
SIZES = (8, 16, 32)  # the shipped CIFAR-10 statistics


def _resize_mean(images, size):
    return np.asarray(imageops.average_pool(images, images.shape[1] // size), np.float32)


def stats_sizes(stats):
    """The resolutions a statistics dict holds, ascending."""
    return sorted(int(k[len("mean_"):]) for k in stats if k.startswith("mean_"))


def stats_shape(stats, size):
    """`(classes, (size, size, channels))` of the statistics at `size`, or `(None, None)` if absent."""
    key = f"mean_{size}"
    if not isinstance(stats, dict) or key not in stats:
        return None, None
    classes, d = np.shape(stats[key])
    return classes, (size, size, d // (size * size))


def compute_class_stats(images, labels, *, rank=24, components=4, seed=0, num_classes=None):
    """Per-class mean, low-rank + diagonal covariance and a k-means mixture, at the images' side (and half, quarter).

    Args:
        images: float32 `(N, S, S, C)` in [0, 1] (square, any side and channels).
        labels: int `(N,)`.
        rank: principal directions kept per class. A class of `n <= rank` images has at most `n - 1`;
            its missing directions are stored as zeros (they add no variance), so classes of any
            size share one array.
        components: mixture components per class (k-means on the images).
        seed: seed of k-means.
        num_classes: number of classes (default: the largest label + 1).

    Returns:
        dict of float16 arrays (the npz layout above).

    Example:
        >>> stats = compute_class_stats(x_train, y_train)
    """
    images = _checks.images("images", images, channels=None)
    side = images.shape[1]
    if images.shape[2] != side:
        raise ValueError(f"Expected square `images`. Received: images.shape={images.shape}")
    sizes = (side // 4, side // 2, side) if side % 4 == 0 else (side,)
    if num_classes is None:
        num_classes = int(np.max(np.asarray(labels))) + 1 if np.size(labels) else 0
    num_classes = _checks.positive_int("num_classes", num_classes)
    labels = _checks.labels("labels", labels, n=len(images), num_classes=num_classes)
    rank = _checks.positive_int("rank", rank)
    components = _checks.positive_int("components", components)
    seed = _checks.positive_int("seed", seed, minimum=0)
    counts = np.bincount(labels, minlength=num_classes)
    if counts.min() < max(2, components):
        raise ValueError(
            f"Expected at least max(2, `components`)={max(2, components)} images of every class in `labels`. "
            f"Received: class {int(counts.argmin())} has {int(counts.min())}")
    rng = np.random.default_rng(seed)
    out = {}
    for size in sizes:
        small = _resize_mean(images, size).reshape(len(images), -1)
        means, bases, diags, mix_means, mix_weights = [], [], [], [], []
        for c in range(num_classes):
            xc = small[labels == c].astype(np.float32)
            mean = xc.mean(0)
            centred = xc - mean
            if len(xc) >= centred.shape[1]:
                # Top eigenvectors of the d x d covariance: cheaper than an SVD of many images.
                eigval, eigvec = np.linalg.eigh(centred.T @ centred / (len(xc) - 1))
                top, variances = eigvec[:, ::-1][:, :rank].T, eigval[::-1][:rank]
            else:  # fewer images than pixels: the SVD of the data is the cheap way
                _, singular, vt = np.linalg.svd(centred, full_matrices=False)
                top, variances = vt[:rank], singular[:rank] ** 2 / (len(xc) - 1)
            basis = top * np.sqrt(np.maximum(variances, 0))[:, None]
            residual = centred - (centred @ top.T) @ top
            means.append(mean)
            bases.append(_pad_rows(basis, min(rank, small.shape[1])))
            diags.append(residual.std(0))
            centres, weights = _kmeans(xc, components, rng)
            mix_means.append(centres)
            mix_weights.append(weights)
        for name, arr in (("mean", means), ("basis", bases), ("diag", diags),
                          ("mix_means", mix_means), ("mix_weights", mix_weights)):
            out[f"{name}_{size}"] = np.asarray(arr, np.float16)
    return out


def _pad_rows(basis, rank):
    """`basis` `(k, d)` with zero rows appended up to `rank` rows.

    A class with fewer images than `rank` has fewer principal directions; a zero
    direction adds no variance when sampling, so every class shares one array.
    """
    return np.concatenate([basis, np.zeros((rank - len(basis), basis.shape[1]), basis.dtype)])


def _kmeans(x, k, rng, iters=20):
    centres = x[rng.choice(len(x), k, replace=False)]
    for _ in range(iters):
        # |x - c|^2 up to the per-row constant |x|^2.
        assign = np.argmin((centres ** 2).sum(-1)[None] - 2 * x @ centres.T, axis=1)
        centres = np.stack([x[assign == j].mean(0) if np.any(assign == j) else centres[j] for j in range(k)])
    weights = np.bincount(assign, minlength=k) / len(x)
    return centres, weights


def load_class_stats(path=None):
    """The shipped class statistics (dict of float32 arrays)."""
    path = Path(path) if path is not None else STATS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"Expected `path` to be a class statistics file. Received: path={str(path)!r} "
                                "(not found; build it with compute_class_stats)")
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k].astype(np.float32) for k in data.files}


def sample_seeds(classes, *, size=None, mixture=False, stats=None, seed=0):
    """Draw one seed image per entry of `classes` from its class Gaussian.

    Args:
        classes: int class ids `(N,)`.
        size: resolution, one of those in `stats` (default: the largest; 8, 16, 32 shipped).
        mixture: draw the mean from the class's k-means mixture instead of the class mean.
        stats: class statistics (default: the shipped ones).
        seed: random seed.

    Returns:
        float32 `(N, size, size, C)` in [0, 1].

    Example:
        >>> seeds = sample_seeds(np.arange(10), size=32)
    """
    seed = None if seed is None else _checks.positive_int("seed", seed, minimum=0)
    stats = load_class_stats() if stats is None else stats
    sizes = stats_sizes(stats) if isinstance(stats, dict) else []
    if not sizes:
        raise ValueError("Expected `stats` from compute_class_stats. Received: stats without mean_<size> arrays")
    size = sizes[-1] if size is None else _checks.one_of("size", size, set(sizes))
    missing = [f"{k}_{size}" for k in ("mean", "basis", "diag", "mix_means", "mix_weights")
               if not isinstance(stats, dict) or f"{k}_{size}" not in stats]
    if missing:
        raise ValueError(f"Expected `stats` from compute_class_stats. Received: stats without {missing}")
    classes = _checks.labels("classes", classes, n=len(np.atleast_1d(classes)), num_classes=len(stats[f"mean_{size}"]))
    rng = np.random.default_rng(seed)
    mean = stats[f"mean_{size}"][classes]
    if mixture:
        weights = stats[f"mix_weights_{size}"][classes]
        pick = np.array([rng.choice(len(w), p=w / w.sum()) for w in weights])
        mean = stats[f"mix_means_{size}"][classes, pick]
    basis = stats[f"basis_{size}"][classes]
    z = rng.standard_normal((len(classes), basis.shape[1]))
    x = mean + np.einsum("nk,nkd->nd", z, basis) + stats[f"diag_{size}"][classes] * rng.standard_normal(mean.shape)
    channels = stats_shape(stats, size)[1][2]
    return np.clip(x, 0, 1).reshape(len(classes), size, size, channels).astype(np.float32)
