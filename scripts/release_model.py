"""Ship a trained run as a pretrained model: copy weights, measure, write the manifest entry.

Usage:
    python scripts/release_model.py NAME RUN_DIR --arch fastnet [--eval-images 10000] [--autoattack-images 1000]
    python scripts/release_model.py NAME EXPORT_DIR --arch resnet18_cifar --from-results [--float16]

The second form ships a run of `scripts/train_in_budget.py` (e.g. trained on a GPU): its
weights (joined from parts, sha256-checked), training record and measurements come from
`EXPORT_DIR/results.json`; here only clean accuracy on the whole test set is measured again,
for the released file and, with `--float16` (weights stored in half precision to fit the
25 MB limit), for the float32 original too, so the manifest shows the cast changed nothing.

Measures clean and PGD-20 robust accuracy (L2 eps 0.5, step 2.5*eps/20, CE on
logits, inference mode) on the offline CIFAR-10 test set, and optionally the
AutoAttack-style APGD ensemble on the first images; records the training
command and minutes from the run's `log.jsonl`.
"""

import argparse
import hashlib
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path

import keras

from robustkeras import _io, pretrained
from robustkeras.data import load_cifar10_arrays, to_float
from robustkeras.evaluate import clean_accuracy, robust_accuracy
from robustkeras.models import get_model


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name")
    parser.add_argument("run_dir")
    parser.add_argument("--arch", required=True)
    parser.add_argument("--weights", default="best.weights.h5", help="file inside RUN_DIR")
    parser.add_argument("--command", required=True, help="the exact training command")
    parser.add_argument("--role", default="robust", help="robust, standard, judge or extractor (features that score generated images)", choices=["robust", "standard", "judge", "extractor"])
    parser.add_argument("--eps", type=float, default=0.5)
    parser.add_argument("--eval-images", type=int, default=10000)
    parser.add_argument("--robust-images", type=int, default=None,
                        help="attack only the first N (clean accuracy still on all --eval-images)")
    parser.add_argument("--autoattack-images", type=int, default=0)
    parser.add_argument("--note", default="")
    parser.add_argument("--from-results", action="store_true", help="RUN_DIR is a train_in_budget.py export")
    parser.add_argument("--float16", action="store_true", help="store the weights in half precision")
    parser.add_argument("--machine", default=None, help="where the run trained (with --from-results)")
    args = parser.parse_args()
    if args.from_results:
        return release_results(args)

    run = Path(args.run_dir)
    target = pretrained.FOLDER / f"{args.name}.weights.h5"
    with _io.atomic_path(target) as tmp:  # a kill never leaves a half-copied weights file
        shutil.copyfile(run / args.weights, tmp)
    history = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    entry = {
        "role": args.role,
        "training": {
            "command": args.command,
            "data": "offline CIFAR-10 copy (JPEG q75 mirror, ../shared/data/cifar10): 45,000 training images, "
                    "5,000 held out to choose the checkpoint",
            "epochs": len(history), "chosen_epoch": (state.get("best") or {}).get("epoch"),
            "minutes": round(sum(r["seconds"] for r in history) / 60, 1),
            "machine": f"2-core {platform.machine()} CPU (AMD EPYC), TensorFlow default kernels, no GPU",
        },
        "note": args.note,
    }
    pretrained.register(args.name, arch=args.arch, weights_file=target, **entry)
    model = pretrained.load(args.name)
    x, y = load_cifar10_arrays("test", limit=args.eval_images)
    x, y = to_float(x), y.astype("int32")
    start = time.time()
    n = args.robust_images or len(x)
    result = robust_accuracy(model, x[:n], y[:n], norm="l2", eps=args.eps, steps=20, show_progress=True)
    if n < len(x):
        result["robust_n"], result["n"] = n, len(x)
        result["clean"] = clean_accuracy(model, x, y)
    result["attack"] = (f"PGD-20, L2 eps={args.eps:g}, step 2.5*eps/20, cross-entropy on logits, inference mode, "
                        "1 restart")
    result["data"] = "offline CIFAR-10 copy, test set"
    result["minutes"] = round((time.time() - start) / 60, 1)
    entry["eval"] = result
    if args.autoattack_images:
        from robustkeras.evaluate import autoattack

        n = args.autoattack_images
        aa = autoattack(model, x[:n], y[:n], norm="l2", eps=args.eps, version="apgd", show_progress=True)
        aa["n"], aa["data"] = n, "offline CIFAR-10 copy, first test images"
        entry["autoattack"] = aa
    pretrained.register(args.name, arch=args.arch, weights_file=target, **entry)
    print(json.dumps(entry, indent=1))


