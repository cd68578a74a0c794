"""The int8 robust model against its float original: size, CPU speed, clean and robust accuracy, twin agreement.

`robustkeras.models.quantize(model, "int8", calibration=...)` gives a
full-integer TensorFlow Lite model (the deployable) and a fake-quantised Keras
twin with straight-through gradients. Robust accuracy of the int8 model is
judged on the deployable, by the strongest of three attacks (and by all three
per image: an image counts as robust only if it survives every one):

- PGD-20 on the twin (white box through the straight-through estimator),
  its adversarial images then classified by the deployable;
- PGD-20 on the float model, transferred to the deployable;
- Square (score-based, no gradients) on the deployable itself.

The float model gets PGD-20 and Square with the same settings. L2 eps 0.5,
PGD step 2.5 * eps / 20 with one random start, Square p_init 0.8, one
restart. Calibration: the first `--calibration` training images (disjoint
from the test images measured). Speed: images/s at batch 100 on the first
1,000 test images, best of 3 (Keras float `model.predict`; the interpreter with
`--threads` threads; the twin as a Keras model).

Goal: robust accuracy within 1 point of the float model's, by the strongest
attack, at <= 1/4 of the float weights file.

Example:
    python benchmarks/quantize_int8.py --cache runs/quantize_int8      # 10,000 clean, 1,000 attacked, 1,000 queries
    python benchmarks/quantize_int8.py --n-clean 200 --n-attack 20 --queries 20   # smoke test
"""

import argparse
import time
from pathlib import Path

import numpy as np

