"""Clean and robust accuracy over a dataset, batched and reproducible."""

import hashlib
import json
import os

import keras
import numpy as np

from robustkeras import _checks
from robustkeras.attacks.losses import cross_entropy
from robustkeras.attacks.pgd import run_pgd
from robustkeras.models.introspect import logits_model
from robustkeras.progress import progress


def _batches(n, batch_size):
    return [(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def _logits(model, x, batch_size):
    """Logits on checked images, in batches (numpy float32); a final softmax is removed."""
    model = logits_model(model)
    call = (lambda t: model(t, training=False)) if isinstance(model, keras.Model) else model
    return np.concatenate([np.asarray(call(x[a:b]), np.float32) for a, b in _batches(len(x), batch_size)])


def predict_logits(model, x, *, batch_size=500):
    """Logits of `model` on `x` in inference mode, in batches (numpy float32).

    A model ending in a softmax gives the logits under it.

    Example:
        >>> logits = predict_logits(model, x)
    """
    spec = _checks.classifier(model)
    x = _checks.images_for(spec, "x", x)
    batch_size = _checks.positive_int("batch_size", batch_size)
    return _logits(model, x, batch_size)


def clean_accuracy(model, x, y, *, batch_size=500):
    """Fraction of `x` classified as `y`.

    Args:
        model: a Keras classifier taking [0, 1] images (class count and image
            shape are read from it).
        x, y: float images of the model's input shape in [0, 1] and int true labels.
        batch_size: images per forward pass.

    Returns:
        A fraction in [0, 1].

    Example:
        >>> clean_accuracy(model, x, y)
        0.81
    """
    spec = _checks.classifier(model)
    x = _checks.images_for(spec, "x", x, model=model)
    y = _checks.labels("y", y, n=len(x), num_classes=spec.num_classes)
    batch_size = _checks.positive_int("batch_size", batch_size)
    return float(np.mean(np.argmax(_logits(model, x, batch_size), 1) == y))


def robust_accuracy(model, x, y, *, norm="l2", eps=0.5, steps=20, step_size=None, restarts=1,
                    batch_size=500, seed=0, show_progress=False):
    """Clean and PGD robust accuracy (the standard PGD-k evaluation).

    Step size defaults to `2.5 * eps / steps` (Madry et al.). Cross-entropy on
    logits, model in inference mode, each image's worst case over restarts.

    Args:
        model: a Keras classifier taking [0, 1] images (class count and image
            shape are read from it; a final softmax is removed).
        x, y: float images of the model's input shape in [0, 1] and int true labels.
        norm, eps, steps, step_size, restarts: the attack.
        batch_size: images per attack batch.
        seed: seed of the random starts (per batch: `seed + batch index`).
        show_progress: show a progress bar.

    Returns:
        dict with `clean`, `robust` (fractions in [0, 1]), `n`, and the attack settings.

    Example:
        >>> robust_accuracy(model, x, y, norm="l2", eps=0.5, steps=20)["robust"]
        0.58
    """
    spec = _checks.classifier(model, gradients=True)
    x = _checks.images_for(spec, "x", x, model=model)
    y = _checks.labels("y", y, n=len(x), num_classes=spec.num_classes)
    steps = _checks.positive_int("steps", steps)
    eps = _checks.non_negative("eps", eps)
    step_size = 2.5 * eps / steps if step_size is None else _checks.non_negative("step_size", step_size)
    batch_size = _checks.positive_int("batch_size", batch_size)
    norm = _checks.one_of("norm", norm, {"l2", "linf"})
    restarts = _checks.positive_int("restarts", restarts)
    seed = _checks.positive_int("seed", seed, minimum=0)
    clean_ok, robust_ok = 0, 0
    for k, (a, b) in enumerate(progress(_batches(len(x), batch_size), desc=f"PGD-{steps}", enable=show_progress)):
        xb, yb = x[a:b], y[a:b]
        clean_pred = np.argmax(_logits(model, xb, batch_size), 1)
        x_adv = xb if eps == 0 else run_pgd(
            model, xb, yb, None, norm=norm, eps=eps, step_size=step_size, steps=steps, random_start=True,
            loss_fn=cross_entropy, restarts=restarts, seed=seed + k)
        adv_pred = np.argmax(_logits(model, x_adv, batch_size), 1)
        clean_ok += int(np.sum(clean_pred == yb))
        robust_ok += int(np.sum((adv_pred == yb) & (clean_pred == yb)))
    n = len(x)
    return {"clean": clean_ok / n, "robust": robust_ok / n, "n": n, "attack": f"PGD-{steps}",
            "norm": norm, "eps": eps, "step_size": step_size, "restarts": restarts, "seed": seed}


# AutoAttack versions (Croce & Hein 2020): stages in the published order, APGD iterations, target classes.
AUTOATTACK_VERSIONS = {
    "standard": {"stages": ("apgd-ce", "apgd-t", "fab-t", "square"), "steps": 100, "targets": 9, "queries": 5000},
    "apgd": {"stages": ("apgd-ce", "apgd-t"), "steps": 100, "targets": 9},
    "fast": {"stages": ("apgd-ce", "apgd-t"), "steps": 25, "targets": 3},
}
_STAGE_NAMES = {"apgd-ce": "APGD-CE", "apgd-t": "APGD-T", "fab-t": "FAB-T", "square": "Square"}


def _autoattack_units(version, targets, norm, eps):
    """The run as resumable units, in order: `(stage, label, attack(model, x, y, seed) -> x_adv)`."""
    from robustkeras.attacks.apgd import apgd
    from robustkeras.attacks.fab import fab
    from robustkeras.attacks.square import square

    settings = AUTOATTACK_VERSIONS[version]
    steps, units = settings["steps"], []
    for stage in settings["stages"]:
        if stage == "apgd-ce":
            units.append((stage, "APGD-CE", lambda m, x, y, seed: apgd(m, x, y, norm=norm, eps=eps, steps=steps,
                                                                       loss="ce", seed=seed)))
        elif stage == "square":
            units.append((stage, "Square", lambda m, x, y, seed: square(m, x, y, norm=norm, eps=eps, seed=seed,
                                                                        queries=settings["queries"])))
        elif stage == "apgd-t":
            units += [(stage, f"APGD-T {rank}/{targets}", lambda m, x, y, seed, r=rank: apgd(
                m, x, y, norm=norm, eps=eps, steps=steps, loss="dlr", target_rank=r, seed=seed))
                for rank in range(1, targets + 1)]
        elif stage == "fab-t":
            units += [(stage, f"FAB-T {rank}/{targets}", lambda m, x, y, seed, r=rank: fab(
                m, x, y, norm=norm, eps=eps, steps=steps, target_rank=r, seed=seed)[0])
                for rank in range(1, targets + 1)]
    return units


class _RunState:
    """Where a long AutoAttack run stands, saved atomically after every batch to `path` (JSON).

    It holds the settings (a rerun with others is refused), the robust mask,
    the unit being run and the images it has already attacked, the finished
    stages' figures and the seconds spent, so a killed run resumes where it
    stopped.
    """

    def __init__(self, path, settings, n, model_logits):
        self.path, self.settings = path, settings
        # The first clean logits identify the model (settings name only the data): compared with a
        # tolerance, since thread counts change the last bits of a forward pass.
        self.model_logits = np.asarray(model_logits, np.float64)
        self.robust, self.unit, self.attacked, self.stages, self.seconds = None, 0, np.zeros(n, bool), {}, 0.0
        if path is not None and os.path.exists(path):
            saved = self._read(path)
            if saved.get("settings") != settings:
                changed = sorted(k for k in settings if saved.get("settings", {}).get(k) != settings[k])
                raise ValueError(f"Expected `state_path` to hold a run with the same settings. Received: "
                                 f"state_path={path!r} saved with other {', '.join(changed) or 'settings'} "
                                 f"(delete it to start over)")
            saved_logits = np.asarray(saved.get("model_logits", []), np.float64)
            if saved_logits.shape != self.model_logits.shape or not np.allclose(
                    saved_logits, self.model_logits, rtol=1e-3, atol=1e-3):
                raise ValueError(f"Expected `state_path` to hold a run of this model. Received: "
                                 f"state_path={path!r} saved by a model with other logits on these images "
                                 f"(delete it to start over)")
            self.robust = np.array([c == "1" for c in saved["robust"]])
            self.attacked = np.array([c == "1" for c in saved["attacked"]])
            self.unit, self.stages, self.seconds = saved["unit"], saved["stages"], saved["seconds"]

    @staticmethod
    def _read(path):
        try:
            with open(path) as f:
                saved = json.load(f)
            if not isinstance(saved, dict) or not {"robust", "attacked", "unit", "stages", "seconds"} <= set(saved):
                raise ValueError("not a saved AutoAttack run")
            return saved
        except (OSError, ValueError) as err:  # JSONDecodeError is a ValueError
            raise ValueError(f"Expected `state_path` to be a JSON file saved by an AutoAttack run, or a new path. "
                             f"Received: state_path={str(path)!r} ({type(err).__name__}: {err})") from err

    def save(self, seconds):
        if self.path is None:
            return
        from robustkeras._io import write_text

        bits = lambda mask: "".join("1" if b else "0" for b in mask)  # noqa: E731
        write_text(self.path, json.dumps({
            "settings": self.settings, "model_logits": self.model_logits.round(6).tolist(),
            "robust": bits(self.robust), "unit": self.unit,
            "attacked": bits(self.attacked), "stages": self.stages, "seconds": round(seconds, 2)}))


def autoattack(model, x, y, *, norm, eps, version="apgd", seed=0, batch_size=500, show_progress=False,
               state_path=None):
    """Robust accuracy under AutoAttack (Croce & Hein 2020), per image the worst case over its stages.

    `version="standard"` is the published AutoAttack, the figure RobustBench
    and papers report: APGD-CE, APGD-T (targeted DLR towards each of the 9
    most likely wrong classes), FAB-T (the same 9 targets) and the
    gradient-free Square attack (5,000 queries), in that order, each on the
    images that are still robust; 100 iterations and one restart each.
    Square is what catches gradient masking. An image counts as robust only
    if it survives every stage.

    `version="apgd"` (the default) runs only APGD-CE and APGD-T: an upper
    bound on the standard figure, much faster, and on models that do not
    mask gradients usually within a few tenths of a point of it. Report it
    as "AutoAttack (APGD)". `version="fast"` (25 iterations, top-3 targets)
    is for the classroom: weaker, never to be reported as AutoAttack.

    A long run (the standard version on thousands of images takes hours on
    a CPU) can be made resumable with `state_path`: after every batch the
    robust mask and the position are written there atomically; rerun the
    same call to continue. A progress bar per unit shows how far it is.

    Args:
        model: classifier returning logits, inputs in [0, 1] (the class
            count comes from its outputs, at least 4; 9 targets or all wrong classes).
        x, y: float images in [0, 1] and int true labels.
        norm: "l2" or "linf".
        eps: radius of the threat ball.
        version: "standard", "apgd" or "fast".
        seed: seed of the random starts (per batch: `seed + batch index`).
        batch_size: images per attack batch.
        show_progress: a progress bar per unit (stage, or stage and target).
        state_path: optional JSON file to save progress to and resume from.

    Returns:
        dict with `clean` and `robust` (fractions in [0, 1]), `stages` (robust
        accuracy after each stage, in order), `seconds`, `n`, `attack`,
        `version` and the settings.

    Example:
        >>> result = autoattack(model, x, y, norm="l2", eps=0.5, version="standard")
        >>> result["robust"] <= result["stages"]["apgd-ce"] <= result["clean"]
        True
    """
    import time

    x = _checks.images_for(_checks.classifier(model, gradients=True), "x", x, model=model)
    norm = _checks.one_of("norm", norm, {"l2", "linf"})
    eps = _checks.non_negative("eps", eps)
    version = _checks.one_of("version", version, AUTOATTACK_VERSIONS)
    seed = _checks.positive_int("seed", seed, minimum=0)
    batch_size = _checks.positive_int("batch_size", batch_size)
    if state_path is not None and not isinstance(state_path, (str, os.PathLike)):
        raise ValueError(f"Expected `state_path` to be a file path or None. Received: state_path={state_path!r}")
    logits = _logits(model, x, batch_size)  # x is checked: no second scan per call
    y = _checks.labels("y", y, n=len(x), num_classes=logits.shape[-1])
    if logits.shape[-1] < 4:  # APGD-T's targeted DLR loss uses the 4 largest logits
        raise ValueError(f"Expected `model` with at least 4 classes for AutoAttack (its APGD-T stage uses the "
                         f"targeted DLR loss). Received: a model with {logits.shape[-1]} classes; use "
                         f"attacks.apgd(..., loss='ce'), attacks.square or attacks.fab directly")
    targets = min(AUTOATTACK_VERSIONS[version]["targets"], logits.shape[-1] - 1)
    settings = {"version": version, "norm": norm, "eps": eps, "seed": seed, "batch_size": batch_size, "n": len(x),
                "labels": hashlib.sha256(y.tobytes()).hexdigest()[:16],
                "images": hashlib.sha256(x.tobytes()).hexdigest()[:16]}
    state = _RunState(state_path, settings, len(x), logits[:8])
    start = time.perf_counter() - state.seconds
    clean_ok = np.argmax(logits, 1) == y
    if state.robust is None:
        state.robust = clean_ok.copy()
    units = _autoattack_units(version, targets, norm, eps)
    for i in range(state.unit, len(units)):
        stage, label, attack = units[i]
        todo = np.flatnonzero(state.robust & ~state.attacked)
        done = int(np.ceil(np.sum(state.attacked) / batch_size))  # batches run before a resume
        for k, (a, b) in enumerate(progress(_batches(len(todo), batch_size), desc=label, enable=show_progress)):
            idx = todo[a:b]
            x_adv = attack(model, x[idx], y[idx], seed + done + k)
            fooled = np.argmax(_logits(model, x_adv, batch_size), 1) != y[idx]
            state.robust[idx[fooled]], state.attacked[idx] = False, True
            state.save(time.perf_counter() - start)
        if i + 1 == len(units) or units[i + 1][0] != stage:
            state.stages[stage] = float(np.mean(state.robust))
        state.unit, state.attacked[:] = i + 1, False
        state.save(time.perf_counter() - start)
    stages = {s: state.stages[s] for s in AUTOATTACK_VERSIONS[version]["stages"]}
    names = ", ".join(_STAGE_NAMES[s] for s in stages)
    result = {"clean": float(np.mean(clean_ok)), "robust": float(np.mean(state.robust)), "stages": stages,
              "seconds": round(time.perf_counter() - start, 2), "n": len(x),
              "attack": f"AutoAttack ({version}: {names})", "version": version, "norm": norm, "eps": eps,
              "steps": AUTOATTACK_VERSIONS[version]["steps"], "targets": targets, "seed": seed}
    if version == "standard":
        result["queries"] = AUTOATTACK_VERSIONS[version]["queries"]
    return result
