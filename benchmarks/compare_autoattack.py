"""robustkeras APGD against ART's AutoProjectedGradientDescent: robust accuracy and wall time.

Same model, the first N test images (default 1000), same settings for both
tools: 100 iterations, 1 restart (random start on the eps-sphere), initial
step 2 * eps, momentum 0.75, same batch size; APGD-CE on the clean-correct
images, then untargeted APGD-DLR on the images still correct. An image is
robust if it is correct clean and after both stages (per-image worst case).
Accuracies should agree within 1.5 points; robustkeras targets >= 3x the speed
of ART. Wall times include everything (tracing, compilation, ART's set-up).

ART really runs, through its own `AutoProjectedGradientDescent` with
`loss_type="cross_entropy"` then `"difference_logits_ratio"` on a
`TensorFlowV2Classifier`. Under Keras 3 that path breaks: ART 1.20 refers to
`tf.keras.losses.Reduction` (a Keras 2 name, absent from Keras 3) when it
builds its per-image losses and in `compute_loss`. `_patch_art_for_keras3`
installs a three-value stand-in (`NONE="none"`, `SUM="sum"`,
`SUM_OVER_BATCH_SIZE="sum_over_batch_size"`, the strings Keras 3 losses
accept), after which ART's own code runs unchanged.

Install ART in a separate venv so the main one is not disturbed:
    python3 -m venv .venv-bench && . .venv-bench/bin/activate
    pip install -e . adversarial-robustness-toolbox

Example:
    python benchmarks/compare_autoattack.py --model fastnet_l2_robust          # 1000 images
    python benchmarks/compare_autoattack.py --demo --n 100 --steps 20          # smoke test, no weights needed
"""

import argparse
import datetime
import os
import platform
import sys
import time

import numpy as np

EPS = {"l2": 0.5, "linf": 8 / 255}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="fastnet_l2_robust",
                        help="pretrained model name (robustkeras.pretrained)")
    parser.add_argument("--demo", action="store_true",
                        help="instead of --model, train fastnet_small for 2 epochs on 5000 images (a smoke test)")
    parser.add_argument("--n", type=int, default=1000, help="first N test images")
    parser.add_argument("--norm", default="l2", choices=["l2", "linf"])
    parser.add_argument("--eps", type=float, default=None, help="default: 0.5 (l2) or 8/255 (linf)")
    parser.add_argument("--steps", type=int, default=100, help="APGD iterations per stage")
    parser.add_argument("--batch", type=int, default=500, help="attack batch size (both tools)")
    parser.add_argument("--tools", nargs="+", default=["robustkeras", "art"], choices=["robustkeras", "art"])
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def header(title):
    import keras
    import tensorflow as tf

    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# {title}")
    print(f"machine: {cpu}, {os.cpu_count()} cores, GPU: {len(tf.config.list_physical_devices('GPU'))}")
    print(f"date: {now}; tensorflow {tf.__version__}, keras {keras.__version__} ({keras.backend.backend()})")


