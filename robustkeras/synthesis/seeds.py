"""Class-conditional seeds: per-class Gaussians (low-rank + diagonal covariance) of training images.

Stored as a small npz per resolution `s` in (8, 16, 32), float16:
`mean_s (10, d)`, `basis_s (10, k, d)` (principal directions scaled by their
standard deviations), `diag_s (10, d)` (residual standard deviation), and a
mixture: `mix_means_s (10, M, d)`, `mix_weights_s (10, M)`; `d = s*s*3`.
"""

from pathlib import Path

import numpy as np

from robustkeras import _checks

STATS_FILE = Path(__file__).resolve().parent.parent / "pretrained" / "cifar10_class_stats.npz"
SIZES = (8, 16, 32)


def _resize_mean(images, size):
    factor = images.shape[1] // size
    n, h, w, c = images.shape
    return images.reshape(n, size, factor, size, factor, c).mean(axis=(2, 4))


def compute_class_stats(images, labels, *, rank=24, components=4, seed=0, num_classes=10):
    """Per-class mean, low-rank + diagonal covariance and a k-means mixture, at 8, 16 and 32 px.

    Args:
        images: float32 `(N, 32, 32, 3)` in [0, 1].
        labels: int `(N,)`.
        rank: principal directions kept per class.
        components: mixture components per class (k-means on the images).
        seed: seed of k-means.

    Returns:
        dict of float16 arrays (the npz layout above).

    Example:
        >>> stats = compute_class_stats(x_train, y_train)
    """
    images = _checks.images("images", images)
    if images.shape[1:] != (32, 32, 3):
        raise ValueError(f"Expected `images` of shape (N, 32, 32, 3). Received: images.shape={images.shape}")
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
    for size in SIZES:
        small = _resize_mean(images, size).reshape(len(images), -1)
        means, bases, diags, mix_means, mix_weights = [], [], [], [], []
        for c in range(num_classes):
            xc = small[labels == c].astype(np.float32)
            mean = xc.mean(0)
            centred = xc - mean
            # Top eigenvectors of the d x d covariance: cheaper than an SVD of the data.
            eigval, eigvec = np.linalg.eigh(centred.T @ centred / (len(xc) - 1))
            top = eigvec[:, ::-1][:, :rank].T
            basis = top * np.sqrt(np.maximum(eigval[::-1][:rank], 0))[:, None]
            residual = centred - (centred @ top.T) @ top
            means.append(mean)
            bases.append(basis)
            diags.append(residual.std(0))
            centres, weights = _kmeans(xc, components, rng)
            mix_means.append(centres)
            mix_weights.append(weights)
        for name, arr in (("mean", means), ("basis", bases), ("diag", diags),
                          ("mix_means", mix_means), ("mix_weights", mix_weights)):
            out[f"{name}_{size}"] = np.asarray(arr, np.float16)
    return out


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


def sample_seeds(classes, *, size=32, mixture=False, stats=None, seed=0):
    """Draw one seed image per entry of `classes` from its class Gaussian.

    Args:
        classes: int class ids `(N,)`.
        size: resolution, one of 8, 16, 32.
        mixture: draw the mean from the class's k-means mixture instead of the class mean.
        stats: class statistics (default: the shipped ones).
        seed: random seed.

    Returns:
        float32 `(N, size, size, 3)` in [0, 1].

    Example:
        >>> seeds = sample_seeds(np.arange(10), size=32)
    """
    size = _checks.one_of("size", size, set(SIZES))
    seed = None if seed is None else _checks.positive_int("seed", seed, minimum=0)
    stats = load_class_stats() if stats is None else stats
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
    return np.clip(x, 0, 1).reshape(len(classes), size, size, 3).astype(np.float32)
