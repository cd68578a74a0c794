"""Ship a trained run as a pretrained model: copy weights, measure, write the manifest entry.

Usage:
    python scripts/release_model.py NAME RUN_DIR --arch fastnet [--eval-images 10000] [--autoattack-images 1000]

Measures clean and PGD-20 robust accuracy (L2 eps 0.5, step 2.5*eps/20, CE on
logits, inference mode) on the offline CIFAR-10 test set, and optionally the
AutoAttack-style APGD ensemble on the first images; records the training
command and minutes from the run's `log.jsonl`.
"""

import argparse
import json
import platform
import shutil
import time
from pathlib import Path

from robustkeras import _io, pretrained
from robustkeras.data import load_cifar10_arrays, to_float
from robustkeras.evaluate import clean_accuracy, robust_accuracy


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name")
    parser.add_argument("run_dir")
    parser.add_argument("--arch", required=True)
    parser.add_argument("--weights", default="best.weights.h5", help="file inside RUN_DIR")
    parser.add_argument("--command", required=True, help="the exact training command")
    parser.add_argument("--role", default="robust", help="robust, standard or judge")
    parser.add_argument("--eps", type=float, default=0.5)
    parser.add_argument("--eval-images", type=int, default=10000)
    parser.add_argument("--robust-images", type=int, default=None,
                        help="attack only the first N (clean accuracy still on all --eval-images)")
    parser.add_argument("--autoattack-images", type=int, default=0)
    parser.add_argument("--note", default="")
    args = parser.parse_args()

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
        aa = autoattack(model, x[:n], y[:n], norm="l2", eps=args.eps, show_progress=True)
        aa["n"], aa["data"] = n, "offline CIFAR-10 copy, first test images"
        entry["autoattack"] = aa
    pretrained.register(args.name, arch=args.arch, weights_file=target, **entry)
    print(json.dumps(entry, indent=1))


if __name__ == "__main__":
    main()
