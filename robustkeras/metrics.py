"""Image-quality and synthesis metrics: PSNR, SSIM, judge accuracy, feature distance, Inception Score.

PSNR and SSIM use `tf.image`; SSIM is the standard one (11x11 Gaussian window). The judge is an independently trained standard
classifier: if it sees the target class, the synthesis is recognisable, not
just adversarial for the robust model. The feature distance is the FID formula
on the judge's penultimate features, usable offline; the true Inception Score needs
ImageNet Inception-v3 weights, which must be downloadable (they are not on
offline machines: that path raises a clear error there).

Generation quality offline: `feature_scores` gives the Frechet distance and the
kernel distance (KID, unbiased at small N) between features of generated and
real images. Use a *robust* extractor (the shipped `fastnet_small_l2_robust`,
trained independently of the models it judges): a standard network's features
move a lot under small adversarial perturbations, so adversarial noise can look
"close to real" to it (Alfarra et al. 2022 make this point about Inception).
"""

import numpy as np

from robustkeras import _checks, imageops
from robustkeras.evaluate import predict_logits
from robustkeras.models.introspect import feature_model


def _image_pair(images, reference):
    images = _checks.images("images", images, channels=None)
    reference = _checks.images("reference", reference, channels=None)
    _checks.same_shape("reference", reference, "images", images)
    return images, reference


def psnr(images, reference):
    """Mean PSNR in dB between two batches in [0, 1] (`tf.image.psnr`).

    Example:
        >>> psnr(sr_images, originals)
        21.4
    """
    import tensorflow as tf

    images, reference = _image_pair(images, reference)
    return float(tf.reduce_mean(tf.image.psnr(images, reference, max_val=1.0)))


SSIM_WINDOWS = {"standard": 11, "small": 7}


def ssim(images, reference, *, window="standard"):
    """Mean SSIM between two batches in [0, 1] (`tf.image.ssim`, Gaussian window, sigma 1.5).

    The standard SSIM (Wang et al. 2004; skimage's `gaussian_weights=True` and
    `tf.image.ssim`'s default) uses an 11x11 window: the figure published work
    reports. `window="small"` is the 7x7 variant this library used before
    (it reads up to 0.09 higher or lower on 32x32 images; do not compare it with
    published numbers).

    Args:
        images, reference: float batches `(N, H, W, C)` in [0, 1] of the same shape,
            at least as large as the window.
        window: "standard" (11x11) or "small" (7x7).

    Returns:
        The mean SSIM, in [-1, 1].

    Example:
        >>> ssim(sr_images, originals)
        0.58
    """
    import tensorflow as tf

    images, reference = _image_pair(images, reference)
    size = SSIM_WINDOWS[_checks.one_of("window", window, SSIM_WINDOWS)]
    if min(images.shape[1:3]) < size:
        raise ValueError(f"Expected `images` of at least {size}x{size} pixels for SSIM (window={window!r}). "
                         f"Received: images.shape={images.shape}")
    return float(tf.reduce_mean(tf.image.ssim(images, reference, max_val=1.0, filter_size=size)))


def low_pass(images, factor=2):
    """Average-pool by `factor`, then bicubic back: removes the high frequencies adversarial noise lives in."""
    return imageops.upsample_bicubic(np.asarray(imageops.average_pool(images, factor), np.float32), factor)


def judge_accuracy(judge, images, targets, *, low_pass_factor=None):
    """Fraction of `images` that the judge classifies as `targets`.

    A standard judge is fooled by adversarial noise that transfers between
    standard models (measured here: a standard fastnet's "generated" noise
    fooled the standard judge on 100 % of 80 images). With `low_pass_factor=2`
    the judge sees the images average-pooled and bicubic-upsampled, which keeps
    shapes and colours but removes most transferable noise: then the robust
    model's images stay recognisable and the standard model's do not.

    Args:
        judge: an independently trained standard classifier.
        images: float32 `(N, H, W, C)` in [0, 1], of the judge's input shape.
        targets: int `(N,)` classes the images should show.
        low_pass_factor: optional integer (2) for the low-pass judge.

    Returns:
        A fraction in [0, 1].

    Example:
        >>> judge_accuracy(judge, generated.images, generated.extras["target"], low_pass_factor=2)
        0.98
    """
    spec = _checks.classifier(judge, name="judge")
    images = _checks.images_for(spec, "images", images, model=judge)
    targets = _checks.labels("targets", targets, n=len(images), num_classes=spec.num_classes)
    if low_pass_factor is not None:
        low_pass_factor = _checks.positive_int("low_pass_factor", low_pass_factor)
        if images.shape[1] % low_pass_factor or images.shape[2] % low_pass_factor:
            raise ValueError(f"Expected `low_pass_factor` to divide the image sides {images.shape[1:3]}. "
                             f"Received: low_pass_factor={low_pass_factor}")
        images = low_pass(images, low_pass_factor)
    return float(np.mean(np.argmax(predict_logits(judge, images), 1) == targets))


