"""The Square attack: contract, strength, and the gradient masking it sees through.

Tiny CNNs trained for seconds on the 200 bundled test images stand in for real
classifiers: accurate on those images and far from robust.
"""

import importlib
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

from robustkeras import backend as B
from robustkeras.attacks import apgd, pgd, square
from robustkeras.data import load_sample

from _helpers import requires_jax, tiny_cnn

LINF_EPS, L2_EPS = 8 / 255, 0.5
square_module = importlib.import_module("robustkeras.attacks.square")  # the module, not the function


class Quantise(keras.layers.Layer):
    """Rounds the input to 4 levels. The step has no useful gradient: it is exactly 0."""

    def call(self, x):
        return ops.stop_gradient(ops.round(x * 3.0) / 3.0) + 0.0 * x


def fit(model, x, y, epochs=20):
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=epochs, batch_size=50, verbose=0)
    return model


@pytest.fixture(scope="module")
def data():
    x, y = load_sample()
    return x[:100], y[:100]


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    return fit(tiny_cnn(), *load_sample())


@pytest.fixture(scope="module")
def quantised():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    return fit(keras.Model(inputs, tiny_cnn()(Quantise()(inputs))), *load_sample(), epochs=25)


def accuracy(model, x, y):
    return float(np.mean(np.argmax(keras.ops.convert_to_numpy(model(x)), 1) == y))


def sizes(x_adv, x, norm):
    delta = (x_adv - x).reshape(len(x), -1)
    return np.abs(delta).max(1) if norm == "linf" else np.linalg.norm(delta, axis=1)


def noise_of_norm(x, eps, norm, seed=0):
    """Random perturbations as large as the attack's: a random vertex (L-inf) or direction (L2)."""
    rng = np.random.default_rng(seed)
    if norm == "linf":
        return np.clip(x + eps * rng.choice([-1.0, 1.0], x.shape), 0, 1).astype(np.float32)
    t = rng.standard_normal(x.shape)
    t *= eps / np.linalg.norm(t.reshape(len(x), -1), axis=1).reshape(-1, 1, 1, 1)
    return np.clip(x + t, 0, 1).astype(np.float32)


# The contract


@pytest.mark.parametrize("norm,eps", [("linf", LINF_EPS), ("l2", L2_EPS)])
def test_results_stay_in_the_ball_and_the_image_range(norm, eps):
    keras.utils.set_random_seed(1)
    model = tiny_cnn()
    x, y = load_sample(8)
    x[:3] = np.round(x[:3])  # saturated pixels: the [0, 1] clip must bite
    x_adv = square(model, x, y, norm=norm, eps=eps, queries=60, restarts=2)
    assert x_adv.dtype == np.float32 and x_adv.shape == x.shape
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert sizes(x_adv, x, norm).max() <= eps * (1 + 1e-6)


def test_zero_eps_and_reproducible_seeds(trained, data):
    x, y = data[0][:16], data[1][:16]
    np.testing.assert_array_equal(square(trained, x, y, norm="linf", eps=0.0, queries=10), x)
    a = square(trained, x, y, norm="l2", eps=L2_EPS, queries=40, seed=3)
    np.testing.assert_array_equal(a, square(trained, x, y, norm="l2", eps=L2_EPS, queries=40, seed=3))
    assert not np.array_equal(a, square(trained, x, y, norm="l2", eps=L2_EPS, queries=40, seed=4))


def test_window_schedule_follows_the_paper():
    sides = [int(square_module._window_size(i, 5000, 0.8, 32, 32, norm="linf", rescale=False))
             for i in (0, 10, 11, 51, 201, 4001)]
    # round(sqrt(p * 32 * 32)) with p = 0.8, 0.8, 0.4, 0.2, 0.1, 0.8/128
    assert sides == [29, 29, 20, 14, 10, 3]
    l2 = [int(square_module._window_size(i, 5000, 0.8, 32, 32, norm="l2", rescale=False)) for i in (11, 4001)]
    assert l2 == [21, 3]  # odd, at least 3
    stretched = int(square_module._window_size(500, 1000, 0.8, 32, 32, norm="linf", rescale=True))
    assert stretched == int(square_module._window_size(5000, 10000, 0.8, 32, 32, norm="linf", rescale=False))