REQUIRED = {"arch": (), "weights": ("parts", "bytes", "sha256"),
            "training": ("command", "epochs", "chosen_epoch", "minutes"), "eval": ()}


def check_results(results, folder, arch):
    """Refuse an export that cannot be released (another architecture, cut short, keys missing)."""
    if results.get("cut_short"):
        raise ValueError(f"Expected a finished run. Received: {folder} was cut short (no test evaluation); train again")
    missing = [key for key, inner in REQUIRED.items() if key not in results] + [
        f"{key}.{k}" for key, inner in REQUIRED.items() for k in inner if k not in results.get(key, {})]
    if missing:
        raise ValueError(f"Expected a results.json written by train_in_budget.py. Received: {folder} lacks {missing}")
    if results["arch"] != arch:
        raise ValueError(f"Expected a run of `{arch}`. Received: {folder} holds a {results['arch']}")


def join_parts(folder, weights):
    """The exported weights file's bytes, joined from its parts and checked against its sha256."""
    data = b"".join((folder / name).read_bytes() for name in weights["parts"])
    if len(data) != weights["bytes"] or hashlib.sha256(data).hexdigest() != weights["sha256"]:
        raise ValueError(f"The weights parts in {folder} do not join to the exported file (size or sha256 differ)")
    return data


def cast_float16(src, dst, rtol=1e-2):
    """Copy a `.weights.h5` file with every float32 array stored as float16 (Keras casts back at load).

    Refuses weights that float16 cannot hold (overflow, or a relative error above `rtol` on any
    array's largest value); other datasets and every attribute are copied unchanged.
    """
    import h5py
    import numpy as np

    with h5py.File(src, "r") as fin, h5py.File(dst, "w") as fout:
        fout.attrs.update(dict(fin.attrs))

        def copy(name, obj):
            if isinstance(obj, h5py.Group):
                fout.require_group(name).attrs.update(dict(obj.attrs))
                return
            data = obj[()]
            if getattr(data, "dtype", None) == np.float32:
                half = data.astype(np.float16)
                scale = float(np.abs(data).max()) if data.size else 0.0
                if not np.all(np.isfinite(half)) or np.abs(half.astype(np.float32) - data).max(initial=0) > rtol * scale:
                    raise ValueError(f"Expected weights that float16 holds. Received: {name} (largest |value| {scale:g})")
                data = half
            fout.create_dataset(name, data=data).attrs.update(dict(obj.attrs))

        fin.visititems(copy)


def release_results(args):
    """Ship a `train_in_budget.py` export: weights from parts, figures from its results.json.

    Nothing in the package changes until the export is checked and both files are measured.
    """
    folder = Path(args.run_dir)
    results = json.loads((folder / "results.json").read_text())
    check_results(results, folder, args.arch)
    x, y = load_cifar10_arrays("test")
    x, y = to_float(x), y.astype("int32")
    clean = {}
    with tempfile.TemporaryDirectory() as tmp:
        original, released = Path(tmp) / "float32.weights.h5", Path(tmp) / "released.weights.h5"
        original.write_bytes(join_parts(folder, results["weights"]))
        if args.float16:
            cast_float16(original, released)
        else:
            shutil.copyfile(original, released)
        for key, path in (("clean_float32", original), ("clean_released", released)):
            model = get_model(args.arch)
            model.load_weights(path)
            clean[key] = clean_accuracy(model, x, y)
        target = pretrained.FOLDER / f"{args.name}.weights.h5"
        with _io.atomic_path(target) as out:
            shutil.copyfile(released, out)
    training = results["training"]
    entry = {
        "role": args.role,
        "training": {
            "command": training["command"] + " (epoch count chosen by scripts/train_in_budget.py)",
            "data": "offline CIFAR-10 copy (JPEG q75 mirror, ../shared/data/cifar10): 45,000 training images, "
                    "5,000 held out to choose the checkpoint",
            "epochs": training["epochs"], "chosen_epoch": training["chosen_epoch"],
            "minutes": training["minutes"], "machine": args.machine or results.get("machine"),
            "backend": results.get("backend"),
        },
        "note": args.note,
        "eval": results["eval"],
        "release_check": {"stored_as": "float16" if args.float16 else "float32", **clean, "n": len(x),
                          "measured_on": f"{platform.machine()} CPU, Keras backend {keras.backend.backend()}"},
    }
    if "autoattack" in results:
        entry["autoattack"] = results["autoattack"]
    pretrained.register(args.name, arch=args.arch, weights_file=target, **entry)
    print(json.dumps(entry, indent=1))


if __name__ == "__main__":
    main()
