"""FAB-T: exact where the answer is known (linear models), no worse than PGD where it is not."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from robustkeras import backend as B
from robustkeras.attacks import fab
from robustkeras.attacks.fab import project_on_hyperplane
from robustkeras.attacks.pgd import pgd_loop
from robustkeras.attacks.steps import make_step_rule
from robustkeras.data import load_sample

from _helpers import requires_jax, tiny_cnn


@pytest.fixture(scope="module")
def trained():
    x, y = load_sample()
    keras.utils.set_random_seed(0)
    model = tiny_cnn()
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=20, batch_size=50, verbose=0)
    return model


def sizes(a, b, norm):
    delta = (a - b).reshape(len(a), -1)
    return np.abs(delta).max(1) if norm == "linf" else np.linalg.norm(delta, axis=1)


def predict(model, x):
    return np.argmax(keras.ops.convert_to_numpy(model(x)), 1)


# The projection


def test_projection_is_the_smallest_step_onto_the_plane_inside_the_box():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(64, 30)).astype("float32")
    w = rng.normal(size=(64, 30)).astype("float32")
    c = rng.normal(size=64).astype("float32")
    for norm in ("l2", "linf"):
        delta = np.asarray(project_on_hyperplane(x, w, c, norm=norm))
        inside = (x + delta >= -1e-6).all(1) & (x + delta <= 1 + 1e-6).all(1)
        reached = np.isclose((w * delta).sum(1), c, atol=1e-4)
        assert inside.all() and reached.all()
        # No feasible point of the plane is closer: random feasible points on it are all farther.
        for _ in range(5):
            other = np.clip(delta + 0.05 * rng.normal(size=delta.shape), -x, 1 - x)
            on_plane = np.isclose((w * other).sum(1), c, atol=1e-4)
            size = np.abs(other).max(1) if norm == "linf" else np.linalg.norm(other, axis=1)
            best = np.abs(delta).max(1) if norm == "linf" else np.linalg.norm(delta, axis=1)
            assert (size[on_plane] >= best[on_plane] - 1e-5).all()


def test_projection_without_box_constraints_is_analytic():
    x = np.full((1, 4), 0.5, "float32")
    w = np.array([[1.0, -2.0, 0.0, 0.5]], "float32")
    c = np.array([0.1], "float32")
    l2 = np.asarray(project_on_hyperplane(x, w, c, norm="l2"))
    np.testing.assert_allclose(l2, 0.1 * w / (w**2).sum(), rtol=1e-5)
    linf = np.asarray(project_on_hyperplane(x, w, c, norm="linf"))
    np.testing.assert_allclose(linf, 0.1 * np.sign(w) / np.abs(w).sum(), rtol=1e-5)


def test_an_unreachable_plane_gives_the_closest_corner():
    x = np.array([[0.5, 0.5]], "float32")
    w = np.array([[1.0, 1.0]], "float32")
    delta = np.asarray(project_on_hyperplane(x, w, np.array([5.0], "float32"), norm="l2"))
    np.testing.assert_allclose(delta, [[0.5, 0.5]])


# Minimal perturbations of a linear classifier are analytic


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_finds_the_analytic_minimal_perturbation_of_a_linear_classifier(norm):
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    weights = rng.normal(size=(64, 2)).astype("float32")
    model.layers[-1].set_weights([weights, np.zeros(2, "float32")])
    x = rng.uniform(0.3, 0.7, (20, 8, 8, 1)).astype("float32")  # far from the box: the box stays inactive
    logits = x.reshape(20, -1) @ weights
    y = np.argmax(logits, 1)
    w = weights[:, 1] - weights[:, 0]
    gap = np.abs(logits[:, 1] - logits[:, 0])
    exact = gap / (np.linalg.norm(w) if norm == "l2" else np.abs(w).sum())  # distance to the plane
    assert exact.max() < (0.3 if norm == "linf" else 1.0)
    x_adv, norms = fab(model, x, y, norm=norm, eps=None, target=1 - y)
    assert (predict(model, x_adv) != y).all()
    np.testing.assert_allclose(sizes(x_adv, x, norm), norms, rtol=1e-5)
    assert (norms >= exact * (1 - 1e-4)).all() and (norms <= exact * 1.01).all(), norms / exact


# Against PGD on a small CNN


def pgd_minimal_norms(model, x, y, *, norm, high, rounds=7, steps=20):
    """Per-image smallest eps at which PGD-20 succeeds, by bisection (per-image eps in one batch)."""

    def attack(x, y, eps):
        rule = make_step_rule(norm, eps, 2.5 * eps / steps)
        return pgd_loop(model, x, y, rule, steps=steps, random_start=False)

    attack = B.compile_fn(attack)
    lo, hi = np.zeros(len(x), "float32"), np.full(len(x), high, "float32")
    for _ in range(rounds):
        mid = (lo + hi) / 2
        broken = predict(model, np.asarray(attack(x, y, mid.reshape(-1, 1, 1, 1)))) != y
        hi, lo = np.where(broken, mid, hi), np.where(broken, lo, mid)
    return hi


@pytest.mark.parametrize("norm,high", [("l2", 2.0), ("linf", 16 / 255)])
def test_fab_norms_are_no_larger_than_pgd_bisection(trained, norm, high):
    x, y = load_sample(20)
    correct = predict(trained, x) == y
    x, y = x[correct], y[correct]
    found = np.min([fab(trained, x, y, norm=norm, eps=None, target_rank=r)[1] for r in (1, 2, 3)], axis=0)
    bisection = pgd_minimal_norms(trained, x, y, norm=norm, high=high)
    assert np.isfinite(found).mean() >= 0.9
    reached = bisection < high  # PGD broke it within the search range
    assert reached.mean() >= 0.8
    ratio = found[reached] / bisection[reached]
    assert np.median(ratio) <= 1.0 and np.mean(ratio <= 1.05) >= 0.8, ratio


# The contract


@pytest.mark.parametrize("norm,eps", [("l2", 0.3), ("linf", 2 / 255)])
def test_results_within_eps_or_the_clean_image(trained, norm, eps):
    x, y = load_sample(24)
    x[:3] = np.round(x[:3])
    x_adv, norms = fab(trained, x, y, norm=norm, eps=eps, steps=30)
    assert x_adv.dtype == np.float32 and x_adv.min() >= 0 and x_adv.max() <= 1
    size = sizes(x_adv, x, norm)
    assert size.max() <= eps * (1 + 1e-5)
    within = norms <= eps
    assert (predict(trained, x_adv[within]) != y[within]).all()
    np.testing.assert_array_equal(x_adv[~within], x[~within])
    assert within.any() and (~within).any(), "the test should see both cases"


def test_misclassified_images_are_not_attacked(trained):
    x, y = load_sample(16)
    wrong = (y + 1) % 10
    x_adv, norms = fab(trained, x, wrong, norm="l2", eps=None, target=(wrong + 1) % 10, steps=5)
    skipped = predict(trained, x) != wrong
    assert np.isinf(norms[skipped]).all()
    np.testing.assert_array_equal(x_adv[skipped], x[skipped])


@pytest.mark.parametrize(
    "kwargs,name",
    [({"eps": -1.0}, "eps"), ({"norm": "l1"}, "norm"), ({"steps": 0}, "steps"), ({"restarts": 0}, "restarts"),
     ({"alpha_max": 2.0}, "alpha_max"), ({"eta": 0.5}, "eta"), ({"beta": 1.0}, "beta"), ({"target": 10}, "target"),
     ({"target_rank": 10}, "target_rank")],
)
def test_bad_arguments_name_themselves(kwargs, name):
    x, y = load_sample(4)
    with pytest.raises(ValueError, match=f"`{name}`"):
        fab(tiny_cnn(), x, y, **{"norm": "l2", "eps": None, "steps": 2, **kwargs})


def test_restarts_only_improve(trained):
    x, y = load_sample(16)
    _, one = fab(trained, x, y, norm="l2", eps=1.0, steps=20)
    _, three = fab(trained, x, y, norm="l2", eps=1.0, steps=20, restarts=3)
    assert (three <= one + 1e-6).all()


# Backends

_JAX_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import keras
    import numpy as np
    from robustkeras.attacks import fab
    from robustkeras.data import load_sample

    model = keras.saving.load_model(sys.argv[1])
    x, y = load_sample(24)
    out = {"backend": keras.backend.backend()}
    for norm in ("l2", "linf"):
        out[norm] = fab(model, x, y, norm=norm, eps=None, steps=30)[1].tolist()
    print(json.dumps(out))
    """
)


@requires_jax
def test_jax_backend_finds_the_same_norms(trained, tmp_path):
    path = str(tmp_path / "tiny.keras")
    trained.save(path)
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, "-c", _JAX_SCRIPT, path], env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["backend"] == "jax"
    x, y = load_sample(24)
    for norm in ("l2", "linf"):
        tf_norms = fab(trained, x, y, norm=norm, eps=None, steps=30)[1]
        jax_norms = np.array(result[norm], "float32")
        finite = np.isfinite(tf_norms)
        assert (np.isfinite(jax_norms) == finite).mean() >= 0.9
        both = finite & np.isfinite(jax_norms)
        assert np.median(np.abs(jax_norms[both] / tf_norms[both] - 1)) <= 0.02, (norm, jax_norms, tf_norms)
