"""robustkeras AutoAttack stages against ART, stage by stage: robust accuracy and wall time.

Same model, the first N test images, same settings for both tools, each stage
run on its own on the clean-correct images (so each row compares like with like):

- APGD-CE and untargeted APGD-DLR: robustkeras `attacks.apgd` vs ART's
  `AutoProjectedGradientDescent` (100 iterations, one restart: random start
  on the eps-sphere, initial step 2 * eps, momentum 0.75, same batch size).
- Square: robustkeras `attacks.square` vs ART's `SquareAttack` (margin loss,
  `p_init` 0.8, one restart, the window schedule stretched to the budget as
  ART does; ART's `max_iter` iterations after its start are `max_iter + 1`
  queries in robustkeras' count).

ART has no FAB and no APGD-T with the targeted DLR loss (its targeted APGD
negates the untargeted DLR of the target class), so those standard stages have
no row here (`--stages square square-masked` also times robustkeras' Square with broken images
masked in place instead of dropped from the batch); FAB is checked against analytic answers and PGD
in tests/test_fab.py.
Robust accuracies should agree within 1.5 points; the goal is >= 3x ART's speed
per stage. Wall times include tracing, compilation and ART's set-up.

ART really runs, through its own classes on a `TensorFlowV2Classifier`. Under
Keras 3, ART 1.20 refers to `tf.keras.losses.Reduction` (a Keras 2 name);
`_patch_art_for_keras3` installs a three-value stand-in, after which ART's own
code runs unchanged.

Install ART in a separate venv so the main one is not disturbed:
    python3 -m venv .venv-bench && . .venv-bench/bin/activate && pip install -e ".[bench]"

Example:
    python benchmarks/compare_autoattack.py --model fastnet_l2_robust --n 500        # all stages
    python benchmarks/compare_autoattack.py --stages square --queries 1000 --n 200
    python benchmarks/compare_autoattack.py --demo --n 100 --steps 20 --queries 100  # smoke test
"""

import argparse
import sys
import time

import numpy as np

EPS = {"l2": 0.5, "linf": 8 / 255}
STAGES = ("apgd-ce", "apgd-dlr", "square")
# robustkeras only: Square with broken images masked in one compiled call instead of dropped between chunks.
EXTRA = ("square-masked",)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="fastnet_l2_robust",
                        help="pretrained model name (robustkeras.pretrained)")
    parser.add_argument("--demo", action="store_true",
                        help="instead of --model, train fastnet_small for 2 epochs on 5000 images (a smoke test)")
    parser.add_argument("--n", type=int, default=500, help="first N test images")
    parser.add_argument("--norm", default="l2", choices=["l2", "linf"])
    parser.add_argument("--eps", type=float, default=None, help="default: 0.5 (l2) or 8/255 (linf)")
    parser.add_argument("--steps", type=int, default=100, help="APGD iterations")
    parser.add_argument("--queries", type=int, default=5000, help="Square queries (robustkeras count)")
    parser.add_argument("--batch", type=int, default=500, help="attack batch size (both tools)")
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES + EXTRA)
    parser.add_argument("--tools", nargs="+", default=["robustkeras", "art"], choices=["robustkeras", "art"])
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


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


# The two tools: (model, x, y, stage, args, eps) -> adversarial images ---------------------------
def _batched(fn, x, y, batch):
    return np.concatenate([fn(x[a:a + batch], y[a:a + batch], k) for k, a in enumerate(range(0, len(x), batch))])


def robustkeras_stage(model, x, y, stage, args, eps):
    from robustkeras.attacks import apgd, square

    if stage.startswith("square"):
        return _batched(lambda xb, yb, k: square(model, xb, yb, norm=args.norm, eps=eps, queries=args.queries,
                                                 rescale_schedule=True, seed=args.seed + k,
                                                 compact=stage == "square"), x, y, args.batch)
    loss = {"apgd-ce": "ce", "apgd-dlr": "dlr"}[stage]
    return _batched(lambda xb, yb, k: apgd(model, xb, yb, norm=args.norm, eps=eps, steps=args.steps, loss=loss,
                                           seed=args.seed + k), x, y, args.batch)


def _patch_art_for_keras3():
    """Give Keras 3 the `tf.keras.losses.Reduction` names that ART 1.20 still uses."""
    import types

    import tensorflow as tf

    if not hasattr(tf.keras.losses, "Reduction"):
        tf.keras.losses.Reduction = types.SimpleNamespace(
            NONE="none", SUM="sum", SUM_OVER_BATCH_SIZE="sum_over_batch_size")


