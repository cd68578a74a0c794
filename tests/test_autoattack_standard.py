"""The standard AutoAttack: stages in order, each on the images still robust, resumable, from the CLI.

The published settings (100 iterations, 9 targets, 5000 queries) take minutes
even on a tiny model, so most tests shrink them through `AUTOATTACK_VERSIONS`;
what is checked is the machinery: order, per-image worst case, resuming.
"""

import importlib
import json

import keras
import numpy as np
import pytest

from robustkeras import cli, evaluate
from robustkeras.attacks import apgd, fab, square
from robustkeras.data import load_sample

EPS = 2 / 255
SMALL = {"stages": ("apgd-ce", "apgd-t", "fab-t", "square"), "steps": 8, "targets": 2, "queries": 40}


@pytest.fixture(scope="module")
def trained():
    x, y = load_sample()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(10),
    ])
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=15, batch_size=50, verbose=0)
    return model


@pytest.fixture()
def small(monkeypatch):
    monkeypatch.setitem(evaluate.AUTOATTACK_VERSIONS, "standard", SMALL)


def fooled(model, x_adv, y):
    return np.argmax(keras.ops.convert_to_numpy(model(x_adv)), 1) != y


def test_standard_is_the_per_image_worst_case_over_its_stages(trained, small):
    x, y = load_sample(60)
    result = evaluate.autoattack(trained, x, y, norm="linf", eps=EPS, version="standard", batch_size=32)
    stages = result["stages"]
    assert list(stages) == ["apgd-ce", "apgd-t", "fab-t", "square"]
    figures = [result["clean"], *stages.values()]
    assert all(a >= b for a, b in zip(figures, figures[1:])), "a stage can only lower robust accuracy"
    assert result["robust"] == stages["square"] < result["clean"]
    assert result["attack"] == "AutoAttack (standard: APGD-CE, APGD-T, FAB-T, Square)"
    assert result["version"] == "standard" and result["queries"] == 40 and result["targets"] == 2
    json.dumps(result)
    # Worst case: every image an attack breaks on its own (same settings) is counted as broken.
    alone = [apgd(trained, x, y, norm="linf", eps=EPS, steps=8, loss="ce"),
             fab(trained, x, y, norm="linf", eps=EPS, steps=8, target_rank=1)[0],
             square(trained, x, y, norm="linf", eps=EPS, queries=40)]
    broken_alone = np.mean(np.any([fooled(trained, a, y) for a in alone], axis=0) | ~np.logical_not(
        fooled(trained, x, y)))
    assert result["robust"] <= 1 - broken_alone + 0.05


def test_apgd_version_is_unchanged_and_standard_adds_stages(trained, small):
    x, y = load_sample(40)
    apgd_only = evaluate.autoattack(trained, x, y, norm="linf", eps=EPS, version="fast")
    assert list(apgd_only["stages"]) == ["apgd-ce", "apgd-t"]
    assert apgd_only["attack"] == "AutoAttack (fast: APGD-CE, APGD-T)"


def test_a_killed_run_resumes_where_it_stopped(trained, small, tmp_path, monkeypatch):
    x, y = load_sample(32)
    kwargs = dict(norm="l2", eps=0.15, version="standard", batch_size=12)
    full = evaluate.autoattack(trained, x, y, **kwargs)

    square_module = importlib.import_module("robustkeras.attacks.square")  # the module, not the function
    calls = {"n": 0}
    real = square_module.square

    def dies_on_second_batch(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(square_module, "square", dies_on_second_batch)
    state = tmp_path / "aa.json"
    with pytest.raises(KeyboardInterrupt):
        evaluate.autoattack(trained, x, y, state_path=state, **kwargs)
    saved = json.loads(state.read_text())
    assert set(saved["stages"]) == {"apgd-ce", "apgd-t", "fab-t"} and "1" in saved["attacked"]
    monkeypatch.setattr(square_module, "square", real)
    resumed = evaluate.autoattack(trained, x, y, state_path=state, **kwargs)
    assert resumed["stages"] == full["stages"] and resumed["robust"] == full["robust"]
    assert calls["n"] == 2, "the finished stages were not run again"
    again = evaluate.autoattack(trained, x, y, state_path=state, **kwargs)  # finished: read back
    assert again["robust"] == full["robust"]
    with pytest.raises(ValueError, match="`state_path`.*eps"):
        evaluate.autoattack(trained, x, y, state_path=state, **{**kwargs, "eps": 0.3})


def test_bad_version_and_state_path_name_themselves(trained):
    x, y = load_sample(4)
    with pytest.raises(ValueError, match="`version`"):
        evaluate.autoattack(trained, x, y, norm="l2", eps=0.5, version="plus")
    with pytest.raises(ValueError, match="`state_path`"):
        evaluate.autoattack(trained, x, y, norm="l2", eps=0.5, state_path=3)


def test_state_of_another_model_or_a_bad_file_is_refused(trained, tmp_path):
    import keras

    x, y = load_sample(4)
    kwargs = dict(norm="linf", eps=1e-4, version="fast")
    state = tmp_path / "aa.json"
    evaluate.autoattack(trained, x, y, state_path=state, **kwargs)
    other = keras.models.clone_model(trained)  # same architecture, fresh weights
    with pytest.raises(ValueError, match="`state_path`.*this model"):
        evaluate.autoattack(other, x, y, state_path=state, **kwargs)
    (tmp_path / "bad.json").write_text("{not json")
    for bad in (tmp_path / "bad.json", tmp_path):  # broken JSON; a folder
        with pytest.raises(ValueError, match="`state_path`"):
            evaluate.autoattack(trained, x, y, state_path=bad, **kwargs)


def test_fewer_than_four_classes_is_refused_up_front():
    import keras

    x, y = load_sample(4)
    three = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="`model` with at least 4 classes"):
        evaluate.autoattack(three, x, y % 3, norm="linf", eps=1e-4, version="fast")


def test_cli_takes_the_version():
    parser = cli.build_parser()
    args = parser.parse_args(["eval", "--model", "m", "--attack", "autoattack", "--version", "standard",
                              "--state", "s.json"])
    assert args.version == "standard" and args.state == "s.json"
    assert parser.parse_args(["eval", "--model", "m"]).version == "standard"  # as the reference
    assert cli.main(["eval", "--model", "m", "--version", "plus"]) == 2


def test_autoattack_returns_the_adversarial_images(trained, small):
    """`return_adversarial=True`: per image the image that fooled the model, else the clean one (issue 30)."""
    x, y = load_sample(24)
    result = evaluate.autoattack(trained, x, y, norm="linf", eps=EPS, return_adversarial=True)
    x_adv = result["x_adv"]
    assert x_adv.shape == x.shape and x_adv.dtype == np.float32
    assert np.abs(x_adv - x).max() <= EPS + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
    assert np.mean(~fooled(trained, x_adv, y)) == result["robust"]
    assert result["robust"] < result["clean"], "the attack should fool some images"
    moved = np.any(x_adv != x, axis=(1, 2, 3))
    assert np.all(fooled(trained, x_adv[moved], y[moved]))
    assert "x_adv" not in evaluate.autoattack(trained, x, y, norm="linf", eps=EPS, version="fast")
    with pytest.raises(ValueError, match="`return_adversarial=False`"):
        evaluate.autoattack(trained, x, y, norm="linf", eps=EPS, return_adversarial=True, state_path="s.json")
