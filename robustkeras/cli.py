"""The `robustkeras` command: `tour`, `train`, `eval`."""

import argparse
import json
import sys


def _train(args):
    from robustkeras.training import train

    train(args.arch, out_dir=args.out, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
          weight_decay=args.weight_decay, norm=args.norm, eps=args.eps, steps=args.steps,
          step_size=args.step_size, holdout=args.holdout, eval_every=args.eval_every, seed=args.seed,
          data_path=args.data, limit=args.limit, resume=not args.no_resume, deterministic=args.deterministic,
          verbose=1 if sys.stdout.isatty() else 2, stop_after=args.stop_after, devices=_devices(args.devices),
          dataset=args.dataset)
    return 0


def _devices(text):
    """`--devices`: None (one device), "all", or a count."""
    if text is None or text == "all":
        return text
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"Expected `devices` to be 'all' or a positive integer. Received: devices={text!r}") from None


def _eval_data(args, model):
    """The test images of `--images` (a folder), `--dataset` or CIFAR-10 (`--data`), as the model takes them."""
    from robustkeras import data
    from robustkeras.models.introspect import input_shape

    if args.images is not None:
        shape = input_shape(model)
        x, y, _ = data.from_directory(args.images, image_size=shape[:2], limit=args.limit,
                                      color_mode="grayscale" if shape[-1] == 1 else "rgb")
        return x, y
    if args.dataset == "cifar10":
        return data.load("cifar10", "test", path=args.data, limit=args.limit)
    return data.load(args.dataset, "test", limit=args.limit)


def _eval(args):
    from robustkeras import _checks, pretrained

    # Checked before the model and the data are loaded, so a typo fails in a second.
    _checks.one_of("name", args.model, set(pretrained.available()))
    from robustkeras.attacks import prologue

    prologue.check_eps(args.norm, args.eps)
    prologue.check_count("steps", args.steps)
    prologue.check_count("restarts", args.restarts)
    prologue.check_seed(args.seed)
    if args.limit is not None:
        _checks.positive_int("limit", args.limit)
    from robustkeras import data
    from robustkeras.evaluate import robust_accuracy

    _checks.one_of("dataset", args.dataset, data.DATASETS)

    # A dataset (not a folder of images, which needs the model's input size) is read before the
    # model is loaded, so missing data fails in seconds.
    x, y = _eval_data(args, None) if args.images is None else (None, None)
    model = pretrained.load(args.model)
    if x is None:
        x, y = _eval_data(args, model)
    if args.attack == "autoattack":
        from robustkeras.evaluate import autoattack

        result = autoattack(model, x, y, norm=args.norm, eps=args.eps, version=args.version, seed=args.seed,
                            show_progress=True, state_path=args.state)
    else:
        result = robust_accuracy(model, x, y, norm=args.norm, eps=args.eps, steps=args.steps,
                                 restarts=args.restarts, seed=args.seed, show_progress=True)
    result["model"] = args.model
    print(json.dumps(result, indent=1))
    return 0


def _demo(args):
    import importlib.util

    if importlib.util.find_spec("gradio") is None:
        print('robustkeras demo: error: the page needs Gradio: pip install "robustkeras[demo]"', file=sys.stderr)
        return 2
    from robustkeras.demo import launch

    launch(args.model, host=args.host, port=args.port)
    return 0


