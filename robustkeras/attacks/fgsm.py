"""Fast gradient (sign) method: one full-size step, optionally from a random start."""

from robustkeras.attacks.pgd import _checked_pgd


def fgsm(model, x, y, *, norm, eps, step_size=None, random_start=False, target=None,
         loss="ce", seed=0, num_classes=None, batch_size=None):
    """One gradient step of length `step_size` (default `eps`), projected onto the ball.

    With `random_start=True` this is the "fast adversarial training" attack of
    Wong et al. 2020 (use `step_size=1.25 * eps`). The classic FGSM of
    Goodfellow et al. is `norm="linf"` (there is no default threat model).

    Args:
        model, x, y, norm, eps, target, loss, seed, num_classes, batch_size: as
            in `pgd` (`y` holds the true labels; `target=` makes the step
            targeted, each target differing from its true label).
        step_size: step length; defaults to `eps`.
        random_start: start from a random point of the ball.

    Returns:
        numpy float32 adversarial images.

    Example:
        >>> x_adv = fgsm(model, x, y, norm="linf", eps=8 / 255)
    """
    return _checked_pgd(model, x, y, norm=norm, eps=eps, step_size=step_size,
                        steps=1, target=target, random_start=random_start, loss=loss, restarts=1, seed=seed,
                        num_classes=num_classes, batch_size=batch_size)