def test_l2_pattern_has_unit_norm_and_opposite_halves():
    pattern = ops.convert_to_numpy(square_module._l2_window_pattern(
        32, 32, np.int32(7), np.int32(4), np.int32(10), np.bool_(False),
        ops.convert_to_tensor(square_module._ring_sums(32))))[0, :, :, 0]
    window = pattern[4:11, 10:17]
    assert np.isclose(np.linalg.norm(pattern), 1.0, atol=1e-5)
    assert np.count_nonzero(pattern) == np.count_nonzero(window) == 49
    assert (window[:3] > 0).all() and (window[3:] < 0).all()  # top 7 // 2 rows positive
    assert window[1, 3] == window[:3].max()  # the top half peaks at its centre


def test_targeted_square_reaches_the_target(trained, data):
    x, y = data
    target = (y + 1) % 10
    x_adv = square(trained, x, y, norm="linf", eps=16 / 255, queries=200, target=target)
    hit = np.argmax(keras.ops.convert_to_numpy(trained(x_adv)), 1) == target
    assert hit.mean() >= 0.3


@pytest.mark.parametrize(
    "kwargs,name",
    [({"eps": -0.1}, "eps"), ({"norm": "l1"}, "norm"), ({"queries": 0}, "queries"), ({"p_init": 0.0}, "p_init"),
     ({"p_init": 1.5}, "p_init"), ({"restarts": 0}, "restarts"), ({"seed": -1}, "seed"), ({"target": 12}, "target")],
)
def test_bad_arguments_name_themselves(kwargs, name):
    x, y = load_sample(4)
    with pytest.raises(ValueError, match=f"`{name}`"):
        square(tiny_cnn(), x, y, **{"norm": "linf", "eps": 0.03, "queries": 5, **kwargs})


def test_class_count_and_image_size_come_from_the_model():
    keras.utils.set_random_seed(2)
    model = tiny_cnn(num_classes=4, shape=(20, 24, 1))
    x = np.random.default_rng(0).uniform(size=(6, 20, 24, 1)).astype("float32")
    y = np.argmax(keras.ops.convert_to_numpy(model(x)), 1)
    for norm, eps in [("linf", 0.05), ("l2", 1.0)]:
        x_adv = square(model, x, y, norm=norm, eps=eps, queries=30)
        assert x_adv.shape == x.shape and sizes(x_adv, x, norm).max() <= eps * (1 + 1e-6)
    with pytest.raises(ValueError, match="`y`"):
        square(model, x, np.full(6, 7), norm="linf", eps=0.05, queries=5)


# Strength


@pytest.mark.parametrize("norm,eps", [("linf", LINF_EPS), ("l2", 1.0)])
def test_square_beats_random_noise_of_the_same_norm(trained, data, norm, eps):
    x, y = data
    x_adv = square(trained, x, y, norm=norm, eps=eps, queries=200)
    assert sizes(x_adv, x, norm).max() <= eps * (1 + 1e-6)
    noisy = accuracy(trained, noise_of_norm(x, eps, norm), y)
    assert accuracy(trained, x_adv, y) <= noisy - 0.1


def test_dropping_broken_images_matches_masking_them(trained, data):
    x, y = data[0][:40], data[1][:40]
    dropped = accuracy(trained, square(trained, x, y, norm="linf", eps=LINF_EPS, queries=100), y)
    masked = accuracy(trained, square(trained, x, y, norm="linf", eps=LINF_EPS, queries=100, compact=False), y)
    assert abs(dropped - masked) <= 0.1


# Gradient masking, both ways (issue 21)


