"""`train`: adversarial (or standard) training of a registered architecture, resumable.

A checkpoint (weights, optimizer state, epoch, history) is written atomically
after every epoch; each epoch's shuffle and augmentation derive from
`(seed, epoch)` and each step's random start from `(seed, optimizer step)`, so
an interrupted run resumed with `resume=True` ends with the same weights as an
uninterrupted one.
"""

import json
import os
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from robustkeras import _checks, _io, distribute
from robustkeras import data as data_lib
from robustkeras.data import EpochBatches, load_cifar10_arrays, to_float
from robustkeras.evaluate import robust_accuracy
from robustkeras.models import ARCHITECTURES, get_model
from robustkeras.training.adversarial import AdversarialTrainer, check_seed

# Settings that define a run: resuming with any of them changed is refused.
# (`devices` is not one of them: a checkpoint written on N devices resumes on M.)
RUN_SETTINGS = ("arch", "arch_kwargs", "epochs", "batch_size", "lr", "momentum", "weight_decay",
                "warmup_fraction", "norm", "eps", "steps", "step_size", "holdout", "seed", "data", "limit")


def split_holdout(images, labels, holdout, seed):
    """Split off `holdout` training images (chosen by `seed`) for choosing checkpoints."""
    order = np.random.default_rng(seed).permutation(len(images))
    keep, held = order[holdout:], order[:holdout]
    return (images[keep], labels[keep]), (images[held], labels[held])


def make_optimizer(lr, momentum, weight_decay, total_steps, warmup_fraction):
    """SGD with Nesterov momentum, linear warm-up then cosine decay to zero."""
    warmup = int(total_steps * warmup_fraction)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, decay_steps=max(total_steps - warmup, 1), alpha=0.0,
        warmup_target=lr, warmup_steps=warmup)
    optimizer = keras.optimizers.SGD(schedule, momentum=momentum, nesterov=True, weight_decay=weight_decay)
    optimizer.exclude_from_weight_decay(var_names=["bn", "bias", "gamma", "beta"])
    return optimizer


_LEGACY_FILES = {"weights": "model.weights.h5", "optimizer": "optimizer.npz"}