def features(model, images, *, batch_size=500, name="images"):
    """Penultimate features of `model` (numpy float64); `images` must fit the model's input."""
    spec = _checks.classifier(model)
    images = _checks.images_for(spec, name, images)
    batch_size = _checks.positive_int("batch_size", batch_size)
    fm = feature_model(model)
    out = [np.asarray(fm(images[a:a + batch_size], training=False)[1]) for a in range(0, len(images), batch_size)]
    return np.concatenate(out).astype(np.float64)


def frechet_distance(feats_a, feats_b):
    """The FID formula: |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)).

    Example:
        >>> frechet_distance(np.random.randn(500, 8), np.random.randn(500, 8))  # ~0
    """
    feats_a, feats_b = _check_feature_pair(feats_a, feats_b)
    mu_a, mu_b = feats_a.mean(0), feats_b.mean(0)
    cov_a, cov_b = np.cov(feats_a, rowvar=False), np.cov(feats_b, rowvar=False)
    # tr((S_a S_b)^(1/2)) from the eigenvalues of sqrt(S_a) S_b sqrt(S_a), which are >= 0.
    vals, vecs = np.linalg.eigh(cov_a)
    root_a = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_root = np.sum(np.sqrt(np.clip(cross, 0, None)))
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def feature_distance(judge, images, reference):
    """Frechet distance between judge features of `images` and of real `reference` images (offline FID)."""
    return frechet_distance(features(judge, images), features(judge, reference, name="reference"))


def _check_feature_pair(feats_a, feats_b, names=("feats_a", "feats_b")):
    out = []
    for name, feats in zip(names, (feats_a, feats_b)):
        try:
            feats = np.asarray(feats, np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"Expected `{name}` to be numeric features (N, D). Received: {_checks._fmt(feats)}") from None
        if feats.ndim != 2 or len(feats) < 2 or not np.all(np.isfinite(feats)):
            raise ValueError(f"Expected `{name}` to be finite features (N >= 2, D). Received: {name}.shape={feats.shape}")
        out.append(feats)
    if out[0].shape[1] != out[1].shape[1]:
        raise ValueError(f"Expected `{names[1]}` with {out[0].shape[1]} features like `{names[0]}`. "
                         f"Received: {names[1]}.shape={out[1].shape}")
    return out


def _kernel(a, b):
    """The cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, as a matrix."""
    return ((a @ b.T) / a.shape[1] + 1) ** 3


def _within(a):
    """Mean of k(x_i, x_j) over i != j: one side's term of the unbiased MMD^2."""
    k = _kernel(a, a)
    return (k.sum() - np.trace(k)) / (len(a) * (len(a) - 1))


