"""robustkeras PGD against ART and cleverhans PGD: robust accuracy and wall time per image-step.

Same model, same test images, same attack (L2 eps=0.5 and Linf eps=8/255, 20
steps, step size 2.5 * eps / steps, one random start, cross-entropy on logits,
model in inference mode, same batch size). Robust accuracy counts an image as
robust when it is classified correctly both clean and after the attack (as
`robustkeras.evaluate.robust_accuracy` does). Each tool is warmed up on one
batch first (tracing is not timed).

The peers are optional (`pip install -e .[bench]`, best in a separate venv);
a peer that is not installed or fails is skipped with the reason printed.
Accuracies should agree within 1.5 points; robustkeras targets >= 1.5x the
speed of ART.

Example:
    python benchmarks/compare_attacks.py                           # 1000 images, both norms
    python benchmarks/compare_attacks.py --n 64 --steps 2 --norms l2
"""

import argparse
import time

import numpy as np

import _common

TOOLS = ["robustkeras", "art", "cleverhans"]
EPS = {"l2": 0.5, "linf": 8 / 255}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="test images attacked")
    parser.add_argument("--steps", type=int, default=20, help="PGD steps")
    parser.add_argument("--batch", type=int, default=250, help="attack batch size (all tools)")
    parser.add_argument("--norms", nargs="+", default=["l2", "linf"], choices=["l2", "linf"])
    parser.add_argument("--tools", nargs="+", default=TOOLS, choices=TOOLS)
    parser.add_argument("--weights", default="fastnet_l2_robust",
                        help="pretrained model name; if it cannot be loaded, a small model is trained quickly")
    parser.add_argument("--fallback-arch", default="fastnet_small", help="architecture trained when --weights fails")
    parser.add_argument("--no-random-start", action="store_true", help="start every tool at the clean images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: default)")
    return parser.parse_args(argv)


# Models ------------------------------------------------------------------------
def quick_model(arch="fastnet_small", *, images=5000, epochs=2, seed=0):
    """A small L2-robust model trained in about a minute (fast FGSM-RS, eps 0.5), for when no weights exist."""
    import keras

    from robustkeras.data import load_cifar10_arrays, to_float
    from robustkeras.models import get_model
    from robustkeras.training import AdversarialTrainer

    keras.utils.set_random_seed(seed)
    x, y = load_cifar10_arrays("train", limit=images)
    classifier = get_model(arch)
    trainer = AdversarialTrainer(classifier, norm="l2", eps=0.5, steps=1, seed=seed)
    trainer.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True))
    trainer.fit(to_float(x), y.astype(np.int32), batch_size=128, epochs=epochs, verbose=0)
    return classifier


def load_model(weights, fallback_arch, seed=0):
    """`(model, description)`: the pretrained model, or a quickly trained small one."""
    try:
        from robustkeras import pretrained

        model = pretrained.load(weights)
        entry = pretrained.manifest()[weights]
        note = f", {entry['note']}" if entry.get("note") else ""
        return model, f"pretrained `{weights}` ({entry['arch']}, sha256 {entry['sha256'][:12]}{note})"
    except Exception as err:  # missing module, file or name: fall back, say why
        print(f"note: pretrained `{weights}` unavailable ({type(err).__name__}: {err}); "
              f"training a quick {fallback_arch} instead", flush=True)
        return quick_model(fallback_arch, seed=seed), f"{fallback_arch}, quick L2 FGSM-RS training (5k images, 2 epochs)"


# The three attacks, one signature: (model, x, y, norm, eps, step_size, steps, batch, random_start, seed) -> numpy
def robustkeras_pgd(model, x, y, norm, eps, step_size, steps, batch, random_start, seed):
    from robustkeras.attacks import pgd

    out = [pgd(model, x[a:a + batch], y[a:a + batch], norm=norm, eps=eps, step_size=step_size, steps=steps,
               random_start=random_start, seed=seed + k) for k, a in enumerate(range(0, len(x), batch))]
    return np.concatenate(out)


