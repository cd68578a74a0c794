"""Inpainting: fill a masked region so the image shows its class, keep the rest."""

import numpy as np

from robustkeras import _checks
from robustkeras.imageops import make_mask  # noqa: F401  (public here since the first release)
from robustkeras.synthesis import optimizer
from robustkeras.synthesis.conditional_seeds import conditional_fill, stats_fit
from robustkeras.synthesis.inpaint_baselines import diffusion_fill
from robustkeras.synthesis.seeds import load_class_stats
from robustkeras.synthesis.terms import class_log_prob, squared_distance

STARTS = ("auto", "conditional", "diffusion", "grey")


def inpaint_objective(params, x, logits, features):
    """log p(class | x) minus `weight` times the squared change outside the mask."""
    return class_log_prob(logits, params["target"]) - params["weight"] * squared_distance(
        x, params["reference"], params["keep"])


def hold_visible(params, x):
    """Paste the visible pixels back (after every step): the classifier always sees the true surroundings."""
    return params["reference"] * params["keep"] + x * params["hole"]


def _start_fill(images, target, mask, start, stats, spec):
    """The fill the optimizer starts from, and the name of the start actually used."""
    if start in ("auto", "conditional"):
        default = stats is None
        stats = load_class_stats() if default else stats
        if stats_fit(stats, images.shape[1:], spec.num_classes):
            return conditional_fill(images, mask, target, stats=stats), "conditional"
        if start == "conditional" or not default:
            shape = "x".join(map(str, images.shape[1:]))
            raise ValueError(
                f"Expected `stats` for {spec.num_classes} classes of {shape} images for the conditional start"
                f"{' (left out: the shipped CIFAR-10 statistics)' if default else ''}. Received: statistics that "
                "do not fit (compute_class_stats on this model's data, or start='diffusion')")
    if start in ("auto", "diffusion"):
        return diffusion_fill(images, mask), "diffusion"
    return (images * (1 - mask) + 0.5 * mask).astype(np.float32), "grey"


def inpaint(model, images, target, mask, *, steps=60, step_size=1.0, weight=10.0, radius=2.0, start="auto",
            stats=None):
    """Fill `mask` in `images` so that it continues the picture and shows `target`; keep the rest.

    Two stages. (1) A classifier-free start: the class Gaussian's conditional
    mean given the visible pixels, made continuous at the border
    (`conditional_fill`). (2) The robust classifier pushes the hole towards
    `target` (log p(target | x)) inside an L2 ball of `radius` around that
    start, while the visible pixels are pasted back after every step, so the
    classifier always judges the fill in its true surroundings. Outside the
    mask (mask 0) every returned pixel equals the input exactly (a soft mask
    blends: `images * (1 - mask) + filled * mask`).

    Defaults, chosen on 64 training images (not on the test images that
    benchmarks/inpainting_quality.py reports). Centre 25 % holes: the old
    default (grey start, no ball) gave hole PSNR 12.2 dB and low-pass judge
    accuracy 0.80, the diffusion fill 15.9 dB and 0.38.
        start="auto": the conditional start alone gives 16.4 dB (judge 0.45),
            above the diffusion fill, and a push from it keeps far more PSNR
            than one from grey; "auto" falls back to "diffusion" when the
            shipped statistics do not fit the model.
        radius=2.0: the push's budget. Radius 0 / 1 / 2 / 2.5 gives judge
            0.45 / 0.59 / 0.81 / 0.84 at 16.4 / 16.3 / 15.8 / 15.4 dB (radius 1:
            30 steps): 2 is the smallest ball that keeps the low-pass judge at
            the old accuracy (random holes: 16.1 dB and 0.78 against the old
            12.5 dB and 0.70). `radius=0` returns the conditional fill itself,
            the best PSNR, but the judge falls to the masked images' level.
        steps=60, step_size=1.0: 60 steps use the ball better than 30 (judge
            0.81 vs 0.77 at equal PSNR) at the old default's cost; the first
            step of 1.0 (then cosine decay) reaches the ball's surface early.
        The visible pixels are held fixed at every step, not only pasted at
            the end: the classifier judges the fill in its true surroundings
            and spends the whole ball inside the hole.
        weight=10.0: as before; with the visible pixels held fixed the term
            is zero for a hard mask (it only anchors a soft mask's visible part).
    Not kept (measured, no gain): a smoothness (Dirichlet) term on the push
    (it only shrank the push: radius 3 with it gave 16.1 dB and judge 0.58,
    no better than radius 1 without), a cap on p(target)
    (judge 0.58 at equal PSNR), and a push restricted to 2x2 blocks (its judge
    gain vanished when the images were shifted one pixel before the judge's
    2x2 pooling: it matched the judge's grid, not the object).

    Args:
        model: robust classifier.
        images: float32 `(N, H, W, C)` in [0, 1], of the model's input shape (the masked pixels are ignored).
        target: int `(N,)`: the class each filled image should show (usually the true label).
        mask: `(N, H, W, 1)` or `(H, W, 1)`, 1 where pixels are missing.
        steps, step_size: the optimizer (step length decays from `step_size` to 0).
        weight: weight of the consistency term outside the mask.
        radius: L2 radius of the ball around the start fill (`np.inf`: no ball).
        start: "auto" (conditional, else diffusion), "conditional"
            (`conditional_fill`; needs statistics that fit), "diffusion"
            (`diffusion_fill`) or "grey" (0.5, the old start).
        stats: class statistics from `compute_class_stats` for the conditional
            start (default: the shipped CIFAR-10 ones; given ones must fit).

    An empty mask leaves the images unchanged.

    Returns:
        `SynthesisResult`. `start` is the masked input with the hole grey (as
        shown beside a result); `extras`: `mask`, `target`, `initial_fill` (the
        classifier-free fill the optimizer started from) and `start_kind` (the
        start used). `objective_values` are those of the optimizer's iterates.

    Example:
        >>> filled = inpaint(model, x, y, make_mask("center", len(x), 32)).images
    """
    spec = optimizer.checked_model(model)
    images = _checks.images_for(spec, "images", images, model=model)
    target = _checks.labels("target", target, n=len(images), num_classes=spec.num_classes)
    mask = _checks.mask("mask", mask, images.shape)
    weight = _checks.non_negative("weight", weight)
    steps, step_size, radius = optimizer.check_settings(steps, step_size, radius)
    start = _checks.one_of("start", start, set(STARTS))
    images, mask = np.asarray(images, np.float32), np.ascontiguousarray(mask, np.float32)
    initial, start_kind = _start_fill(images, target, mask, start, stats, spec)
    keep = 1.0 - mask  # outside the hole the image stays exactly as it was (an empty mask: all of it)
    params = {"target": target, "reference": images, "keep": keep, "hole": mask, "weight": np.float32(weight)}
    result = optimizer.run(model, initial, objective=inpaint_objective, params=params, steps=steps,
                           step_size=step_size, radius=radius, project=hold_visible)
    result.images = (images * keep + result.images * mask).astype(np.float32)
    result.start = (images * keep + 0.5 * mask).astype(np.float32)
    result.extras.update(mask=mask, target=target, initial_fill=initial, start_kind=start_kind)
    return result
