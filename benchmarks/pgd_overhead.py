"""PGD time per step divided by one plain forward+backward input-gradient step.

For each model, on the same batch, both compiled with `tf.function` and warmed up:

* baseline: one `GradientTape` input gradient of the summed cross-entropy
  (`model(x, training=False)`, the same loss PGD uses);
* PGD: the public `robustkeras.attacks.pgd`, timed at two step counts; the
  per-step time is the difference divided by the difference in steps, so the
  fixed costs (random start, final forward pass, host copies) cancel out. The
  amortised ratio (whole call / steps, fixed costs included) is printed too.

`--attack apgd` times `robustkeras.attacks.apgd` (cross-entropy) the same way: its
step adds momentum, a second projection and the per-image best/won/step-size
bookkeeping to the same single gradient.

Target (issue 3 / 8): per-step ratio <= 1.15 (PGD).

Example:
    python benchmarks/pgd_overhead.py                      # all models, batch 128
    python benchmarks/pgd_overhead.py --models fastnet_small --batch 32 --repeats 1
"""

import argparse

import numpy as np

import _common

MODELS = ["fastnet_small", "fastnet", "mobilenetv2_cifar", "resnet18_cifar"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=MODELS, help="registered architectures")
    parser.add_argument("--batch", type=int, default=128, help="images per batch")
    parser.add_argument("--norm", default="l2", choices=["l2", "linf"])
    parser.add_argument("--steps", type=int, nargs=2, default=[5, 25], metavar=("LOW", "HIGH"),
                        help="the two PGD step counts whose time difference gives the per-step time")
    parser.add_argument("--attack", default="pgd", choices=["pgd", "apgd"], help="the attack timed")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls (best is kept)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="independent measurements of the ratio (median and range are printed): "
                             "on a shared VM one round spreads by about +-0.15")
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: default)")
    parser.add_argument("--xla", action="store_true",
                        help="compile the baseline and robustkeras' attack with XLA (jit_compile=True)")
    return parser.parse_args(argv)


def use_xla():
    """Make robustkeras compile its attacks with XLA (benchmark only: wraps `backend.compile_fn`)."""
    import functools

    from robustkeras import backend

    backend.compile_fn = functools.partial(backend.compile_fn, jit_compile=True)


def input_grad_fn(model, jit_compile=None):
    """The baseline: a compiled `x, y -> d(sum CE)/dx`, inference mode."""
    import tensorflow as tf

    from robustkeras.attacks.losses import cross_entropy

    @tf.function(reduce_retracing=True, jit_compile=jit_compile)
    def input_grad(x, y):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(cross_entropy(model(x, training=False), y))
        return tape.gradient(loss, x)

    return input_grad


def tracing_count(model):
    """How many times robustkeras traced its attack for `model` (1 per option set is ideal)."""
    from robustkeras import backend

    return sum(fn.experimental_get_tracing_count() for key, fn in backend._COMPILED.get(model, {}).items()
               if key[0] in ("pgd", "apgd"))


def measure(name, x, y, args):
    """Baseline and PGD timings (seconds) for one model."""
    import tensorflow as tf

    from robustkeras.attacks import apgd, pgd
    from robustkeras.models import get_model

    model = get_model(name)
    grad = input_grad_fn(model, jit_compile=True if args.xla else None)
    xt, yt = tf.constant(x), tf.constant(y)

    eps, step_size = (0.5, 0.1) if args.norm == "l2" else (8 / 255, 2 / 255)
    low, high = args.steps

    def attack(steps):
        if args.attack == "apgd":
            return lambda: apgd(model, x, y, norm=args.norm, eps=eps, steps=steps)
        return lambda: pgd(model, x, y, norm=args.norm, eps=eps, step_size=step_size, steps=steps)

    attack(low)()  # warm-up: traces once for every step count
    rounds = []
    for _ in range(args.rounds):  # interleaved, so a slow spell hits baseline and attack alike
        t_grad = _common.time_call(lambda: grad(xt, yt).numpy(), repeats=args.repeats)
        t_low = _common.time_call(attack(low), repeats=args.repeats, warmup=0)
        t_high = _common.time_call(attack(high), repeats=args.repeats, warmup=0)
        rounds.append({"grad": t_grad, "low": t_low, "high": t_high})
    return {"rounds": rounds, "traces": tracing_count(model)}


def row(name, t, args):
    low, high = args.steps
    grads = np.array([r["grad"] for r in t["rounds"]])
    steps = np.array([(r["high"] - r["low"]) / (high - low) for r in t["rounds"]])
    ratios, amortised = steps / grads, np.array([r["high"] / high for r in t["rounds"]]) / grads
    spread = f" ({ratios.min():.2f}-{ratios.max():.2f})" if len(ratios) > 1 else ""
    return [name, f"{np.median(grads) * 1e3:.0f}", f"{np.median(steps) * 1e3:.0f}",
            f"{np.median(ratios):.2f}{spread}", f"{np.median(amortised):.2f}", t["traces"]]


def main(argv=None):
    args = parse_args(argv)
    _common.set_threads(args.threads)
    if args.xla:
        use_xla()
    x, y, source = _common.test_images(args.batch)
    _common.header(f"{args.attack.upper()} overhead: time per attack step / one forward+backward input-gradient step",
                   data=f"{args.batch} images from {source}; untrained models (speed only)")
    low, high = args.steps
    print(f"batch {args.batch}, {args.norm.upper()} {args.attack.upper()}, per-step time = (t[{high} steps] - t[{low} steps]) / "
          f"{high - low}; best of {args.repeats}; median of {args.rounds} round(s); XLA {'on' if args.xla else 'off (default)'}; "
          "target ratio <= 1.15", flush=True)
    rows = []
    for name in args.models:
        rows.append(row(name, measure(name, x, y, args), args))
        print(f"  {name} done", flush=True)
    print()
    _common.table(["model", "grad step (ms)", f"{args.attack.upper()} step (ms)", "ratio per step (range)",
                   f"ratio amortised ({high} steps)", "traces"], rows)


if __name__ == "__main__":
    main()
