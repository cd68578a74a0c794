"""PGD / FGSM properties: the threat ball, the box, success against noise, targeted, gradients."""

import keras
import numpy as np
import pytest

from conftest import l2_dist, linf_dist
from robustkeras import backend as B
from robustkeras.attacks import L2Step, LinfStep, cross_entropy, fgsm, pgd
from robustkeras.evaluate import predict_logits, robust_accuracy


@pytest.mark.parametrize("norm,eps,dist", [("l2", 0.5, l2_dist), ("linf", 8 / 255, linf_dist)])
def test_pgd_stays_in_ball_and_box(tiny_model, sample, norm, eps, dist):
    x, y = sample[0][:16], sample[1][:16]
    x_adv = pgd(tiny_model, x, y, norm=norm, eps=eps, step_size=eps / 2, steps=5, restarts=2)
    assert x_adv.shape == x.shape and x_adv.dtype == np.float32
    assert np.all(dist(x_adv, x) <= eps + 1e-5)
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert np.any(dist(x_adv, x) > eps / 2), "the attack should move the images"


def test_eps_zero_returns_input(tiny_model, sample):
    x, y = sample[0][:4], sample[1][:4]
    np.testing.assert_array_equal(pgd(tiny_model, x, y, norm="l2", eps=0.0, step_size=0.1, steps=3), x)


def test_pgd_is_reproducible_with_seed(tiny_model, sample):
    x, y = sample[0][:8], sample[1][:8]
    kw = dict(norm="l2", eps=0.5, step_size=0.2, steps=3, seed=7)
    np.testing.assert_array_equal(pgd(tiny_model, x, y, **kw), pgd(tiny_model, x, y, **kw))
    assert not np.array_equal(pgd(tiny_model, x, y, **kw), pgd(tiny_model, x, y, **{**kw, "seed": 8}))


def test_fgsm_linf_is_a_full_sign_step(tiny_model, sample):
    x, y = sample[0][:8], sample[1][:8]
    x_adv = fgsm(tiny_model, x, y, norm="linf", eps=4 / 255)
    moved = np.abs(x_adv - x)
    # Every pixel moves by eps unless the [0, 1] box clips it.
    interior = (x > 4 / 255) & (x < 1 - 4 / 255)
    np.testing.assert_allclose(moved[interior], 4 / 255, atol=1e-6)


def test_step_rules_project_onto_their_balls():
    rng = np.random.default_rng(0)
    x0 = rng.uniform(0.3, 0.7, (4, 8, 8, 3)).astype("float32")
    far = x0 + rng.normal(0, 1, x0.shape).astype("float32")
    l2 = np.asarray(L2Step(0.5, 0.1).project(far, x0))
    assert np.all(l2_dist(l2, x0) <= 0.5 + 1e-5)
    linf = np.asarray(LinfStep(0.1, 0.01).project(far, x0))
    assert np.all(linf_dist(linf, x0) <= 0.1 + 1e-6)
    start = np.asarray(L2Step(0.5, 0.1).random_start(x0, np.array([0, 1], "int32")))
    assert np.all(l2_dist(start, x0) <= 0.5 + 1e-5) and np.all(l2_dist(start, x0) > 0.3)


def test_input_gradient_matches_finite_differences():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(16, activation="tanh"), keras.layers.Dense(5)])
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (3, 4, 4, 3)).astype("float64")
    y = np.array([0, 2, 4])

    def objective(t):
        return cross_entropy(model(t), y)

    _, grad = B.value_and_input_grad(objective, keras.ops.convert_to_tensor(x, "float32"))
    grad = np.asarray(grad, np.float64)
    v = rng.normal(size=x.shape)
    h = 1e-2
    plus = np.asarray(objective(keras.ops.convert_to_tensor(x + h * v, "float32")), np.float64).sum()
    minus = np.asarray(objective(keras.ops.convert_to_tensor(x - h * v, "float32")), np.float64).sum()
    numeric, analytic = (plus - minus) / (2 * h), np.sum(grad * v)
    rel = abs(numeric - analytic) / max(abs(numeric) + abs(analytic), 1e-8)
    assert rel < 1e-2, (numeric, analytic)


def test_pgd_beats_random_noise_of_the_same_norm(robust_model, sample):
    x, y = sample
    eps = 1.0
    result = robust_accuracy(robust_model, x, y, norm="l2", eps=eps, steps=10)
    noise = np.random.default_rng(0).normal(size=x.shape).astype("float32")
    noisy = np.clip(x + eps * noise / np.linalg.norm(noise.reshape(len(x), -1), axis=1)[:, None, None, None], 0, 1)
    noisy_acc = float(np.mean(np.argmax(predict_logits(robust_model, noisy), 1) == y))
    assert result["clean"] - result["robust"] > 3 * max(result["clean"] - noisy_acc, 0.01)
    assert result["robust"] < noisy_acc - 0.1


def test_targeted_pgd_raises_the_target_class(robust_model, sample):
    x, y = sample[0][:32], sample[1][:32]
    target = (y + 1) % 10
    x_adv = pgd(robust_model, x, y, norm="l2", eps=2.0, step_size=0.25, steps=10, target=target)
    before = keras.ops.softmax(predict_logits(robust_model, x))
    after = keras.ops.softmax(predict_logits(robust_model, x_adv))
    idx = np.arange(len(x))
    assert np.mean(np.asarray(after)[idx, target]) > np.mean(np.asarray(before)[idx, target]) + 0.2


