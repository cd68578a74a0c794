"""Training throughput (images/s) of standard, fast FGSM-RS and PGD-k adversarial training.

Every mode trains the same architecture with `robustkeras.training.AdversarialTrainer`
and plain `fit` (SGD, one batch size); standard training is the same trainer with
`eps=0` (no attack is crafted). Each mode is warmed up (traced) with one short
`fit`, then timed batch by batch over a few more (median batch time); ratios are
to standard training.
An adversarial step costs about (k + 1) forward+backward passes for PGD-k, so
the ideal ratios are about 1/2 (FGSM-RS), 1/4 (PGD-3) and 1/8 (PGD-7) once the
weight gradient is counted (it makes the training step dearer than an input
gradient, so real ratios come out a little better than these).

Example:
    python benchmarks/train_throughput.py                        # all models
    python benchmarks/train_throughput.py --models fastnet_small --batches 1 --batch 16
"""

import argparse
import time

import numpy as np

import _common

MODELS = ["fastnet_small", "fastnet", "mobilenetv2_cifar", "resnet18_cifar"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=MODELS, help="registered architectures")
    parser.add_argument("--batch", type=int, default=64, help="training batch size")
    parser.add_argument("--batches", type=int, default=3, help="timed batches per mode")
    parser.add_argument("--pgd-steps", type=int, nargs="+", default=[3, 7], help="k of each PGD-k mode")
    parser.add_argument("--norm", default="l2", choices=["l2", "linf"])
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: default)")
    return parser.parse_args(argv)


def modes(args):
    """(label, AdversarialTrainer keyword arguments) of every training mode."""
    eps = 0.5 if args.norm == "l2" else 8 / 255
    out = [("standard", {"eps": 0.0}),
           ("fast FGSM-RS", {"eps": eps, "steps": 1, "random_start": True})]
    out += [(f"PGD-{k}", {"eps": eps, "steps": k}) for k in args.pgd_steps]
    return out


class _BatchTimer:
    """Wall time of every training batch (a Keras callback), so fit's own set-up is not counted."""

    def __new__(cls):
        import keras

        class Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.seconds = []

            def on_train_batch_begin(self, batch, logs=None):
                self._start = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                self.seconds.append(time.perf_counter() - self._start)

        return Timer()


def images_per_second(name, options, x, y, args):
    """Throughput of one training mode on a fresh model (weights do not matter for speed).

    The median batch time is used: on a shared 2-core VM single batches are sometimes
    stalled by other work, and the median ignores them.
    """
    import keras

    from robustkeras.models import get_model
    from robustkeras.training import AdversarialTrainer

    keras.utils.set_random_seed(0)
    trainer = AdversarialTrainer(get_model(name), norm=args.norm, **options)
    trainer.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9))
    b = args.batch
    trainer.fit(x[:b], y[:b], batch_size=b, epochs=1, verbose=0)  # traces the train step
    timer = _BatchTimer()
    trainer.fit(x, y, batch_size=b, epochs=1, verbose=0, shuffle=False, callbacks=[timer])
    return b / float(np.median(timer.seconds))


def main(argv=None):
    args = parse_args(argv)
    _common.set_threads(args.threads)
    x, y, source = _common.test_images(args.batch * args.batches)
    _common.header("Training throughput: adversarial training vs standard training",
                   data=f"{len(x)} images from {source} (speed only: the images do not change the cost)")
    print(f"batch {args.batch}, median of {args.batches} timed batches per mode after one warm-up batch, "
          f"{args.norm.upper()} threat model, SGD with momentum; ratio = images/s / standard images/s",
          flush=True)
    labels = [label for label, _ in modes(args)]
    rows = []
    for name in args.models:
        speeds = [images_per_second(name, options, x, y, args) for _, options in modes(args)]
        rows.append([name] + [f"{s:.0f} ({s / speeds[0]:.2f})" for s in speeds])
        print(f"  {name} done", flush=True)
    print()
    _common.table(["model"] + [f"{label} img/s (ratio)" for label in labels], rows)


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