def _save_checkpoint(folder, classifier, optimizer, state):
    """Write the epoch's weights and optimizer under new names, then `state.json` naming them.

    `state.json` is replaced last (atomically), so a kill at any point leaves a
    consistent checkpoint: the previous one or the new one, never a mix.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files = {"weights": f"model-{state['epoch']}.weights.h5", "optimizer": f"optimizer-{state['epoch']}.npz"}
    with _io.atomic_path(folder / files["weights"]) as tmp:
        classifier.save_weights(tmp)
    with _io.atomic_path(folder / files["optimizer"]) as tmp:
        np.savez(tmp, *[np.asarray(v) for v in optimizer.variables])
    _io.write_text(folder / "state.json", json.dumps({**state, "files": files}, indent=1))
    for old in list(folder.glob("model*.weights.h5")) + list(folder.glob("optimizer*.npz")):
        if old.name not in files.values():
            old.unlink()


def _clean_temporaries(out_dir):
    """Remove half-written `.name-XXXX` files that a kill left in `out_dir` and its checkpoint."""
    for folder in (out_dir, out_dir / "checkpoint"):
        if folder.is_dir():
            for path in folder.glob(".*"):
                if path.is_file():
                    path.unlink()


def _check_writable(out_dir):
    """Fail now, not after the first epoch, if `out_dir` cannot hold the run's files.

    Probes the deepest folder that already exists on the way to `out_dir`, so a run that
    fails later on bad input (a wrong data path) leaves nothing behind.
    """
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(20, "not a folder", str(existing))
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".write-test-")
        os.close(fd)
        os.remove(probe)
    except OSError as err:
        raise ValueError(f"Expected `out_dir` to be a writable folder. Received: out_dir={str(out_dir)!r} "
                         f"({type(err).__name__}: {err.strerror or err})") from None


def _check_same_settings(saved, settings, folder):
    """Refuse to resume a checkpoint that was written with other settings."""
    if saved is None:  # written before settings were recorded: resumable, but unchecked
        print(f"warning: the checkpoint in {folder} records no settings (older version); resuming without "
              "checking them (they are recorded from now on)", flush=True)
        return
    changed = [k for k in RUN_SETTINGS if json.dumps(saved.get(k)) != json.dumps(settings.get(k))]
    if changed:
        detail = ", ".join(f"{k}: {saved.get(k)!r} -> {settings.get(k)!r}" for k in changed)
        raise ValueError(f"The checkpoint in {folder} was written with other settings ({detail}); resume with "
                         "the same settings, or pass resume=False (--no-resume) to start over")


def _load_train(data, limit):
    """uint8 training images and labels: CIFAR-10 (`data` a path or "cifar10") or a `data.load` name."""
    if data not in data_lib.DATASETS or data == "cifar10":
        return load_cifar10_arrays("train", path=None if data == "cifar10" else data, limit=limit)
    images, labels = data_lib.load(data, "train", limit=limit)
    return np.round(images * 255).astype(np.uint8), labels  # batches are augmented as uint8


def _load_checkpoint(folder, classifier, optimizer):
    state = json.loads((folder / "state.json").read_text())
    files = state.pop("files", _LEGACY_FILES)
    classifier.load_weights(folder / files["weights"])
    optimizer.build(classifier.trainable_variables)
    with np.load(folder / files["optimizer"], allow_pickle=False) as saved:
        values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    if len(values) != len(optimizer.variables):
        raise ValueError(f"Checkpoint in {folder} does not match this optimizer; delete it or use resume=False")
    for var, value in zip(optimizer.variables, values):
        var.assign(value)
    return state


def train(arch="fastnet", *, out_dir, epochs=20, batch_size=256, lr=0.2, momentum=0.9, weight_decay=5e-4,
          warmup_fraction=0.2, norm="l2", eps=0.5, steps=1, step_size=None, holdout=5000, eval_every=4,
          eval_images=1000, eval_steps=10, seed=0, data_path=None, limit=None, resume=True,
          deterministic=False, verbose=2, arch_kwargs=None, stop_after=None, devices=None, sync_batchnorm=True,
          dataset="cifar10"):
    """Train `arch` adversarially (`eps > 0`) or normally (`eps == 0`) on CIFAR-10, on one or several devices.

    Args:
        arch: registered architecture name.
        out_dir: folder for the checkpoint, `log.jsonl`, `best.weights.h5` and `final.weights.h5`.
        epochs, batch_size, lr, momentum, weight_decay, warmup_fraction: the SGD schedule.
        norm, eps, steps, step_size: the training attack (see `AdversarialTrainer`).
        holdout: training images held out to choose the checkpoint (never the test set).
        eval_every: evaluate on the held-out images every this many epochs (and at the end).
        eval_images, eval_steps: held-out images attacked with PGD-`eval_steps` for the choice.
        seed: seeds weights, data order, augmentation and attack noise; in [0, 2**31 - 1].
        data_path: CIFAR-10 location (see `robustkeras.data`).
        limit: train on the first `limit` images only (tests).
        resume: continue from the checkpoint in `out_dir` if there is one (refused if the
            checkpoint was written with other settings; the device count may differ).
        deterministic: TensorFlow op determinism (bit-identical reruns on CPU).
        verbose: Keras verbosity (1 progress bar, 2 one line per epoch).
        arch_kwargs: extra arguments for the architecture.
        stop_after: stop after this many epochs as if interrupted (tests of resuming).
        devices: None (one device), "all", or a device count: data-parallel training
            (`robustkeras.distribute.data_parallel`); `batch_size` is the global batch.
        sync_batchnorm: TensorFlow with several devices: global-batch batch-norm statistics.
        dataset: a `robustkeras.data.load` name ("cifar10", "cifar100", "svhn", "mnist",
            "fashion_mnist"); the model gets its image shape and class count.

    Returns:
        The trained classifier (held-out-best weights loaded) and the history (list of dicts).

    Example:
        >>> model, history = train("fastnet", out_dir="runs/robust", epochs=20)
    """
    epochs = _checks.positive_int("epochs", epochs)
    batch_size = _checks.positive_int("batch_size", batch_size)
    holdout = _checks.positive_int("holdout", holdout, minimum=0)
    arch = _checks.one_of("arch", arch, ARCHITECTURES)
    lr = _checks.non_negative("lr", lr)
    momentum = _checks.number("momentum", momentum, low=0, high=1, high_open=True)
    weight_decay = _checks.non_negative("weight_decay", weight_decay)
    warmup_fraction = _checks.number("warmup_fraction", warmup_fraction, low=0, high=1, high_open=True)
    AdversarialTrainer.check_arguments(norm=norm, eps=eps, steps=steps, step_size=step_size)
    dataset = _checks.one_of("dataset", dataset, data_lib.DATASETS)
    if dataset != "cifar10" and data_path is not None:
        raise ValueError(f"Expected `data_path` only with dataset='cifar10'. Received: dataset={dataset!r}")
    eval_every = _checks.positive_int("eval_every", eval_every)
    eval_images = _checks.positive_int("eval_images", eval_images, minimum=0)
    eval_steps = _checks.positive_int("eval_steps", eval_steps)
    seed = check_seed(seed)
    if stop_after is not None:
        stop_after = _checks.positive_int("stop_after", stop_after)
    if out_dir is None or str(out_dir) == "":
        raise ValueError(f"Expected `out_dir` to be a folder path. Received: out_dir={out_dir!r}")
    out_dir = Path(out_dir)
    settings = {"arch": arch, "arch_kwargs": arch_kwargs or {}, "epochs": epochs, "batch_size": batch_size,
                "lr": lr, "momentum": momentum, "weight_decay": weight_decay, "warmup_fraction": warmup_fraction,
                "norm": norm, "eps": eps, "steps": steps, "step_size": step_size, "holdout": holdout,
                "seed": seed, "data": dataset if data_path is None else str(data_path), "limit": limit}
    distribute.initialize_from_env()  # several hosts (KERAS_DISTRIBUTION_*), before any tensor is made
    _check_writable(out_dir)
    if distribute.process_index() == 0:
        _clean_temporaries(out_dir)
    with distribute.data_parallel(1 if devices is None else devices, sync_batchnorm=sync_batchnorm) as dp:
        distribute.check_batch_size(batch_size, dp.replicas)
        return _train(out_dir, settings, dp, resume=resume, eval_every=eval_every, eval_images=eval_images,
                      eval_steps=eval_steps, deterministic=deterministic, verbose=verbose, stop_after=stop_after)


def _train(out_dir, settings, dp, *, resume, eval_every, eval_images, eval_steps, deterministic, verbose,
           stop_after):
    arch, epochs, batch_size, seed = settings["arch"], settings["epochs"], settings["batch_size"], settings["seed"]
    norm, eps = settings["norm"], settings["eps"]
    keras.utils.set_random_seed(seed)
    if deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    images, labels = _load_train(settings["data"], settings["limit"])
    (x_train, y_train), (x_held, y_held) = split_holdout(images, labels, settings["holdout"], seed)
    x_held, y_held = to_float(x_held[:eval_images]), y_held[:eval_images].astype(np.int32)
    steps_per_epoch = len(x_train) // batch_size
    if steps_per_epoch == 0:
        raise ValueError(f"Expected at least `batch_size`={batch_size} training images. Received: {len(x_train)}")

    shape_kwargs = {}
    if settings["data"] in data_lib.DATASETS and settings["data"] != "cifar10":
        _, shape, classes = data_lib.DATASETS[settings["data"]]
        shape_kwargs = {"num_classes": classes, "input_shape": shape}
    classifier = dp.prepare(get_model(arch, **{**shape_kwargs, **settings["arch_kwargs"]}))
    trainer = AdversarialTrainer(classifier, norm=norm, eps=eps, steps=settings["steps"],
                                 step_size=settings["step_size"], seed=seed)
    optimizer = make_optimizer(settings["lr"], settings["momentum"], settings["weight_decay"],
                               epochs * steps_per_epoch, settings["warmup_fraction"])
    trainer.compile(optimizer=optimizer)
    checkpoint = out_dir / "checkpoint"
    state = {"epoch": 0, "history": [], "best": None, "settings": settings}
    if resume and (checkpoint / "state.json").is_file():
        saved = json.loads((checkpoint / "state.json").read_text())
        _check_same_settings(saved.get("settings"), settings, checkpoint)
        state = _load_checkpoint(checkpoint, classifier, optimizer)
        state["settings"] = settings
        print(f"resuming {out_dir} after epoch {state['epoch']}", flush=True)
    writer = distribute.process_index() == 0  # several hosts: one writes the shared run folder

    for epoch in range(state["epoch"], epochs):
        start = time.time()
        batches = EpochBatches(x_train, y_train, batch_size=batch_size, seed=seed, epoch=epoch)
        local = ((distribute.local_shard(xb), distribute.local_shard(yb)) for xb, yb in batches)
        logs = trainer.fit(local, steps_per_epoch=len(batches), epochs=epoch + 1,
                           initial_epoch=epoch, verbose=verbose).history
        record = {"epoch": epoch + 1, "seconds": round(time.time() - start, 1),
                  **{k: round(float(v[-1]), 4) for k, v in logs.items()}}
        if len(x_held) and ((epoch + 1) % eval_every == 0 or epoch + 1 == epochs):
            held = robust_accuracy(classifier, x_held, y_held, norm=norm, eps=eps if eps > 0 else 0.5,
                                   steps=eval_steps, seed=seed)
            record.update(holdout_clean=held["clean"], holdout_robust=held["robust"])
            score = held["robust"] if eps > 0 else held["clean"]
            if state["best"] is None or score >= state["best"]["score"]:
                state["best"] = {"epoch": epoch + 1, "score": score}
                if writer:
                    with _io.atomic_path(out_dir / "best.weights.h5") as tmp:
                        classifier.save_weights(tmp)
        state["history"].append(record)
        state["epoch"] = epoch + 1
        if writer:
            _save_checkpoint(checkpoint, classifier, optimizer, state)
            # Rewritten whole (atomically) from the checkpointed history: a kill never leaves half a line.
            _io.write_text(out_dir / "log.jsonl", "".join(json.dumps(r) + "\n" for r in state["history"]))
        print(json.dumps(record), flush=True)
        if stop_after is not None and epoch + 1 >= stop_after and epoch + 1 < epochs:
            print(f"stopping after epoch {epoch + 1} (--stop-after); rerun to resume", flush=True)
            return classifier, state["history"]

    if writer:
        with _io.atomic_path(out_dir / "final.weights.h5") as tmp:
            classifier.save_weights(tmp)
    if (out_dir / "best.weights.h5").is_file():
        classifier.load_weights(out_dir / "best.weights.h5")
    return classifier, state["history"]