def test_keep_best_is_never_worse_than_the_last_iterate(robust_model, sample):
    x, y = sample[0][:32], sample[1][:32]
    kw = dict(norm="l2", eps=1.0, step_size=0.6, steps=6, random_start=False)
    x_adv = pgd(robust_model, x, y, **kw)
    loss = np.asarray(cross_entropy(predict_logits(robust_model, x_adv), y))
    from robustkeras.attacks.pgd import pgd_loop

    last = np.asarray(pgd_loop(lambda t: robust_model(t, training=False), keras.ops.convert_to_tensor(x), y, L2Step(1.0, 0.6),
                               steps=6, random_start=False))
    last_loss = np.asarray(cross_entropy(predict_logits(robust_model, last), y))
    assert np.all(loss >= last_loss - 1e-4)


@pytest.mark.parametrize("kwargs,name", [
    (dict(norm="l3"), "norm"), (dict(eps=-0.1), "eps"), (dict(step_size=-1.0), "step_size"),
    (dict(steps=-1), "steps"), (dict(restarts=0), "restarts"), (dict(loss="hinge"), "loss"),
])
def test_bad_attack_arguments_name_the_argument(tiny_model, sample, kwargs, name):
    x, y = sample[0][:2], sample[1][:2]
    args = dict(norm="l2", eps=0.5, step_size=0.1, steps=2, **{})
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"`{name}`"):
        pgd(tiny_model, x, y, **args)


@pytest.mark.parametrize("x,y,name", [
    (np.full((2, 32, 32, 3), 2.0, "float32"), [0, 1], "x"),
    (np.zeros((2, 32, 32, 3), "uint8"), [0, 1], "x"),
    (np.zeros((32, 32, 3), "float32"), [0], "x"),
    (np.zeros((2, 32, 32, 3), "float32"), [0, 10], "y"),
    (np.zeros((2, 32, 32, 3), "float32"), [0], "y"),
])
def test_bad_images_and_labels_name_the_argument(tiny_model, x, y, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        pgd(tiny_model, x, np.array(y), norm="l2", eps=0.5, step_size=0.1, steps=1)


def test_y_is_always_the_true_label_and_target_makes_it_targeted(tiny_model, sample):
    x, y = sample[0][:4], sample[1][:4]
    target = (y + 1) % 10
    kw = dict(norm="l2", eps=1.0, step_size=0.5, steps=3, random_start=False)
    new = pgd(tiny_model, x, y, target=target, **kw)
    untargeted = pgd(tiny_model, x, y, **kw)
    assert not np.array_equal(new, untargeted)
    with pytest.raises(TypeError, match="targeted"):  # the pre-1.0 `targeted=True` form is gone
        pgd(tiny_model, x, target, targeted=True, **kw)
    t = min(set(range(10)) - set(y.tolist()))
    one = pgd(tiny_model, x, y, target=t, **kw)  # one class id for every image
    np.testing.assert_array_equal(one, pgd(tiny_model, x, y, target=np.full(4, t), **kw))
    from robustkeras.attacks import fgsm

    towards = fgsm(tiny_model, x, y, norm="linf", eps=0.03, target=target)
    assert not np.array_equal(towards, fgsm(tiny_model, x, y, norm="linf", eps=0.03))


def test_batch_size_never_changes_the_images(sample):
    """Chunks draw nothing of their own: the starts are drawn for all images first (issue 30).

    Equal up to float rounding: the CPU kernels sum in another order for another batch size
    (measured: at most 1.2e-7 apart on this tiny model, TensorFlow).
    """
    from robustkeras import evaluate
    from robustkeras.attacks import apgd, fab

    keras.utils.set_random_seed(0)
    tiny_model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                                   keras.layers.Flatten(), keras.layers.Dense(10)])
    x = sample[0][:6]
    y = np.argmax(predict_logits(tiny_model, x), 1)  # all classified right: FAB attacks every image
    calls = {
        "pgd": (pgd, dict(norm="l2", eps=0.5, step_size=0.2, steps=3, restarts=2, seed=5)),
        "fgsm": (fgsm, dict(norm="linf", eps=0.03, step_size=0.04, random_start=True, seed=5)),
        "apgd": (apgd, dict(norm="linf", eps=0.03, steps=4, seed=5)),
        "fab": (lambda *a, **k: fab(*a, **k)[0], dict(norm="l2", eps=None, steps=20, restarts=2, seed=5)),
    }
    for name, (attack, kw) in calls.items():
        whole = attack(tiny_model, x, y, **kw)
        assert not np.array_equal(whole, x), name
        np.testing.assert_allclose(attack(tiny_model, x, y, batch_size=3, **kw), whole, atol=1e-5, err_msg=name)
    kw = dict(norm="l2", eps=0.5, steps=3, restarts=2, batch_size=6, seed=2)
    whole = robust_accuracy(tiny_model, x, y, **kw)
    original = evaluate.CHUNK_IMAGE_STEPS
    try:
        evaluate.CHUNK_IMAGE_STEPS = 9  # three images per compiled call
        assert robust_accuracy(tiny_model, x, y, **kw) == whole
    finally:
        evaluate.CHUNK_IMAGE_STEPS = original