def test_square_breaks_a_saturated_softmax_that_fools_pgd_ce(trained, data):
    x, y = data
    inputs = keras.Input((32, 32, 3))
    masked = keras.Model(inputs, 1e4 * trained(inputs))  # same decisions, zero CE gradients
    clean = accuracy(masked, x, y)
    pgd_acc = accuracy(masked, pgd(masked, x, y, norm="linf", eps=LINF_EPS, step_size=LINF_EPS / 4, steps=10), y)
    dlr_acc = accuracy(masked, apgd(masked, x, y, norm="linf", eps=LINF_EPS, steps=20, loss="dlr"), y)
    square_acc = accuracy(masked, square(masked, x, y, norm="linf", eps=LINF_EPS, queries=200), y)
    assert pgd_acc >= clean - 0.02, "PGD-CE should be fooled by the saturated softmax"
    assert dlr_acc <= pgd_acc - 0.3 and square_acc <= pgd_acc - 0.3


def test_only_square_breaks_a_model_behind_input_quantisation(quantised, data):
    x, y = data
    clean = accuracy(quantised, x, y)
    noisy = accuracy(quantised, noise_of_norm(x, LINF_EPS, "linf"), y)
    # PGD cannot move through the rounding: it is refused (issue 30), naming the attack that can
    with pytest.raises(ValueError, match="square"):
        pgd(quantised, x, y, norm="linf", eps=LINF_EPS, step_size=LINF_EPS / 4, steps=10)
    square_acc = accuracy(quantised, square(quantised, x, y, norm="linf", eps=LINF_EPS, queries=200), y)
    assert noisy >= clean - 0.1, "random noise of the same norm should not break it"
    assert square_acc <= clean - 0.3


# Compiled once


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.function tracing counts")
def test_traces_at_most_twice_across_eps_queries_seeds_and_batch_sizes(trained, data):
    # Dropping broken images changes the batch size: TensorFlow traces once for the first shape and
    # once more with the batch dimension relaxed; after that no setting or size retraces.
    x, y = data
    counts = []
    for eps, queries, seed, n in [(0.03, 20, 0, 8), (0.05, 40, 1, 12), (0.02, 30, 2, 16), (0.04, 50, 3, 20)]:
        square(trained, x[:n], y[:n], norm="linf", eps=eps, queries=queries, seed=seed)
        keys = [("square-start", "linf", False), ("square", "linf", False, False)]
        compiled = [B._COMPILED[trained][key] for key in keys]
        counts.append([fn.experimental_get_tracing_count() for fn in compiled])
    assert max(max(c) for c in counts) <= 2 and counts[-1] == counts[-2], counts


# Backends

_JAX_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import keras
    import numpy as np
    from robustkeras.attacks import square
    from robustkeras.data import load_sample

    model = keras.saving.load_model(sys.argv[1])
    x, y = load_sample(100)
    out = {"backend": keras.backend.backend()}
    for norm, eps in [("linf", 8 / 255), ("l2", 0.5)]:
        x_adv = square(model, x, y, norm=norm, eps=eps, queries=200)
        d = (x_adv - x).reshape(len(x), -1)
        out[norm] = {"acc": float(np.mean(np.argmax(keras.ops.convert_to_numpy(model(x_adv)), 1) == y)),
                     "size": float((np.abs(d).max(1) if norm == "linf" else np.linalg.norm(d, axis=1)).max()),
                     "range": [float(x_adv.min()), float(x_adv.max())]}
    print(json.dumps(out))
    """
)


@requires_jax
def test_jax_backend_gives_a_similar_attack(trained, data, tmp_path):
    x, y = data
    path = str(tmp_path / "tiny.keras")
    trained.save(path)
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, "-c", _JAX_SCRIPT, path], env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["backend"] == "jax"
    for norm, eps in [("linf", LINF_EPS), ("l2", L2_EPS)]:
        tf_acc = accuracy(trained, square(trained, x, y, norm=norm, eps=eps, queries=200), y)
        low, high = result[norm]["range"]
        assert result[norm]["size"] <= eps * (1 + 1e-6) and 0 <= low <= high <= 1
        assert abs(result[norm]["acc"] - tf_acc) <= 0.1, (norm, result, tf_acc)  # other random streams
