"""Train a registered architecture within a wall-clock budget, then evaluate it on the test set.

Used to train the shipped MobileNetV2 and ResNet-18 on a lent GPU (`KERAS_BACKEND=jax`,
no TensorFlow there). The run itself is the library's `robustkeras.training.train`
(held-out checkpoint choice, resumable); this script only picks its epoch count: the
largest that fits `--minutes` at the throughput measured in a short calibration fit on
the same machine. The chosen count is recorded, so the run repeats as
`robustkeras train --arch ARCH --epochs N ...` on any machine.

Usage:
    python scripts/train_in_budget.py --arch resnet18_cifar --out runs/resnet18 --minutes 5 \
        --batch-size 512 --lr 0.4 --steps 2 --eval-images 10000 --autoattack-images 500

Writes `OUT/results.json` (settings, calibration, history, evaluations), rewritten after
each stage so a run cut short still reports what it finished.
"""

import argparse
import hashlib
import json
import platform
import signal
import time
from pathlib import Path

import keras
import numpy as np

from robustkeras import _io
from robustkeras.data import EpochBatches, load_cifar10_arrays, to_float
from robustkeras.evaluate import autoattack, robust_accuracy
from robustkeras.models import get_model
from robustkeras.training.adversarial import AdversarialTrainer
from robustkeras.training.fit import make_optimizer, split_holdout, train


def calibrate(arch, x_train, y_train, *, batch_size, steps, lr, timed_steps=30, barrier=None, peers=1):
    """Seconds to compile the training step, and training steps per second afterwards.

    With `barrier` (a folder shared with `peers - 1` other runs on the same GPU), the timed
    steps start only once every peer has compiled, so the rate is the one they will share.
    """
    trainer = AdversarialTrainer(get_model(arch), norm="l2", eps=0.5, steps=steps, seed=0)
    trainer.compile(optimizer=make_optimizer(lr, 0.9, 5e-4, 1000, 0.2))
    batches = EpochBatches(x_train, y_train, batch_size=batch_size, seed=0, epoch=0)
    start = time.time()
    trainer.fit(iter(batches), steps_per_epoch=3, epochs=1, verbose=0)
    compile_s = time.time() - start
    if barrier is not None:
        Path(barrier).mkdir(parents=True, exist_ok=True)
        (Path(barrier) / f"{arch}.ready").touch()
        deadline = time.time() + 150
        while len(list(Path(barrier).glob("*.ready"))) < peers and time.time() < deadline:
            time.sleep(0.5)
    start = time.time()
    trainer.fit(iter(batches), steps_per_epoch=timed_steps, epochs=1, verbose=0)
    return compile_s, timed_steps / (time.time() - start)