import _common


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="fastnet_l2_robust", help="pretrained model name")
    parser.add_argument("--n-clean", type=int, default=10000, help="first N test images for clean accuracy")
    parser.add_argument("--n-attack", type=int, default=1000, help="first N test images attacked")
    parser.add_argument("--queries", type=int, default=1000, help="Square queries per image")
    parser.add_argument("--calibration", type=int, default=200, help="first N training images calibrate the int8 grids")
    parser.add_argument("--threads", type=int, default=2, help="interpreter threads")
    parser.add_argument("--batch", type=int, default=250, help="PGD batch size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=None, help="folder keeping each attack's images (resume a cut-short run)")
    parser.add_argument("--no-float-square", dest="float_square", action="store_false",
                        help="skip Square on the float model (a reference row only: the goal compares the int8 "
                             "model's strongest attack with the float model's white-box PGD)")
    return parser.parse_args(argv)


def images_per_second(fn, x, batch=100):
    """Images per second of `fn` over `x` in batches of `batch`, best of 3 after one warm-up pass."""
    seconds = _common.time_call(lambda: [np.asarray(fn(x[i:i + batch])) for i in range(0, len(x), batch)])
    return len(x) / seconds


def agreement(a, b):
    """Prediction agreement, identical logit rows, largest and mean logit difference of two logit arrays."""
    return {"predictions": float(np.mean(a.argmax(1) == b.argmax(1))),
            "identical_rows": float(np.mean(np.all(a == b, 1))), "max_abs": float(np.abs(a - b).max()), "mean_abs": float(np.abs(a - b).mean())}


def timed(label, fn):
    """`fn()`, printing its wall time."""
    start = time.time()
    out = fn()
    print(f"  {label}: {time.time() - start:.0f} s", flush=True)
    return out


def stage(args, key, label, fn):
    """`timed(label, fn)`, its array kept in `--cache` (a long run cut short resumes where it stopped)."""
    if not args.cache:
        return timed(label, fn)
    settings = f"{args.model}_n{args.n_attack}_q{args.queries}_c{args.calibration}_s{args.seed}"
    path = Path(args.cache) / f"{settings}_{key}.npy"
    if path.is_file():
        print(f"  {label}: from {path}", flush=True)
        return np.load(path)
    out = timed(label, fn)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def attack_rows(float_model, q, x, y, args):
    """Per image, per attack: is the image still classified correctly (by the model it is reported for)?"""
    from robustkeras import attacks, evaluate

    def pgd(model):
        return np.concatenate([attacks.pgd(model, x[i:i + args.batch], y[i:i + args.batch], norm="l2", eps=0.5,
                                           step_size=2.5 * 0.5 / 20, steps=20, seed=args.seed + i)
                               for i in range(0, len(x), args.batch)])

    def square(model):
        return attacks.square(model, x, y, norm="l2", eps=0.5, queries=args.queries, seed=args.seed)

    def ok(model, images):
        return evaluate.predict_logits(model, images, batch_size=100).argmax(1) == y

    adv_float = stage(args, "pgd_float", "PGD-20 on the float model", lambda: pgd(float_model))
    adv_twin = stage(args, "pgd_twin", "PGD-20 on the twin", lambda: pgd(q.twin))
    sq_int8 = stage(args, "square_int8", f"Square-{args.queries} on the int8 deployable", lambda: square(q.tflite))
    clean_f, clean_q = ok(float_model, x), ok(q.tflite, x)
    rows = {
        "float": {"clean": clean_f, "PGD-20 (white box)": clean_f & ok(float_model, adv_float)},
        "int8": {"clean": clean_q, "PGD-20 on the twin": clean_q & ok(q.tflite, adv_twin),
                 "PGD-20 transferred from float": clean_q & ok(q.tflite, adv_float),
                 f"Square-{args.queries} on the deployable": clean_q & ok(q.tflite, sq_int8)},
    }
    if args.float_square:
        sq_float = stage(args, "square_float", f"Square-{args.queries} on the float model", lambda: square(float_model))
        rows["float"][f"Square-{args.queries}"] = clean_f & ok(float_model, sq_float)
    twin_adv = agreement(evaluate.predict_logits(q.twin, adv_twin), q.tflite.predict(adv_twin))
    return rows, twin_adv


def print_agreement(title, same):
    print(title)
    _common.table(["prediction agreement", "identical logit rows", "max |logit diff|", "mean |logit diff|"],
                  [[f"{same['predictions']:.4f}", f"{same['identical_rows']:.4f}", f"{same['max_abs']:.4f}",
                    f"{same['mean_abs']:.5f}"]])


def print_attacks(rows, n, queries):
    print(f"## Robust accuracy, L2 eps 0.5, first {n} test images (each cell: N = {n})")
    table = []
    for model, cells in rows.items():
        attacks_only = [v for k, v in cells.items() if k != "clean"]
        worst = np.logical_and.reduce(attacks_only)
        strongest = min((float(np.mean(v)), k) for k, v in cells.items() if k != "clean")
        for name, v in cells.items():
            table.append([model, name, f"{np.mean(v):.3f}"])
        table.append([model, "strongest single attack", f"{strongest[0]:.3f} ({strongest[1]})"])
        table.append([model, "worst case over its attacks, per image", f"{np.mean(worst):.3f}"])
    _common.table(["model", f"attack (PGD step 0.0625, 1 start; Square {queries} queries, p_init 0.8)", "accuracy"],
                  table)


def size_speed_clean(model, q, x, y, args):
    """Print the size, speed (first 1,000 of `x`) and clean-accuracy (first `--n-clean`) table; return the logits."""
    import keras

    from robustkeras import evaluate, pretrained

    file = pretrained.manifest()[args.model]["file"]
    float_bytes = (pretrained.FOLDER / file).stat().st_size
    speed_x = x[:1000]
    speeds = {"float": images_per_second(lambda b: model.predict(b, batch_size=100, verbose=0), speed_x),
              "int8": images_per_second(q.tflite, speed_x),
              "twin": images_per_second(lambda b: q.twin.predict(b, batch_size=100, verbose=0), speed_x)}
    x, y = x[:args.n_clean], y[:args.n_clean]
    logits = {"float": evaluate.predict_logits(model, x), "int8": q.tflite.predict(x),
              "twin": evaluate.predict_logits(q.twin, x)}
    clean = {k: float(np.mean(v.argmax(1) == y)) for k, v in logits.items()}
    print(f"## Size, speed and clean accuracy (clean: first {len(x)} test images; speed: 1,000 images, batch 100,"
          f" keras {keras.__version__} backend {keras.backend.backend()})")
    _common.table(["model", "file", "bytes", "size vs float", "images/s", f"clean (N={len(x)})"], [
        ["float32 Keras", file, float_bytes, "1", f"{speeds['float']:.0f}", f"{clean['float']:.4f}"],
        [f"int8 TFLite ({args.threads} threads)", "flatbuffer", q.size, f"{q.size / float_bytes:.4f}",
         f"{speeds['int8']:.0f}", f"{clean['int8']:.4f}"],
        ["int8 twin (Keras, fake-quantised)", "-", "-", "-", f"{speeds['twin']:.0f}", f"{clean['twin']:.4f}"]])
    return logits


def main(argv=None):
    args = parse_args(argv)
    from robustkeras._quiet import load_backend

    load_backend()
    from robustkeras import data, pretrained
    from robustkeras.models import quantize

    _common.header(f"int8 quantisation of {args.model}: size, speed, clean and robust accuracy")
    model = pretrained.load(args.model, compile=False)
    calibration = data.to_float(data.load_cifar10_arrays("train", limit=args.calibration)[0])
    q = timed(f"quantize (calibration: first {args.calibration} training images)",
              lambda: quantize(model, "int8", calibration=calibration, num_threads=args.threads))
    x, y, source = _common.test_images(max(args.n_clean, args.n_attack, 1000))
    print(f"test images: {source}\n")
    logits = size_speed_clean(model, q, x, y, args)
    print_agreement(f"## Twin vs deployable on the first {args.n_clean} clean test images",
                    agreement(logits["twin"], logits["int8"]))
    print("attacks (wall times on this machine):", flush=True)
    rows, twin_adv = attack_rows(model, q, x[:args.n_attack], y[:args.n_attack], args)
    print()
    print_attacks(rows, args.n_attack, args.queries)
    print_agreement(f"## Twin vs deployable on the twin's PGD-20 images (N = {args.n_attack})", twin_adv)


if __name__ == "__main__":
    main()