def _tour(args):
    from robustkeras.tour import run_tour

    run_tour(out_dir=args.out, model_name=args.model, quick=args.quick, seed=args.seed, images=args.images,
             classes=args.classes)
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block), still exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser():
    """The argument parser of the `robustkeras` command."""
    from robustkeras import __version__

    parser = _Parser(prog="robustkeras", description=__doc__)
    parser.add_argument("--version", action="version", version=f"robustkeras {__version__}",
                        help="print the version and exit (`eval --version` is AutoAttack's)")
    sub = parser.add_subparsers(dest="command", required=True)

    tour = sub.add_parser("tour", help="run every synthesis task on the bundled robust model")
    tour.add_argument("--out", default="tour_output", help="folder for the PNG grids and metrics")
    tour.add_argument("--model", default="fastnet_l2_robust",
                      help="pretrained robust model name (add _int8 for its int8-quantised twin)")
    tour.add_argument("--quick", action="store_true", help="tiny settings (seconds, for tests)")
    tour.add_argument("--seed", type=int, default=0)
    tour.add_argument("--images", default=None, help="converted models: folder of class sub-folders (docs/imagenet.md)")
    tour.add_argument("--classes", default=None, help="converted models: class list (.txt or imagenet_class_index.json)")
    tour.set_defaults(func=_tour)

    demo = sub.add_parser("demo", help="a local page: draw, paint and watch one robust model synthesise "
                                       "(needs robustkeras[demo])")
    demo.add_argument("--model", default="fastnet_l2_robust",
                      help="pretrained robust model name (add _int8 for its int8-quantised twin)")
    demo.add_argument("--host", default="127.0.0.1", help="address to serve on (default: this machine only)")
    demo.add_argument("--port", type=int, default=None, help="port (default: the first free one from 7860)")
    demo.set_defaults(func=_demo)

    train = sub.add_parser("train", help="train a model (adversarially if --eps > 0), resumable")
    train.add_argument("--arch", default="fastnet")
    train.add_argument("--out", required=True, help="run folder (checkpoint, log, weights)")
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--batch-size", type=int, default=256)
    train.add_argument("--lr", type=float, default=0.2)
    train.add_argument("--weight-decay", type=float, default=5e-4)
    train.add_argument("--norm", default="l2", choices=["l2", "linf"])
    train.add_argument("--eps", type=float, default=0.5, help="0 for standard training")
    train.add_argument("--steps", type=int, default=1, help="attack steps (1 = fast FGSM with random start)")
    train.add_argument("--step-size", type=float, default=None)
    train.add_argument("--holdout", type=int, default=5000)
    train.add_argument("--eval-every", type=int, default=4)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--data", default=None, help="CIFAR-10 binary layout (default: ROBUSTKERAS_DATA)")
    train.add_argument("--limit", type=int, default=None)
    train.add_argument("--no-resume", action="store_true", help="start over even if a checkpoint exists")
    train.add_argument("--deterministic", action="store_true")
    train.add_argument("--stop-after", type=int, default=None, help="stop after N epochs, as if interrupted")
    train.add_argument("--dataset", default="cifar10",
                       help="cifar10, cifar100, svhn, mnist or fashion_mnist (--data: the CIFAR-10 location)")
    train.add_argument("--devices", default=None,
                       help="data-parallel over N devices or 'all' (--batch-size is the global batch); "
                            "default one device")
    train.set_defaults(func=_train)

    ev = sub.add_parser("eval", help="clean and robust accuracy of a pretrained model on the test set")
    ev.add_argument("--model", required=True)
    ev.add_argument("--attack", default="pgd", choices=["pgd", "autoattack"])
    ev.add_argument("--norm", default="l2", choices=["l2", "linf"],
                    help="threat model (default l2; printed with the result)")
    ev.add_argument("--eps", type=float, default=0.5,
                    help="radius in [0, 1]-pixel units (default 0.5; L-inf 8/255 is 0.0314; printed with the result)")
    ev.add_argument("--version", default="standard", choices=["standard", "apgd", "fast"],
                    help="AutoAttack version: standard (default, as the reference: APGD-CE, APGD-T, FAB-T, Square, "
                         "the published figure), apgd (APGD-CE, APGD-T only: faster) or fast (classroom)")
    ev.add_argument("--state", default=None,
                    help="AutoAttack: JSON file to save progress to after every batch and resume from")
    ev.add_argument("--steps", type=int, default=20)
    ev.add_argument("--restarts", type=int, default=1)
    ev.add_argument("--limit", type=int, default=None)
    ev.add_argument("--data", default=None, help="CIFAR-10 binary layout (default: ROBUSTKERAS_DATA)")
    ev.add_argument("--dataset", default="cifar10", help="cifar10, cifar100, svhn, mnist or fashion_mnist (tfds)")
    ev.add_argument("--images", default=None, help="a folder of class sub-folders of images (instead of --dataset)")
    ev.add_argument("--seed", type=int, default=0)
    ev.set_defaults(func=_eval)
    return parser


# The library's argument names that a subcommand's flags feed under another name.
_ALIASES = {"eval": {"name": "--model", "path": "--data", "state_path": "--state"},
            "tour": {"name": "--model", "model_name": "--model", "out_dir": "--out"},
            "train": {"name": "--arch", "path": "--data"}}


def _as_flags(message, command):
    """Name the flags the user typed (`--eps`, `--model`) where a library error names its arguments."""
    import re

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    flags = {a.dest: max(a.option_strings, key=len) for a in sub._actions if a.option_strings and a.dest != "help"}
    flags.update(_ALIASES.get(command, {}))
    for dest, flag in flags.items():
        message = re.sub(rf"`{re.escape(dest)}`", f"`{flag}`", message)
        message = re.sub(rf"(?<![\w.`-]){re.escape(dest)}=", f"{flag}=", message)
    return message


def main(argv=None):
    """Entry point; returns the exit status. Bad arguments exit 2 with one line."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a one-line argparse error (2)
        return exit_.code
    from robustkeras._quiet import load_backend

    load_backend()  # before any library module imports TensorFlow: its start-up chatter is filtered out
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:
        message = _as_flags(" ".join(str(err).split()), args.command)  # one line, even for multi-line errors
        print(f"robustkeras {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"robustkeras {args.command}: interrupted (rerun the same command to resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
