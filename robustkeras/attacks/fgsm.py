"""Fast gradient (sign) method: one full-size step, optionally from a random start."""

from robustkeras.attacks.pgd import checked_pgd, legacy_targeted


def fgsm(model, x, y, *, norm="linf", eps, step_size=None, random_start=False, target=None,
         loss="ce", seed=0, num_classes=None, targeted=None):
    """One gradient step of length `step_size` (default `eps`), projected onto the ball.

    With `random_start=True` this is the "fast adversarial training" attack of
    Wong et al. 2020 (use `step_size=1.25 * eps`).

    Args:
        model, x, y, norm, eps, target, loss, seed, num_classes: as in `pgd`
            (`y` holds the true labels; `target=` makes the step targeted, each target
            differing from its true label).
        step_size: step length; defaults to `eps`.
        random_start: start from a random point of the ball.
        targeted: deprecated, as in `pgd`.

    Returns:
        numpy float32 adversarial images.

    Example:
        >>> x_adv = fgsm(model, x, y, eps=8 / 255)
    """
    legacy = targeted is not None
    target = legacy_targeted("fgsm", y, target, targeted)
    return checked_pgd(model, x, y, target, norm=norm, eps=eps, step_size=eps if step_size is None else step_size,
                       steps=1, random_start=random_start, loss=loss, restarts=1, seed=seed,
                       num_classes=num_classes, legacy=legacy)