def export_parts(path, folder, part_bytes=15 * 2**20):
    """Copy `path` into `folder`, in numbered parts of at most `part_bytes` if it is larger; return its sha256."""
    data = path.read_bytes()
    parts = [data[i:i + part_bytes] for i in range(0, len(data), part_bytes)]
    names = [path.name] if len(parts) == 1 else [f"{path.name}.part{i}" for i in range(len(parts))]
    for name, part in zip(names, parts):
        (folder / name).write_bytes(part)
    return {"file": path.name, "parts": names, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", required=True)
    parser.add_argument("--out", required=True, help="run folder (checkpoint, logs)")
    parser.add_argument("--export", default=None,
                        help="folder for results.json and the chosen weights (in parts of <= 15 MiB); default --out")
    parser.add_argument("--minutes", type=float, required=True, help="wall-clock budget for calibration + training")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=0.4)
    parser.add_argument("--steps", type=int, default=2, help="training attack steps")
    parser.add_argument("--eval-every", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="training images (rehearsals)")
    parser.add_argument("--eval-images", type=int, default=10000)
    parser.add_argument("--autoattack-images", type=int, default=500)
    parser.add_argument("--autoattack-version", default="standard")
    parser.add_argument("--max-epochs", type=int, default=200)
    parser.add_argument("--calibration-steps", type=int, default=30)
    parser.add_argument("--barrier", default=None, help="folder shared with the runs beside this one on the GPU")
    parser.add_argument("--peers", type=int, default=1, help="runs sharing the GPU, this one included")
    args = parser.parse_args()

    t0 = time.time()
    out = Path(args.out)
    export = Path(args.export or args.out)
    for folder in (out, export):
        folder.mkdir(parents=True, exist_ok=True)
    results = {"arch": args.arch, "backend": keras.backend.backend(), "machine": platform.node(),
               "settings": vars(args)}

    def save(**update):
        results.update(update)
        _io.write_text(export / "results.json", json.dumps(results, indent=1))

    def on_timeout(signum, frame):  # a run cut short still returns its held-out-best weights
        best = out / "run" / "best.weights.h5"
        log = out / "run" / "log.jsonl"
        if "weights" not in results and best.is_file():
            history = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
            save(weights=export_parts(best, export), cut_short=True, history_so_far=history)
        raise SystemExit(f"stopped by signal {signum} after {(time.time() - t0) / 60:.1f} min")

    signal.signal(signal.SIGTERM, on_timeout)
    holdout = 5000 if args.limit is None else args.limit // 10  # the split `train` makes below
    images, labels = load_cifar10_arrays("train", limit=args.limit)
    (x_train, y_train), _ = split_holdout(images, labels, holdout, 0)
    compile_s, rate = calibrate(args.arch, x_train, y_train, batch_size=args.batch_size, steps=args.steps,
                                lr=args.lr, timed_steps=args.calibration_steps,
                                barrier=args.barrier, peers=args.peers)
    steps_per_epoch = len(x_train) // args.batch_size
    if steps_per_epoch == 0:
        raise SystemExit(f"--batch-size {args.batch_size} is larger than the {len(x_train)} training images")
    # The real run compiles again (the persistent compilation cache may make it cheaper) and
    # evaluates the held-out images now and then: keep 15 % of the rest in hand for both.
    left = args.minutes * 60 - (time.time() - t0) - compile_s
    epochs = int(np.clip(left * 0.85 * rate / steps_per_epoch, 1, args.max_epochs))
    save(calibration={"compile_seconds": round(compile_s, 1), "steps_per_second": round(rate, 2),
                      "images_per_second": round(rate * args.batch_size, 1), "epochs": epochs})
    print(f"calibrated: compile {compile_s:.1f} s, {rate * args.batch_size:.0f} images/s -> {epochs} epochs",
          flush=True)

    start = time.time()
    model, history = train(args.arch, out_dir=out / "run", epochs=epochs, batch_size=args.batch_size, lr=args.lr,
                           steps=args.steps, eval_every=args.eval_every, holdout=holdout, limit=args.limit,
                           seed=0, verbose=2)
    state = json.loads((out / "run" / "checkpoint" / "state.json").read_text())
    command = (f"robustkeras train --arch {args.arch} --out runs/{args.arch} --epochs {epochs} "
               f"--batch-size {args.batch_size} --lr {args.lr} --steps {args.steps} --eps 0.5 "
               f"--eval-every {args.eval_every} --seed 0")
    save(training={"command": command, "epochs": epochs, "chosen_epoch": (state["best"] or {}).get("epoch"),
                   "minutes": round((time.time() - start) / 60, 2), "history": history})
    # The held-out-best weights, before anything that could fail.
    model.save_weights(out / "best.weights.h5")
    save(weights=export_parts(out / "best.weights.h5", export))
    print(f"trained in {(time.time() - start) / 60:.1f} min; best epoch {results['training']['chosen_epoch']}",
          flush=True)

    x, y = load_cifar10_arrays("test", limit=args.eval_images)
    x, y = to_float(x), y.astype("int32")
    start = time.time()
    pgd = robust_accuracy(model, x, y, norm="l2", eps=0.5, steps=20, seed=0)
    pgd.update(attack="PGD-20, L2 eps=0.5, step 2.5*eps/20, cross-entropy on logits, inference mode, 1 restart",
               data="offline CIFAR-10 copy, test set", seconds=round(time.time() - start, 1))
    save(eval=pgd)
    print("PGD-20:", json.dumps(pgd), flush=True)

    if args.autoattack_images:
        n = args.autoattack_images
        start = time.time()
        aa = autoattack(model, x[:n], y[:n], norm="l2", eps=0.5, version=args.autoattack_version, seed=0,
                        state_path=out / "autoattack_state.json")
        aa.update(n=n, data="offline CIFAR-10 copy, first test images", seconds=round(time.time() - start, 1))
        save(autoattack=aa)
        print("AutoAttack:", json.dumps(aa), flush=True)
    print(f"done in {(time.time() - t0) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
