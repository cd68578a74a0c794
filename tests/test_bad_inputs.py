"""Every public function refuses bad input with one clear error naming the argument (issue 9, part 1).

One table: each row is a callable, its keyword arguments and the argument the
message must name (as "`name" so that "`strokes[0]`" matches "strokes").
Values wrapped in `Lazy` are built per test from the shared context (a tiny
model, temporary files). Every check happens before any tensor work, so the
whole table runs in seconds. The CLI rows check the exit status 2 and the
single stderr line.
"""

import contextlib
import json
from unittest import mock

import keras
import numpy as np
import pytest

from robustkeras import cli, evaluate, metrics, plotting, pretrained, synthesis, tour
from robustkeras.attacks import apgd, fab, fgsm, make_step_rule, pgd, square
from robustkeras.data import CLASSES, EpochBatches, load_cifar10, load_cifar10_arrays, load_sample, to_float
from robustkeras.models import get_model
from robustkeras.training import AdversarialTrainer, train

X, Y = load_sample(4)
U8 = (X * 255).astype(np.uint8)
HAS_WEIGHTS = {"fastnet_l2_robust", "fastnet_judge"} <= set(pretrained.available())


class Lazy:
    """A value built from the test context (`ctx`: model, tmp folder) when the row runs."""

    def __init__(self, build):
        self.build = build


MODEL = Lazy(lambda ctx: ctx["model"])


def _tmp(name):
    return Lazy(lambda ctx: ctx["tmp"] / name)


def _empty_cifar(ctx):
    folder = ctx["tmp"] / "empty" / "cifar-10-batches-bin"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test_batch.bin").write_bytes(b"")
    return folder.parent


