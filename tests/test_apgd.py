"""Auto-PGD, the DLR losses and the AutoAttack-style evaluation.

A tiny CNN trained for a few seconds on the 200 bundled test images stands in
for a real classifier: it is accurate on those images and far from robust,
which is all these checks need.
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from robustkeras.attacks import apgd, dlr, dlr_targeted, pgd
from robustkeras.attacks.apgd import checkpoints
from robustkeras.attacks.prologue import rank_targets
from robustkeras.data import load_sample
from robustkeras.evaluate import autoattack

from _helpers import requires_jax, tiny_cnn

L2_EPS, LINF_EPS = 0.5, 4 / 255


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture(scope="module")
def trained(sample):
    x, y = sample
    keras.utils.set_random_seed(0)
    model = tiny_cnn()
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=25, batch_size=50, verbose=0)
    return model


def accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, verbose=0), 1) == y))


# DLR losses


def test_dlr_matches_hand_computed_values():
    logits = np.array([[3.0, 1.0, 0.0], [1.0, 4.0, 2.0], [2.0, 2.0, -1.0]], "float32")
    y = np.array([0, 0, 1])
    # -(z_y - max other) / (z_pi1 - z_pi3)
    expected = [-(3 - 1) / (3 - 0), -(1 - 4) / (4 - 1), -(2 - 2) / (2 - -1)]
    np.testing.assert_allclose(np.asarray(dlr(logits, y)), expected, rtol=1e-6)


def test_dlr_is_invariant_to_scaling_and_shifting_logits():
    logits = np.random.default_rng(0).normal(size=(5, 10)).astype("float32")
    y = np.arange(5)
    np.testing.assert_allclose(np.asarray(dlr(1e4 * logits + 3.0, y)), np.asarray(dlr(logits, y)), rtol=1e-4)


def test_targeted_dlr_matches_hand_computed_values():
    logits = np.array([[4.0, 2.0, 1.0, 0.0], [1.0, 3.0, 0.0, 2.0]], "float32")
    y, target = np.array([0, 1]), np.array([1, 0])
    # -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2)
    expected = [-(4 - 2) / (4 - (1 + 0) / 2), -(3 - 1) / (3 - (1 + 0) / 2)]
    np.testing.assert_allclose(np.asarray(dlr_targeted(logits, y, target)), expected, rtol=1e-6)


def test_dlr_rejects_too_few_classes():
    with pytest.raises(ValueError, match="at least 3 classes"):
        dlr(np.zeros((2, 2), "float32"), np.array([0, 1]))
    with pytest.raises(ValueError, match="at least 4 classes"):
        dlr_targeted(np.zeros((2, 3), "float32"), np.array([0, 1]), np.array([1, 2]))


# The attack's contract


def test_checkpoints_follow_the_published_schedule():
    is_check, window = checkpoints(100)
    assert list(np.flatnonzero(is_check) + 1) == [22, 41, 57, 70, 80, 87, 93, 99]
    assert list(window[is_check > 0]) == [22, 19, 16, 13, 10, 7, 6, 6]


@pytest.mark.parametrize("norm,eps", [("l2", L2_EPS), ("linf", LINF_EPS)])
@pytest.mark.parametrize("loss", ["ce", "dlr"])
def test_never_leaves_the_ball_or_the_image_range(norm, eps, loss):
    keras.utils.set_random_seed(1)
    model = tiny_cnn()
    x, y = load_sample(16)
    x[:4] = np.round(x[:4])  # saturated pixels: the [0, 1] clip must bite
    x_adv = apgd(model, x, y, norm=norm, eps=eps, steps=12, loss=loss, restarts=2)
    assert x_adv.dtype == np.float32 and x_adv.shape == x.shape
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    delta = (x_adv - x).reshape(len(x), -1)
    size = np.abs(delta).max(1) if norm == "linf" else np.linalg.norm(delta, axis=1)
    assert size.max() <= eps * (1 + 1e-5) + 1e-7


def test_zero_eps_returns_the_images():
    x, y = load_sample(4)
    np.testing.assert_array_equal(apgd(tiny_cnn(), x, y, norm="l2", eps=0.0, steps=5), x)


@pytest.mark.parametrize("target_kind", ["rank", "ids"])
def test_targeted_apgd_raises_the_target_class(trained, sample, target_kind):
    x, y = sample[0][:40], sample[1][:40]
    probs = keras.ops.convert_to_numpy(keras.ops.softmax(trained(x)))
    if target_kind == "rank":
        target, kwargs = rank_targets(y, probs, 3), {"target_rank": 3}
    else:
        target = (y + 1) % 10
        kwargs = {"target": target}
    x_adv = apgd(trained, x, y, norm="l2", eps=L2_EPS, steps=20, loss="dlr", **kwargs)
    after = keras.ops.convert_to_numpy(keras.ops.softmax(trained(x_adv)))
    rows = np.arange(len(x))
    assert np.mean(after[rows, target] > probs[rows, target]) >= 0.9
    assert after[rows, target].mean() > 2 * probs[rows, target].mean()


def test_target_none_picks_the_kth_most_likely_wrong_class():
    logits = np.array([[5.0, 1.0, 3.0, 2.0], [0.0, 1.0, 9.0, 4.0]], "float32")
    y = np.array([0, 3])  # second image is misclassified: its true class is still excluded
    assert list(rank_targets(y, logits, 1)) == [2, 2]
    assert list(rank_targets(y, logits, 2)) == [3, 1]


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"eps": -0.1}, "eps"),
        ({"norm": "l3"}, "norm"),
        ({"steps": 0}, "steps"),
        ({"loss": "hinge"}, "loss"),
        ({"restarts": 0}, "restarts"),
        ({"seed": -1}, "seed"),
        ({"target": 11}, "target"),
        ({"target_rank": 10}, "target_rank"),
        ({"target": 3, "target_rank": 1}, "target"),
        ({"num_classes": 5}, "num_classes"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs, name):
    x, y = load_sample(4)
    args = {"norm": "linf", "eps": 0.03, "steps": 5, **kwargs}
    if name == "num_classes":
        y = y % 5
    with pytest.raises(ValueError, match=f"`{name}`"):
        apgd(tiny_cnn(), x, y, **args)


def test_bad_images_labels_and_targets_raise_value_error():
    x, y = load_sample(4)
    model = tiny_cnn()
    with pytest.raises(ValueError, match="`x`"):
        apgd(model, x * 255, y, norm="l2", eps=0.5)
    with pytest.raises(ValueError, match="`y`"):
        apgd(model, x, y[:3], norm="l2", eps=0.5)
    with pytest.raises(ValueError, match="`target`"):
        apgd(model, x, y, norm="l2", eps=0.5, target=y)


@pytest.mark.parametrize("classes,targeted,needed", [(2, False, 3), (3, True, 4)])
def test_dlr_needs_enough_classes(classes, targeted, needed):
    x, y = load_sample(4)
    model = tiny_cnn(classes)
    with pytest.raises(ValueError, match=f"at least {needed} classes"):
        apgd(model, x, y % classes, norm="l2", eps=0.5, steps=5, loss="dlr", target_rank=1 if targeted else None,
             num_classes=classes)


# Strength


@pytest.mark.parametrize("norm,eps", [("l2", L2_EPS), ("linf", LINF_EPS)])
def test_apgd_ce_is_at_least_as_strong_as_pgd(trained, sample, norm, eps):
    x, y = sample
    pgd_acc = accuracy(trained, pgd(trained, x, y, norm=norm, eps=eps, step_size=2.5 * eps / 20, steps=20), y)
    apgd_acc = accuracy(trained, apgd(trained, x, y, norm=norm, eps=eps, steps=20), y)
    assert pgd_acc < accuracy(trained, x, y) - 0.2, "the test model should not be robust"
    assert apgd_acc <= pgd_acc + 0.01


def test_apgd_dlr_catches_masked_gradients_that_fool_pgd_ce(trained, sample):
    x, y = sample
    inputs = keras.Input((32, 32, 3))
    masked = keras.Model(inputs, 1e4 * trained(inputs))  # same decisions, saturated softmax
    clean = accuracy(masked, x, y)
    pgd_acc = accuracy(masked, pgd(masked, x, y, norm="linf", eps=LINF_EPS, step_size=LINF_EPS / 8, steps=20), y)
    dlr_acc = accuracy(masked, apgd(masked, x, y, norm="linf", eps=LINF_EPS, steps=20, loss="dlr"), y)
    assert pgd_acc >= clean - 0.02, "PGD-CE should be fooled by the zero gradients"
    assert dlr_acc <= pgd_acc - 0.3


def test_autoattack_fast_is_a_worst_case_over_stages(trained, sample):
    x, y = sample[0][:100], sample[1][:100]
    result = autoattack(trained, x, y, norm="linf", eps=LINF_EPS, version="fast", batch_size=64)
    assert result["robust"] == result["stages"]["apgd-t"]
    assert result["robust"] <= result["stages"]["apgd-ce"] <= result["clean"] == accuracy(trained, x, y)
    pgd_acc = accuracy(trained, pgd(trained, x, y, norm="linf", eps=LINF_EPS, step_size=LINF_EPS / 8, steps=20), y)
    assert result["robust"] <= pgd_acc + 0.01
    assert result["seconds"] > 0 and result["n"] == 100
    json.dumps(result)


def test_autoattack_rejects_unknown_version(trained, sample):
    with pytest.raises(ValueError, match="`version`"):
        autoattack(trained, *sample, norm="l2", eps=0.5, version="plus")


# Backends

_JAX_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import keras
    import numpy as np
    from robustkeras.attacks import apgd
    from robustkeras.data import load_sample

    model = keras.saving.load_model(sys.argv[1])
    x, y = load_sample()
    x_adv = apgd(model, x, y, norm="l2", eps=float(sys.argv[2]), steps=20)
    acc = float(np.mean(np.argmax(keras.ops.convert_to_numpy(model(x_adv)), 1) == y))
    print(json.dumps({"backend": keras.backend.backend(), "robust": acc}))
    """
)


@requires_jax
def test_jax_backend_gives_the_same_robust_accuracy(trained, sample, tmp_path):
    x, y = sample
    tf_acc = accuracy(trained, apgd(trained, x, y, norm="l2", eps=L2_EPS, steps=20), y)
    path = str(tmp_path / "tiny.keras")
    trained.save(path)
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, "-c", _JAX_SCRIPT, path, str(L2_EPS)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["backend"] == "jax"
    assert abs(result["robust"] - tf_acc) <= 0.01, (result, tf_acc)