def kernel_distance(feats_a, feats_b, *, subsets=100, subset_size=1000, seed=0):
    """Kernel distance (the KID formula, Binkowski et al. 2018): unbiased MMD^2, cubic polynomial kernel.

    Unlike the Frechet distance it has no bias at small N (its expectation is 0
    for two samples of one distribution, so single values can be slightly
    negative; a set scored against itself is not a floor: use a disjoint real
    sample), so figures on a few hundred images can be compared with figures on
    thousands. When one side has at most `subset_size` rows it is used whole in
    every subset, and the std then reflects only the other side's resampling. Averaged over `subsets` random
    subsets of `min(subset_size, len(a), len(b))` rows of each side.

    Args:
        feats_a, feats_b: `(N, D)` and `(M, D)` features (N, M >= 2).
        subsets: number of random subsets (>= 1).
        subset_size: rows per subset and side (>= 2).
        seed: seed of the subset draws.

    Returns:
        `(mean, std)` over the subsets (std 0 for one subset).

    Example:
        >>> kid, kid_std = kernel_distance(features(extractor, generated), features(extractor, real))
    """
    a, b = _check_feature_pair(feats_a, feats_b)
    subsets = _checks.positive_int("subsets", subsets)
    subset_size = _checks.positive_int("subset_size", subset_size, minimum=2)
    seed = None if seed is None else _checks.positive_int("seed", seed, minimum=0)
    size = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    # A side used whole in every subset has the same within-term each time: computed once.
    whole = {side: _within(x) for side, x in (("a", a), ("b", b)) if len(x) == size}
    values = []
    for _ in range(subsets):
        pa, pb = rng.choice(len(a), size, replace=False), rng.choice(len(b), size, replace=False)
        within_a = whole["a"] if "a" in whole else _within(a[pa])
        within_b = whole["b"] if "b" in whole else _within(b[pb])
        values.append(within_a + within_b - 2 * _kernel(a[pa], b[pb]).mean())
    return float(np.mean(values)), float(np.std(values))


def feature_scores(extractor, images, reference, *, reference_features=None, subsets=100, seed=0):
    """Frechet and kernel distances between `extractor` features of `images` and of real `reference` images.

    Args:
        extractor: a classifier whose penultimate features are compared (preferably a
            robust one trained independently of the generator: `pretrained.load("fastnet_small_l2_robust")`).
        images: float32 `(N, H, W, C)` in [0, 1], N >= 2 (generated).
        reference: float32 real images in [0, 1] (ignored when `reference_features` is given).
        reference_features: optional precomputed `features(extractor, reference)`, to score many sets
            against one large reference cheaply.
        subsets, seed: of `kernel_distance`.

    Returns:
        dict: `frechet` (lower is better; biased upwards at small N), `kid` and `kid_std` (lower is
        better; unbiased), `n` and `n_reference`.

    Example:
        >>> feature_scores(pretrained.load("fastnet_small_l2_robust"), generated, x_test)["kid"]
    """
    if reference is None and reference_features is None:
        raise ValueError("Expected `reference` images or `reference_features`. Received: both None")
    feats = features(extractor, images)
    if reference_features is None:
        ref = features(extractor, reference, name="reference")
        names = ("images", "reference")
    else:
        ref, names = reference_features, ("images", "reference_features")
    feats, ref = _check_feature_pair(feats, ref, names=names)
    kid, kid_std = kernel_distance(feats, ref, subsets=subsets, seed=seed)
    return {"frechet": frechet_distance(feats, ref), "kid": kid, "kid_std": kid_std, "n": len(feats),
            "n_reference": len(ref)}


def _inception():
    import keras

    try:
        return keras.applications.InceptionV3(include_top=True, weights="imagenet")
    except Exception as err:  # no network: urllib/HTTP errors of many kinds
        raise RuntimeError(
            "The Inception Score needs ImageNet InceptionV3 weights, which could not be downloaded "
            f"(offline?). Use feature_distance with a judge model instead. ({err})") from err


def _inception_inputs(images):
    import keras

    x = keras.ops.image.resize(images, (299, 299), interpolation="bilinear")
    return keras.applications.inception_v3.preprocess_input(np.asarray(x) * 255.0)


def inception_score(images, *, splits=10, batch_size=100):
    """Inception Score (Salimans et al. 2016). Needs downloadable Inception weights."""
    images = _checks.images("images", images)
    splits = _checks.positive_int("splits", splits)
    batch_size = _checks.positive_int("batch_size", batch_size)
    if splits > len(images):
        raise ValueError(f"Expected `splits` <= the number of images ({len(images)}). Received: splits={splits}")
    model = _inception()
    probs = np.concatenate([np.asarray(model(_inception_inputs(images[a:a + batch_size])))
                            for a in range(0, len(images), batch_size)]).astype(np.float64)
    scores = []
    for part in np.array_split(probs, splits):
        kl = part * (np.log(part + 1e-12) - np.log(part.mean(0, keepdims=True) + 1e-12))
        scores.append(np.exp(kl.sum(1).mean()))
    return float(np.mean(scores)), float(np.std(scores))