# Model and data ------------------------------------------------------------------
def demo_model(seed=0):
    """A plainly trained fastnet_small (2 epochs, 5000 training images): a smoke-test stand-in."""
    import keras

    from robustkeras.data import load_cifar10_arrays, to_float
    from robustkeras.models import get_model

    keras.utils.set_random_seed(seed)
    x, y = load_cifar10_arrays("train", limit=5000)
    model = get_model("fastnet_small")
    model.compile(keras.optimizers.Adam(2e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(to_float(x), y.astype(np.int32), batch_size=128, epochs=2, verbose=0)
    return model


def load_model(args):
    """`(model, description)`; a clear error when the pretrained model is not there."""
    if args.demo:
        return demo_model(args.seed), "demo: fastnet_small, plain training, 2 epochs on 5000 images"
    try:
        from robustkeras import pretrained

        return pretrained.load(args.model), f"pretrained `{args.model}`"
    except Exception as err:  # missing module, file or name
        sys.exit(f"compare_autoattack: cannot load pretrained model `{args.model}` "
                 f"({type(err).__name__}: {err}). Train and register it first, or pass --demo for a smoke test.")


def predictions(model, x, batch=500):
    return np.concatenate([np.argmax(np.asarray(model(x[a:a + batch], training=False)), 1)
                           for a in range(0, len(x), batch)])


# The two tools: (model, x, y, norm, eps, steps, batch, loss, seed) -> adversarial images -------------
def robustkeras_apgd(model, x, y, norm, eps, steps, batch, loss, seed):
    from robustkeras.attacks import apgd

    return np.concatenate([apgd(model, x[a:a + batch], y[a:a + batch], norm=norm, eps=eps, steps=steps,
                                loss=loss, seed=seed + k)
                           for k, a in enumerate(range(0, len(x), batch))])


def _patch_art_for_keras3():
    """Give Keras 3 the `tf.keras.losses.Reduction` names that ART 1.20 still uses."""
    import types

    import tensorflow as tf

    if not hasattr(tf.keras.losses, "Reduction"):
        tf.keras.losses.Reduction = types.SimpleNamespace(
            NONE="none", SUM="sum", SUM_OVER_BATCH_SIZE="sum_over_batch_size")


def art_apgd(model, x, y, norm, eps, steps, batch, loss, seed):
    import tensorflow as tf
    from art.attacks.evasion import AutoProjectedGradientDescent
    from art.estimators.classification import TensorFlowV2Classifier

    _patch_art_for_keras3()
    np.random.seed(seed)  # ART draws its random start with numpy
    classifier = TensorFlowV2Classifier(
        model=model, nb_classes=10, input_shape=x.shape[1:], clip_values=(0.0, 1.0),
        loss_object=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    attack = AutoProjectedGradientDescent(
        classifier, norm=2 if norm == "l2" else np.inf, eps=eps, eps_step=2 * eps, max_iter=steps,
        targeted=False, nb_random_init=1, batch_size=batch,
        loss_type={"ce": "cross_entropy", "dlr": "difference_logits_ratio"}[loss], verbose=False)
    return attack.generate(x=x, y=np.eye(10, dtype=np.float32)[y])


ATTACKS = {"robustkeras": robustkeras_apgd, "art": art_apgd}


def evaluate(tool, model, x, y, clean_ok, args, eps):
    """Robust accuracy after APGD-CE and after APGD-DLR, and the wall time of both stages."""
    robust = clean_ok.copy()
    after, start = {}, time.perf_counter()
    for loss in ("ce", "dlr"):
        idx = np.flatnonzero(robust)
        if idx.size:
            x_adv = ATTACKS[tool](model, x[idx], y[idx], args.norm, eps, args.steps, args.batch, loss, args.seed)
            delta = (x_adv - x[idx]).reshape(len(idx), -1)
            size = np.abs(delta).max(1) if args.norm == "linf" else np.linalg.norm(delta, axis=1)
            assert size.max() <= eps * (1 + 1e-4) + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1, tool
            robust[idx[predictions(model, x_adv, args.batch) != y[idx]]] = False
        after[loss] = float(np.mean(robust))
    return after, time.perf_counter() - start


def main(argv=None):
    args = parse_args(argv)
    from robustkeras.data import load_cifar10_arrays, to_float

    eps = EPS[args.norm] if args.eps is None else args.eps
    header("robustkeras APGD vs ART AutoProjectedGradientDescent")
    model, description = load_model(args)
    x, y = load_cifar10_arrays("test", limit=args.n)
    x, y = to_float(x), y.astype(np.int32)
    print(f"data: first {len(x)} test images, measured on the offline CIFAR-10 copy")
    print(f"model: {description}; attack: {args.norm} eps={eps:.4g}, {args.steps} iterations, 1 restart, "
          f"initial step 2*eps, batch {args.batch}; CE then DLR on the still-robust images\n", flush=True)
    clean_ok = predictions(model, x, args.batch) == y
    results = {}
    for tool in args.tools:
        results[tool] = evaluate(tool, model, x, y, clean_ok, args, eps)
        print(f"{tool}: done in {results[tool][1]:.1f} s", flush=True)
    print(f"clean accuracy: {clean_ok.mean():.2%}\n")
    print("| tool | robust after CE | robust after CE+DLR | seconds |")
    print("|------|-----------------|---------------------|---------|")
    for tool, (after, seconds) in results.items():
        print(f"| {tool} | {after['ce']:.2%} | {after['dlr']:.2%} | {seconds:.1f} |")
    if {"robustkeras", "art"} <= set(results):
        gap = 100 * abs(results["robustkeras"][0]["dlr"] - results["art"][0]["dlr"])
        ratio = results["art"][1] / results["robustkeras"][1]
        print(f"\nrobust accuracy gap: {gap:.1f} points ({'within' if gap <= 1.5 else 'OUTSIDE'} 1.5); "
              f"robustkeras is {ratio:.1f}x faster than ART (target >= 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