def art_stage(model, x, y, stage, args, eps):
    import tensorflow as tf
    from art.attacks.evasion import AutoProjectedGradientDescent, SquareAttack
    from art.estimators.classification import TensorFlowV2Classifier

    _patch_art_for_keras3()
    np.random.seed(args.seed)  # ART draws its randomness with numpy
    classes = int(np.asarray(model(x[:1], training=False)).shape[-1])
    classifier = TensorFlowV2Classifier(
        model=model, nb_classes=classes, input_shape=x.shape[1:], clip_values=(0.0, 1.0),
        loss_object=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    norm = 2 if args.norm == "l2" else np.inf
    if stage == "square":
        attack = SquareAttack(classifier, norm=norm, eps=eps, max_iter=args.queries - 1, p_init=0.8, nb_restarts=1,
                              batch_size=args.batch, verbose=False)
    else:
        attack = AutoProjectedGradientDescent(
            classifier, norm=norm, eps=eps, eps_step=2 * eps, max_iter=args.steps, targeted=False, nb_random_init=1,
            batch_size=args.batch, verbose=False,
            loss_type={"apgd-ce": "cross_entropy", "apgd-dlr": "difference_logits_ratio"}[stage])
    return attack.generate(x=x, y=np.eye(classes, dtype=np.float32)[y])


TOOLS = {"robustkeras": robustkeras_stage, "art": art_stage}


def run_stage(tool, model, x, y, stage, args, eps):
    """Robust accuracy (on these images) and wall time of one stage run alone."""
    start = time.perf_counter()
    x_adv = TOOLS[tool](model, x, y, stage, args, eps)
    seconds = time.perf_counter() - start
    delta = (x_adv - x).reshape(len(x), -1)
    size = np.abs(delta).max(1) if args.norm == "linf" else np.linalg.norm(delta, axis=1)
    valid = np.isfinite(size) & (size <= eps * (1 + 1e-4) + 1e-6) & np.all(
        (x_adv >= 0) & (x_adv <= 1), axis=(1, 2, 3))
    if not valid.all():  # seen with ART 1.20's L2 SquareAttack: NaN images (a zero-norm window divided by 0)
        print(f"{stage} {tool}: {np.sum(~valid)} image(s) outside the ball or [0, 1] or NaN; counted as robust",
              flush=True)
    fooled = (predictions(model, np.nan_to_num(x_adv), args.batch) != y) & valid
    return float(1 - np.mean(fooled)), seconds


def main(argv=None):
    args = parse_args(argv)
    from _common import header

    from robustkeras.data import load_cifar10_arrays, to_float

    eps = EPS[args.norm] if args.eps is None else args.eps
    header("robustkeras AutoAttack stages vs ART (APGD, Square)")
    model, description = load_model(args)
    x, y = load_cifar10_arrays("test", limit=args.n)
    x, y = to_float(x), y.astype(np.int32)
    clean_ok = predictions(model, x, args.batch) == y
    xc, yc = x[clean_ok], y[clean_ok]
    print(f"model: {description}; {args.norm} eps={eps:.4g}; first {len(x)} test images, {len(xc)} classified "
          f"correctly ({clean_ok.mean():.2%}) and attacked; APGD {args.steps} iterations, Square {args.queries} "
          f"queries, one restart, batch {args.batch}\n", flush=True)
    rows = []
    for stage in args.stages:
        results = {}
        for tool in args.tools if stage in STAGES else ["robustkeras"]:
            acc, seconds = run_stage(tool, model, xc, yc, stage, args, eps)
            results[tool] = (acc * clean_ok.mean(), seconds)  # robust accuracy on all N images
            print(f"{stage} {tool}: robust {results[tool][0]:.2%}, {seconds:.1f} s", flush=True)
        rows.append((stage, results))
    print("\n| stage | tool | robust accuracy | seconds | robustkeras speed-up |")
    print("|---|---|---|---|---|")
    for stage, results in rows:
        for tool, (acc, seconds) in results.items():
            ratio = results["robustkeras"][1] if "robustkeras" in results else float("nan")
            print(f"| {stage} | {tool} | {acc:.2%} | {seconds:.1f} | {seconds / ratio:.2f}x |")
    for stage, results in rows:
        if {"robustkeras", "art"} <= set(results):
            gap = 100 * abs(results["robustkeras"][0] - results["art"][0])
            ratio = results["art"][1] / results["robustkeras"][1]
            print(f"{stage}: gap {gap:.1f} points ({'within' if gap <= 1.5 else 'OUTSIDE'} 1.5); "
                  f"robustkeras {ratio:.1f}x faster than ART (goal >= 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