def art_pgd(model, x, y, norm, eps, step_size, steps, batch, random_start, seed):
    import tensorflow as tf
    from art.attacks.evasion import ProjectedGradientDescent
    from art.estimators.classification import TensorFlowV2Classifier

    np.random.seed(seed)  # ART draws its random start with numpy
    classifier = TensorFlowV2Classifier(
        model=model, nb_classes=10, input_shape=x.shape[1:], clip_values=(0.0, 1.0),
        loss_object=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    attack = ProjectedGradientDescent(
        classifier, norm=2 if norm == "l2" else np.inf, eps=eps, eps_step=step_size, max_iter=steps,
        num_random_init=1 if random_start else 0, batch_size=batch, verbose=False)
    return attack.generate(x=x, y=y)


def cleverhans_pgd(model, x, y, norm, eps, step_size, steps, batch, random_start, seed):
    import tensorflow as tf
    from cleverhans.tf2.attacks.projected_gradient_descent import projected_gradient_descent

    tf.random.set_seed(seed)  # cleverhans draws its random start with tf.random
    model_fn = _inference(model)
    out = [projected_gradient_descent(
        model_fn, tf.constant(x[a:a + batch]), eps, step_size, steps, 2 if norm == "l2" else np.inf,
        clip_min=0.0, clip_max=1.0, y=tf.constant(y[a:a + batch]), rand_init=random_start).numpy()
        for a in range(0, len(x), batch)]
    return np.concatenate(out)


_INFERENCE = {}


def _inference(model):
    """One `x -> logits` callable per model (cleverhans caches its traced gradient on it)."""
    if id(model) not in _INFERENCE:
        _INFERENCE[id(model)] = lambda t: model(t, training=False)
    return _INFERENCE[id(model)]


ATTACKS = {"robustkeras": robustkeras_pgd, "art": art_pgd, "cleverhans": cleverhans_pgd}
IMPORTS = {"robustkeras": "robustkeras", "art": "art", "cleverhans": "cleverhans.tf2"}


def available(tool):
    """`None` if `tool` can be imported, else the reason it cannot."""
    try:
        __import__(IMPORTS[tool])
        return None
    except Exception as err:
        return f"{type(err).__name__}: {err}"


# Measuring -----------------------------------------------------------------------
def predictions(model, x, batch=500):
    return np.concatenate([np.argmax(np.asarray(model(x[a:a + batch], training=False)), 1)
                           for a in range(0, len(x), batch)])


def run_attack(tool, model, x, y, norm, steps, batch, random_start, seed, clean_ok):
    """Robust accuracy and seconds of one tool on one threat model (after an untimed warm-up)."""
    eps = EPS[norm]
    settings = dict(norm=norm, eps=eps, step_size=2.5 * eps / steps, steps=steps, batch=batch,
                    random_start=random_start, seed=seed)
    attack = ATTACKS[tool]
    attack(model, x[:batch], y[:batch], **{**settings, "steps": 1})  # warm-up: tracing, imports
    start = time.perf_counter()
    x_adv = attack(model, x, y, **settings)
    seconds = time.perf_counter() - start
    check_ball(x_adv, x, norm, eps, tool)
    robust = float(np.mean(clean_ok & (predictions(model, x_adv) == y)))
    return robust, seconds


def check_ball(x_adv, x, norm, eps, tool):
    """Fail loudly if a tool's output leaves the eps-ball or [0, 1] (a broken comparison)."""
    delta = (np.asarray(x_adv, np.float32) - x).reshape(len(x), -1)
    size = np.abs(delta).max(1) if norm == "linf" else np.linalg.norm(delta, axis=1)
    if size.max() > eps * 1.001 + 1e-5 or x_adv.min() < -1e-6 or x_adv.max() > 1 + 1e-6:
        raise AssertionError(f"{tool}: adversarial images leave the {norm} ball of {eps:.4f} or [0, 1]")


def compare(model, x, y, *, norms, tools, steps, batch, random_start=True, seed=0, log=print):
    """Rows `{norm, tool, robust, seconds, us_per_image_step}` (skipped tools have `skipped` instead)."""
    clean_ok = predictions(model, x) == y
    rows = []
    for tool in tools:
        reason = available(tool)
        for norm in norms:
            row = {"norm": norm, "tool": tool, "clean": float(np.mean(clean_ok))}
            if reason is None:
                try:
                    robust, seconds = run_attack(tool, model, x, y, norm, steps, batch, random_start, seed,
                                                 clean_ok)
                    row.update(robust=robust, seconds=seconds, us=1e6 * seconds / (len(x) * steps))
                except Exception as err:  # a peer breaking on this TF/Keras: report and go on
                    row["skipped"] = f"failed: {type(err).__name__}: {str(err).splitlines()[0][:120]}"
            else:
                row["skipped"] = f"not installed ({reason})"
            log(f"  {tool} {norm}: " + (row.get("skipped") or f"robust {row['robust']:.3f}, {row['seconds']:.1f} s"))
            rows.append(row)
    return rows


def print_table(rows):
    reference = {r["norm"]: r for r in rows if r["tool"] == "robustkeras" and "robust" in r}
    out = []
    for r in rows:
        ref = reference.get(r["norm"])
        if "skipped" in r:
            out.append([r["norm"], r["tool"], "-", "-", "-", "-", r["skipped"]])
            continue
        diff = f"{100 * (r['robust'] - ref['robust']):+.1f}" if ref else "-"
        speed = f"{r['us'] / ref['us']:.2f}x" if ref else "-"
        out.append([r["norm"], r["tool"], f"{100 * r['robust']:.1f}", diff, f"{r['us']:.0f}", speed, ""])
    _common.table(["norm", "tool", "robust acc (%)", "vs robustkeras (points)", "us / image-step",
                   "robustkeras speed-up", "note"], out)


def main(argv=None):
    args = parse_args(argv)
    _common.set_threads(args.threads)
    model, described = load_model(args.weights, args.fallback_arch, args.seed)
    x, y, source = _common.test_images(args.n)
    _common.header("PGD: robustkeras vs ART vs cleverhans (same model, images and settings)",
                   data=f"{len(x)} images from {source}")
    start = "random start (1 restart)" if not args.no_random_start else "no random start"
    print(f"model: {described}; {args.steps} steps, step size 2.5*eps/steps, {start}, batch {args.batch}; "
          f"L2 eps 0.5, Linf eps 8/255", flush=True)
    rows = compare(model, x, y, norms=args.norms, tools=args.tools, steps=args.steps, batch=args.batch,
                   random_start=not args.no_random_start, seed=args.seed)
    print(f"\nclean accuracy: {100 * rows[0]['clean']:.1f}%\n")
    print_table(rows)
    print("agreement target: within 1.5 points; speed target: robustkeras >= 1.5x ART")


if __name__ == "__main__":
    main()