def _truncated_weights(ctx):
    shipped = pretrained.FOLDER / pretrained.manifest()["fastnet_l2_robust"]["file"]
    path = ctx["tmp"] / "truncated.weights.h5"
    path.write_bytes(shipped.read_bytes()[: shipped.stat().st_size // 2])
    return path


def _foreign_weights(ctx):
    path = ctx["tmp"] / "foreign.weights.h5"
    ctx["model"].save_weights(path)
    return path


def _load_other_architecture(tmp):
    """A manifest entry whose file holds weights of another architecture (hash right, shapes wrong)."""
    entries = pretrained.manifest()
    entries["fastnet_l2_robust"] = {**entries["fastnet_l2_robust"], "arch": "fastnet_small"}
    manifest = tmp / "manifest.json"
    manifest.write_text(json.dumps(entries))
    with mock.patch.object(pretrained, "MANIFEST", manifest):
        pretrained.load("fastnet_l2_robust", compile=False)


def _fit(model, x, y, as_dataset=False):
    trainer = AdversarialTrainer(model, norm="l2", eps=0.1)
    trainer.compile(optimizer="sgd")
    if as_dataset:
        import tensorflow as tf

        x = tf.data.Dataset.from_tensor_slices((x, y)).batch(2)
        return trainer.fit(x, epochs=1, verbose=0)
    return trainer.fit(x, y, epochs=1, verbose=0)


def _painter(model, image=X[0], class_id=None):
    painter = synthesis.FeaturePainter(model, image)
    return painter.top_units(class_id=class_id)


def _first_image(ctx):
    return X[:1]


ATTACK = dict(model=MODEL, x=X, y=Y, norm="l2", eps=0.5, step_size=0.1, steps=2)
RA = dict(model=MODEL, x=X, y=Y, norm="l2", eps=0.5)
TRAINER = dict(classifier=MODEL, norm="l2", eps=0.5)
APGD = dict(model=MODEL, x=X, y=Y, norm="l2", eps=0.5, steps=2)
TRAIN = dict(out_dir=_tmp("run"), epochs=1, data_path="/nonexistent")
OPT = dict(model=MODEL, start=X, objective=synthesis.class_objective, params={"target": Y}, steps=1, step_size=0.1)
SKETCHES = synthesis.make_sketch(X)


def _with(base, **changes):
    return {**base, **changes}


# (callable, kwargs, argument the message names[, exception type])
CASES = [
    # data
    (load_cifar10_arrays, dict(split="valid"), "split"),
    (load_cifar10_arrays, dict(limit=0), "limit"),
    (load_cifar10_arrays, dict(path="/nonexistent/cifar"), "path"),
    (load_cifar10_arrays, dict(path=Lazy(_empty_cifar)), "path"),
    (load_cifar10, dict(batch_size=0), "batch_size"),
    (load_cifar10, dict(batch_size=2.5), "batch_size"),
    (load_cifar10, dict(seed=-1), "seed"),
    (load_sample, dict(limit=-1), "limit"),
    (to_float, dict(images=X), "images"),
    (EpochBatches, dict(images=U8, labels=Y[:2], batch_size=2, seed=0, epoch=0), "images"),
    (EpochBatches, dict(images=U8, labels=Y, batch_size=0, seed=0, epoch=0), "batch_size"),
    # models and pretrained weights
    (get_model, dict(name="vgg"), "name"),
    (get_model, dict(name="fastnet", weights="nope"), "weights"),
    (get_model, dict(name="fastnet_small", weights="fastnet_l2_robust"), "weights"),
    (pretrained.load, dict(name="resnet1000"), "name"),
    (pretrained.load, dict(name="fastnet_l2_robust", expected_arch="vgg"), "expected_arch"),
    (pretrained.load, dict(name="fastnet_l2_robust", expected_arch="fastnet_small"), "name"),
    (pretrained.load, dict(name="fastnet_l2_robust", path=_tmp("missing.weights.h5")), "path", FileNotFoundError),
    (pretrained.load, dict(name="fastnet_l2_robust", path=Lazy(_truncated_weights)), "path"),
    (pretrained.load, dict(name="fastnet_l2_robust", path=Lazy(_foreign_weights)), "path"),
    (_load_other_architecture, dict(tmp=_tmp("")), "name"),
    # evaluation
    (evaluate.clean_accuracy, dict(model=MODEL, x=X, y=[0, 1, 2, 10]), "y"),
    (evaluate.clean_accuracy, dict(model=MODEL, x=X, y=Y + 0.5), "y"),
    (evaluate.clean_accuracy, dict(model=MODEL, x=X, y=Y[:3]), "y"),
    (evaluate.clean_accuracy, dict(model=MODEL, x=U8, y=Y), "x"),
    (evaluate.clean_accuracy, dict(model=MODEL, x=X * 255, y=Y), "x"),
    (evaluate.clean_accuracy, dict(model=MODEL, x=X, y=Y, batch_size=0), "batch_size"),
    (evaluate.predict_logits, dict(model=MODEL, x=X[0]), "x"),
    (evaluate.robust_accuracy, _with(RA, eps=-0.1), "eps"),
    (evaluate.robust_accuracy, _with(RA, norm="l1"), "norm"),
    (evaluate.robust_accuracy, _with(RA, steps=0), "steps"),
    (evaluate.robust_accuracy, _with(RA, step_size=-1.0), "step_size"),
    (evaluate.robust_accuracy, _with(RA, restarts=0), "restarts"),
    (evaluate.autoattack, dict(model=MODEL, x=X, y=Y, norm="l2", eps=0.5, version="slow"), "version"),
    (evaluate.autoattack, dict(model=MODEL, x=X, y=Y, norm="l2", eps=float("nan")), "eps"),
    # attacks
    (pgd, _with(ATTACK, x=X[0]), "x"),
    (pgd, _with(ATTACK, x=np.zeros((0, 32, 32, 3), np.float32), y=Y[:0]), "x"),
    (pgd, _with(ATTACK, eps=-0.1), "eps"),
    (pgd, _with(ATTACK, step_size=-1.0), "step_size"),
    (pgd, _with(ATTACK, steps=-1), "steps"),
    (pgd, _with(ATTACK, steps=0), "steps"),  # >= 1, as in every attack
    (pgd, _with(ATTACK, target=Y), "target"),  # a target equal to the true label, as apgd/square/fab refuse
    (pgd, _with(ATTACK, target=int(Y[0])), "target"),
    (fgsm, dict(model=MODEL, x=X, y=Y, norm="linf", eps=0.1, target=Y), "target"),
    (pgd, _with(ATTACK, norm="l3"), "norm"),
    (pgd, _with(ATTACK, loss="hinge"), "loss"),
    (pgd, _with(ATTACK, seed=-1), "seed"),
    (pgd, _with(ATTACK, y=[0, 1, 2, 99]), "y"),
    (pgd, _with(ATTACK, num_classes=1), "num_classes"),
    (fgsm, dict(model=MODEL, x=X, y=Y, norm="linf", eps=-1.0), "eps"),
    (fgsm, dict(model=MODEL, x=X, y=Y, norm="linf", eps=0.1, step_size=-0.5), "step_size"),
    (apgd, _with(APGD, loss="ce2"), "loss"),
    (apgd, _with(APGD, steps=0), "steps"),
    (apgd, _with(APGD, restarts=0), "restarts"),
    (apgd, _with(APGD, target=3), "target"),
    (apgd, _with(APGD, target=11), "target"),
    (apgd, _with(APGD, target_rank=10), "target_rank"),
    (square, dict(model=MODEL, x=X, y=Y, norm="linf", eps=0.1, target=Y), "target"),
    (square, dict(model=MODEL, x=X[..., :1], y=Y, norm="linf", eps=0.1), "x"),
    (fab, dict(model=MODEL, x=X, y=Y, norm="l2", eps=None, target=Y), "target"),
    (fab, dict(model=MODEL, x=np.zeros((4, 64, 64, 3), np.float32), y=Y, norm="l2", eps=None), "x"),
    (make_step_rule, dict(norm="l1", eps=0.5, step_size=0.1), "norm"),
    (make_step_rule, dict(norm="l2", eps=-1.0, step_size=0.1), "eps"),
    (make_step_rule, dict(norm="l2", eps=0.5, step_size=-0.1), "step_size"),
    # training
    (AdversarialTrainer, _with(TRAINER, classifier="fastnet"), "classifier"),
    (AdversarialTrainer, _with(TRAINER, norm="l1"), "norm"),
    (AdversarialTrainer, _with(TRAINER, step_size=-1.0), "step_size"),
    (AdversarialTrainer, _with(TRAINER, adv_fraction=1.5), "adv_fraction"),
    (AdversarialTrainer, _with(TRAINER, seed=-2), "seed"),
    (_fit, dict(model=MODEL, x=U8, y=Y), "x"),
    (_fit, dict(model=MODEL, x=X, y=Y + 10), "y"),
    (_fit, dict(model=MODEL, x=U8, y=Y, as_dataset=True), "x"),
    (train, _with(TRAIN, arch="vgg"), "arch"),
    (train, _with(TRAIN, lr=-0.1), "lr"),
    (train, _with(TRAIN, epochs=0), "epochs"),
    (train, _with(TRAIN, momentum=1.5), "momentum"),
    (train, _with(TRAIN, warmup_fraction=-0.1), "warmup_fraction"),
    (train, _with(TRAIN, norm="l1"), "norm"),
    (train, _with(TRAIN, eps=-1.0), "eps"),
    (train, _with(TRAIN, steps=0), "steps"),
    (train, _with(TRAIN, eval_every=0), "eval_every"),
    (train, _with(TRAIN, stop_after=0), "stop_after"),
    (train, _with(TRAIN, out_dir=None), "out_dir"),
    # synthesis: the optimizer
    (synthesis.optimize, _with(OPT, params={"target": Y[:3]}), "params"),
    (synthesis.optimize, _with(OPT, params=[Y]), "params"),
    (synthesis.optimize, _with(OPT, objective=None), "objective"),
    (synthesis.optimize, _with(OPT, radius=-1.0), "radius"),
    (synthesis.optimize, _with(OPT, radius=float("nan")), "radius"),
    (synthesis.optimize, _with(OPT, step_size=-1.0), "step_size"),
    (synthesis.optimize, _with(OPT, anchor=X[:2]), "anchor"),
    (synthesis.optimize, _with(OPT, start=X * 2), "start"),
    (synthesis.class_probability, dict(model=MODEL, images=X, classes=[10] * 4), "classes"),
    # synthesis: tasks
    (synthesis.generate, dict(model=MODEL, target=[10]), "target"),
    (synthesis.generate, dict(model=MODEL, target=[]), "target"),
    (synthesis.generate, dict(model=MODEL, target=[1], steps=2, multiscale=True), "steps"),
    (synthesis.generate, dict(model=MODEL, target=[1], steps=2**31), "steps"),  # past the int32 loop counter
    (synthesis.generate, dict(model=MODEL, target=[1], step_size=-1.0), "step_size"),
    (synthesis.generate, dict(model=MODEL, target=[1], seed=-1), "seed"),
    (synthesis.inpaint, dict(model=MODEL, images=X, target=Y, mask=np.ones((4, 16, 16, 1))), "mask"),
    (synthesis.inpaint, dict(model=MODEL, images=X, target=Y, mask=np.full((32, 32, 1), 2.0)), "mask"),
    (synthesis.inpaint, dict(model=MODEL, images=X, target=Y, mask=np.ones((32, 32))), "mask"),
    (synthesis.inpaint, dict(model=MODEL, images=X, target=Y[:3], mask=np.ones((32, 32, 1))), "target"),
    (synthesis.inpaint, dict(model=MODEL, images=X, target=Y, mask=np.ones((32, 32, 1)), weight=-1.0), "weight"),
    (synthesis.make_mask, dict(kind="ring", n=2, size=32), "kind"),
    (synthesis.make_mask, dict(kind="center", n=2), "size"),
    (synthesis.make_mask, dict(kind="center", n=0, size=32), "n"),
    (synthesis.make_mask, dict(kind="center", n=2, size=32, fraction=1.5), "fraction"),
    (synthesis.make_mask, dict(kind="random", n=2, size=32, seed=-1), "seed"),
    (synthesis.super_resolve, dict(model=MODEL, lowres=synthesis.downsample(X, 4), target=Y, factor=0), "factor"),
    (synthesis.super_resolve, dict(model=MODEL, lowres=synthesis.downsample(X, 4), target=Y[:1]), "target"),
    (synthesis.downsample, dict(images=X, factor=3), "factor"),
    (synthesis.bicubic, dict(lowres=U8, factor=2), "lowres"),
    (synthesis.make_sketch, dict(images=X, kind="oil"), "kind"),
    (synthesis.make_sketch, dict(images=X[0, :, :, 0]), "images"),
    (synthesis.strokes_to_sketch, dict(strokes=[[(0.2, 0.2), (1.5, 0.8)]]), "strokes"),
    (synthesis.strokes_to_sketch, dict(strokes=[[]]), "strokes"),
    (synthesis.strokes_to_sketch, dict(strokes="abc"), "strokes"),
    (synthesis.strokes_to_sketch, dict(strokes=[[(0.2, 0.2)]], size=0), "size"),
    (synthesis.sketch_to_image, dict(model=MODEL, sketches=SKETCHES[..., :1], target=Y), "sketches"),
    (synthesis.sketch_to_image, dict(model=MODEL, sketches=SKETCHES, target=Y + 10), "target"),
    (synthesis.translate, dict(model=MODEL, images=X, target=[-1] * 4), "target"),
    (synthesis.translate, dict(model=MODEL, images=X, target=Y, radius=-1.0), "radius"),
    (synthesis.manipulate, dict(model=MODEL, images=X, unit=1, region=np.ones((16, 16, 1))), "region"),
    (synthesis.manipulate, dict(model=MODEL, images=X, unit=[1, 2], region=np.ones((32, 32, 1))), "unit"),
    (synthesis.manipulate, dict(model=MODEL, images=X, unit=1, region=np.ones((32, 32, 1)), weight=-1.0), "weight"),
    (_painter, dict(model=MODEL, image=X), "image"),
    (_painter, dict(model=MODEL, class_id=10), "class_id"),
    (synthesis.sample_seeds, dict(classes=[1], size=12), "size"),
    (synthesis.sample_seeds, dict(classes=[[1]]), "classes"),
    (synthesis.sample_seeds, dict(classes=[1], seed=-1), "seed"),
    (synthesis.sample_seeds, dict(classes=[1], stats={}), "stats"),
    (synthesis.compute_class_stats, dict(images=X, labels=Y), "labels"),
    (synthesis.load_class_stats, dict(path=_tmp("missing.npz")), "path", FileNotFoundError),
    # metrics
    (metrics.psnr, dict(images=X, reference=X[:2]), "reference"),
    (metrics.psnr, dict(images=X, reference=X * 255), "reference"),
    (metrics.ssim, dict(images=X[:, :4, :4], reference=X[:, :4, :4]), "images"),
    (metrics.judge_accuracy, dict(judge=MODEL, images=X, targets=[10] * 4), "targets"),
    (metrics.frechet_distance, dict(feats_a=np.zeros((1, 4)), feats_b=np.zeros((5, 4))), "feats_a"),
    (metrics.frechet_distance, dict(feats_a=np.zeros((5, 4)), feats_b=np.zeros((5, 3))), "feats_b"),
    (metrics.feature_distance, dict(judge=MODEL, images=U8, reference=X), "images"),
    (metrics.inception_score, dict(images=X, splits=0), "splits"),
    # plotting
    (plotting.image_grid, dict(columns=[X, X[:2]]), "columns"),
    (plotting.image_grid, dict(columns=[]), "columns"),
    (plotting.image_grid, dict(columns=X), "columns"),
    (plotting.image_grid, dict(columns=[X * 2]), "columns"),
    (plotting.image_grid, dict(columns=[X], column_titles=["a", "b"]), "column_titles"),
    (plotting.image_grid, dict(columns=[X], row_labels=["a"]), "row_labels"),
    (plotting.image_grid, dict(columns=[X], scale=0), "scale"),
    (plotting.class_grid, dict(images=X, classes=Y, class_names=CLASSES, per_class=3), "per_class"),
    # the tour
    (tour.run_tour, dict(out_dir=_tmp("tour"), tasks=["painting"]), "tasks"),
    (tour.run_tour, dict(out_dir=_tmp("tour"), model_name="nope"), "model_name"),
    (tour.run_tour, dict(out_dir=_tmp("tour"), seed=-1), "seed"),
    # messages that say what is wrong (review R2 #9)
    (pgd, _with(ATTACK, x=np.full_like(X, np.nan)), "x` pixels in [0, 1]. Received: x contains NaN"),
    (synthesis.manipulate, dict(model=MODEL, images=X, unit=10**6, region=np.ones((32, 32, 1))), "unit` to be a feature index"),
    (apgd, _with(APGD, target=1, target_rank=1), "target` or `target_rank`, not both. Received: target=1 and"),
]


def _case_id(case):
    fn, kwargs, name = case[:3]
    return f"{getattr(fn, '__name__', fn)}-{name}"


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    keras.utils.set_random_seed(0)
    return {"model": get_model("fastnet_small"), "tmp": tmp_path_factory.mktemp("bad_inputs")}


def test_the_table_is_large_enough():
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_bad_input_names_the_argument(case, context):
    fn, kwargs, name = case[:3]
    error = case[3] if len(case) > 3 else ValueError
    needs_weights = fn in (pretrained.load, _load_other_architecture, tour.run_tour) or "weights" in kwargs
    if needs_weights and not HAS_WEIGHTS:
        pytest.skip("pretrained weights not shipped")
    kwargs = {k: v.build(context) if isinstance(v, Lazy) else v for k, v in kwargs.items()}
    with pytest.raises(error) as info:
        fn(**kwargs)
    message = str(info.value)
    assert f"`{name}" in message, message


# One table over every attack and evaluation entry point (issue 33): `attacks.prologue` refuses
# the same bad input with the same message, before any tensor work.
def _sharded_robust_accuracy(model, **kwargs):
    return evaluate.robust_accuracy(model, devices=1, **kwargs)


ENTRY_POINTS = {  # name: (callable, the rest of a valid call, its count argument or None)
    "pgd": (pgd, dict(step_size=0.1, steps=2), "steps"),
    "fgsm": (fgsm, {}, None),
    "apgd": (apgd, dict(steps=2), "steps"),
    "square": (square, dict(queries=2), "queries"),
    "fab": (fab, dict(steps=2), "steps"),
    "robust_accuracy": (evaluate.robust_accuracy, dict(steps=2), "steps"),
    "robust_accuracy(devices=1)": (_sharded_robust_accuracy, dict(steps=2), "steps"),
    "autoattack": (evaluate.autoattack, dict(version="fast"), None),
}
SHARED = [  # (changes, the argument named, words the message holds, checked before the model is touched)
    (dict(seed=2**31), "seed", "Received: seed=2147483648", True),
    (dict(seed=-1), "seed", "between 0 and 2147483647", True),
    (dict(norm=2), "norm", "write norm='l2'", True),
    (dict(norm=np.inf), "norm", "write norm='linf'", True),
    (dict(norm="linf", eps=8), "eps", "write eps=8 / 255", True),
    (dict(norm="l2", eps=128.0), "eps", "L2 diameter", True),
    (dict(eps=float("nan")), "eps", "Received", True),
    (dict(batch_size=0), "batch_size", "Received: batch_size=0", True),
    (dict(y=None), "y", "y=None", False),
    (dict(y=np.eye(10, dtype="float32")[Y]), "y", "y.argmax(1)", False),
]
OPTIONS_AT_EPS_0 = [  # options are checked even when eps=0 makes the attack a no-op
    ("pgd", dict(loss="hinge"), "loss"),
    ("pgd", dict(random_start="yes"), "random_start"),
    ("fgsm", dict(step_size=-1.0), "step_size"),
    ("apgd", dict(loss="hinge"), "loss"),
    ("apgd", dict(target_rank=0), "target_rank"),
    ("square", dict(rescale_schedule="yes"), "rescale_schedule"),
    ("square", dict(compact="no"), "compact"),
    ("square", dict(p_init=0.0), "p_init"),
    ("fab", dict(beta=1.0), "beta"),
    ("robust_accuracy", dict(step_size=-1.0), "step_size"),
    ("autoattack", dict(version="plus"), "version"),
]


def _entry_cases():
    for name, (fn, rest, count) in ENTRY_POINTS.items():
        base = {"x": X, "y": Y, "norm": "l2", "eps": 0.5, **rest}
        for changes, arg, words, early in SHARED:
            yield pytest.param(fn, {**base, **changes}, arg, words, early, id=f"{name}-{arg}-{changes}"[:70])
        if count:
            for value in (2**31, 0):
                yield pytest.param(fn, {**base, count: value}, count, "2147483647", True, id=f"{name}-{count}={value}")
        for entry, changes, arg in OPTIONS_AT_EPS_0:
            if entry == name:
                yield pytest.param(fn, {**base, "eps": 0.0, **changes}, arg, "Received", True, id=f"{name}-eps0-{arg}")


@pytest.mark.parametrize("fn,kwargs,name,words,early", list(_entry_cases()))
def test_every_attack_refuses_the_same_input_the_same_way(fn, kwargs, name, words, early, context):
    from robustkeras import _checks

    untouched = mock.patch.object(_checks, "classifier", side_effect=AssertionError("the model was reached"))
    with untouched if early else contextlib.nullcontext():
        with pytest.raises(ValueError) as info:
            fn(context["model"], **kwargs)
    message = str(info.value)
    assert f"`{name}`" in message and words in message, message


@pytest.mark.parametrize("fn", [pgd, fgsm, apgd, square, fab, evaluate.robust_accuracy, evaluate.autoattack])
def test_every_attack_requires_norm_and_eps(fn):
    import inspect

    parameters = inspect.signature(fn).parameters
    assert parameters["norm"].default is inspect.Parameter.empty
    assert parameters["eps"].default is inspect.Parameter.empty
    assert "targeted" not in parameters  # the pre-1.0 form is gone: `target=` / `target_rank=`


CLI_CASES = [  # the message names the flag the user typed, not the library's argument
    (["eval", "--model", "nope"], "`--model`"),
    (["eval", "--model", "fastnet_l2_robust", "--eps", "-1"], "`--eps`"),
    (["eval", "--model", "fastnet_l2_robust", "--steps", "0"], "`--steps`"),
    (["eval", "--model", "fastnet_l2_robust", "--limit", "0"], "`--limit`"),
    (["train", "--out", "{tmp}/run", "--arch", "vgg"], "`--arch`"),
    (["train", "--out", "{tmp}/run", "--lr", "-0.1"], "`--lr`"),
    (["train", "--out", "{tmp}/run", "--eps", "-0.5"], "`--eps`"),
    (["train", "--out", "{tmp}/run", "--data", "{tmp}/nothing-here"], "`--data`"),
    (["tour", "--out", "{tmp}/tour", "--seed", "-1"], "`--seed`"),
    # argparse's own errors: one line too, still status 2
    (["eval", "--model", "fastnet_l2_robust", "--eps", "abc"], "--eps"),
    (["train", "--out", "{tmp}/run", "--norm", "l3"], "--norm"),
    (["eval"], "--model"),
]


@pytest.mark.parametrize("args,needle", CLI_CASES, ids=[" ".join(a[:3]) for a, _ in CLI_CASES])
def test_cli_bad_arguments_exit_2_with_one_line(args, needle, tmp_path, capsys):
    if "fastnet_l2_robust" in args and not HAS_WEIGHTS:
        pytest.skip("pretrained weights not shipped")
    args = [a.format(tmp=tmp_path) for a in args]
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], captured.err
    assert not (tmp_path / "run").exists() and not (tmp_path / "tour").exists(), "nothing written on bad input"
