"""Third-party models give right answers or clear refusals, on TensorFlow and JAX (issue 30, items 1-2, 4-5).

The backend checks live in `_third_party_run.py`: called in-process under
TensorFlow, and run once in a subprocess under JAX (as in test_any_model.py).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops

import _third_party_run as checks
from robustkeras import attacks, synthesis
from robustkeras import backend as B
from robustkeras.models import introspect, pixel_model

RUNNER = Path(__file__).with_name("_third_party_run.py")
JAX_IMAGES = 32  # JAX's CPU convolutions are slow: 32 images there, 128 under TensorFlow


@pytest.fixture(scope="module")
def jax_results():
    pytest.importorskip("jax", reason="JAX not installed (pip install -e '.[jax]')")
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="",
               ROBUSTKERAS_TEST_INTEGER=f"{JAX_IMAGES} rescaling")
    out = subprocess.run([sys.executable, str(RUNNER)], env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    results = json.loads(out.stdout.strip().splitlines()[-1])
    assert results.pop("backend") == "jax"
    return results


_TF = {}


def _results(backend, name, request):
    if backend == "jax":
        return request.getfixturevalue("jax_results")[name]
    if name not in _TF:
        _TF[name] = checks.CHECKS[name]()
    return _TF[name]


BACKENDS = pytest.mark.parametrize("backend", ["tensorflow", "jax"])


@BACKENDS
def test_trainer_gives_a_softmax_model_the_losses_of_its_logits_twin(backend, request):
    """Same weights, data and seed: adversarial training losses equal (measured: identical to the last
    digit on both backends; tolerance 1e-5 relative), and they fall."""
    losses = _results(backend, "trainer_losses", request)
    np.testing.assert_allclose(losses["softmax"], losses["logits"], rtol=1e-5)
    assert losses["logits"][-1] < losses["logits"][0]


@BACKENDS
def test_trainer_refuses_what_the_attacks_refuse_with_their_messages(backend, request):
    messages = _results(backend, "trainer_refusals", request)
    for model in ("probabilities", "two_outputs"):
        assert messages[f"{model} trainer"] == messages[f"{model} pgd"] != "accepted"
    assert "return logits" in messages["probabilities trainer"]
    assert "one output" in messages["two_outputs trainer"]


@BACKENDS
def test_uint8_models_through_pixel_model_match_their_float_twin(backend, request):
    """PGD-10, L2 eps 0.5 (128 images on TF, 32 on JAX): robust accuracy within 3 points of the float
    twin's, and `translate` moves the images as far within a factor of 2; unwrapped, the model is refused."""
    results = _results(backend, "integer_inputs", request)
    twin = results.pop("twin")
    assert "pixel_model(model, input_range=(0, 255))" in results.pop("unwrapped")
    assert twin["moved"] > 0.5 and twin["clean"] > twin["robust"]
    points = max(0.03, 1 / JAX_IMAGES + 1e-6) if backend == "jax" else 0.03  # 32 images: one image is 3.1 points
    for name, r in results.items():
        assert r["clean"] == pytest.approx(twin["clean"], abs=points), name
        assert r["robust"] == pytest.approx(twin["robust"], abs=points), name
        assert 0.5 < r["moved"] / twin["moved"] < 2, name


@BACKENDS
def test_a_model_without_input_gradient_is_refused_naming_the_cause_and_the_way_out(backend, request):
    """A Lambda rounding pixels: None gradients on TF, zeros on JAX; Square still runs."""
    results = _results(backend, "no_gradient", request)
    assert results.pop("square") is True
    cause = "is None" if backend == "tensorflow" else "is zero for every image"
    for name, message in results.items():
        assert "input gradients" in message and cause in message, (name, message)
        assert "attacks.square" in message and "stop_gradient" in message, (name, message)
    assert results["trainer"].startswith("Expected `classifier`")


def test_pixel_model_of_a_uint8_model_gives_its_outputs_on_integer_images():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3), dtype="uint8")
    h = keras.layers.Rescaling(1 / 255)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(h)))
    sequential = keras.Sequential([keras.Input((8, 8, 3), dtype="uint8"),
                                   keras.layers.Lambda(lambda t: ops.cast(t, "float32") / 255),  # no Rescaling
                                   keras.layers.Flatten(), keras.layers.Dense(3)])
    x = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3)).astype("float32") / 255
    for net in (model, sequential):
        assert introspect.takes_integers(net)
        wrapped = pixel_model(net, (0, 255))
        assert not introspect.takes_integers(wrapped) and len(wrapped.weights) == len(net.weights)
        expected = np.asarray(net(np.round(x * 255).astype("uint8")))
        np.testing.assert_allclose(np.asarray(wrapped(x)), expected, atol=1e-5)
        x_adv = attacks.pgd(wrapped, x, [0, 1, 2, 0], norm="l2", eps=1.0, step_size=0.5, steps=2,
                            random_start=False)
        assert np.linalg.norm(x_adv - x) > 0.1  # the gradient reaches the pixels


def test_straight_through_round_rounds_forwards_and_passes_the_gradient():
    layer = introspect.StraightThroughRound()
    x = ops.convert_to_tensor(np.array([[0.4, 1.6, 2.5]], np.float32))
    np.testing.assert_array_equal(np.asarray(layer(x)), np.round(np.array([[0.4, 1.6, 2.5]])))
    _, grad = B.value_and_input_grad(lambda t: ops.sum(layer(t) * 3.0, axis=-1), x)
    np.testing.assert_allclose(np.asarray(grad), 3.0)


class _Rounding(keras.Model):
    """Subclassed (no known input shape) and without input gradient: checked on the first images."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(3)

    def call(self, x):
        return self.dense(ops.mean(ops.round(x * 4), axis=(1, 2)))


@BACKENDS
def test_a_gradient_zero_on_noise_or_on_some_images_is_not_refused(backend, request):
    """The zero-gradient refusal is decided on the user's images, and on more than the first two."""
    results = _results(backend, "gradient_zero_on_noise", request)
    assert results["robust_accuracy"] == "accepted", results
    assert isinstance(results["pgd"], float) and results["pgd"] > 0.01, results


@BACKENDS
def test_generate_refuses_a_model_without_input_gradient(backend, request):
    """Zero gradients on random images are decided on generate's sampled starts (no user images there)."""
    message = _results(backend, "generate_no_gradient", request)
    assert "input gradients" in message and "attacks.square" in message, message


def test_the_gradient_of_a_subclassed_model_is_checked_on_the_images():
    x = np.random.default_rng(0).random((2, 8, 8, 3)).astype("float32")
    with pytest.raises(ValueError, match=r"`model` to have input gradients.*attacks\.square"):
        attacks.pgd(_Rounding(), x, [0, 1], norm="linf", eps=0.1, step_size=0.05, steps=1)
    assert B.check_input_gradient(_Rounding()) is False  # no shape, no images: left to the first images


def test_class_stats_from_uneven_classes_then_generate_for_a_small_class():
    """5 images in some classes, 40 in others, `rank` 24 between them: one array, and seeds of a small class."""
    rng = np.random.default_rng(0)
    counts = [5, 40, 5, 40]
    labels = np.repeat(np.arange(4), counts)
    images = rng.random((len(labels), 8, 8, 3)).astype("float32")
    stats = synthesis.compute_class_stats(images, labels, rank=24, components=2)
    assert stats["basis_8"].shape == (4, 24, 192)
    assert not np.any(stats["basis_8"][0, 5:])  # a class of 5 images has at most 4 directions
    assert np.count_nonzero(np.abs(stats["basis_8"][1]).sum(-1)) == 24
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(4)])
    result = synthesis.generate(model, np.array([0, 2]), steps=2, stats=stats)
    assert result.images.shape == (2, 8, 8, 3) and np.all(np.isfinite(result.images))


@pytest.mark.parametrize("config,env_backend,refused", [
    ({"backend": "torch"}, None, True),
    ({"backend": "torch"}, "jax", False),
    ({"backend": "tensorflow"}, "torch", True),
])
def test_the_backend_refusal_reads_keras_json_too(tmp_path, config, env_backend, refused):
    (tmp_path / "keras.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env.update(KERAS_HOME=str(tmp_path))
    if env_backend is not None:
        env["KERAS_BACKEND"] = env_backend
    out = subprocess.run([sys.executable, "-c", "import robustkeras"], env=env, capture_output=True, text=True,
                         timeout=120)
    if refused:
        assert out.returncode != 0 and "runs on the TensorFlow and JAX backends" in out.stderr
        assert "'torch'" in out.stderr
        assert ("keras.json" in out.stderr) == (env_backend is None)
    else:
        assert out.returncode == 0, out.stderr[-2000:]


def test_trainer_checks_a_dataset_without_reading_it():
    """A tf.data.Dataset: the probability check runs on random images of its element shape."""
    import tensorflow as tf

    from robustkeras.training import AdversarialTrainer

    x = np.random.default_rng(0).random((4, 16, 16, 3)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, np.array([0, 1, 2, 3]))).batch(2)
    trainer = AdversarialTrainer(checks._Probabilities(), norm="l2", eps=0.5, steps=1)
    trainer.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="Expected `model` to return logits"):
        trainer.fit(ds, epochs=1, verbose=0)


def test_labels_of_shape_n_by_1_as_keras_datasets_gives_them_are_class_ids():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(inputs)))
    x = np.random.default_rng(0).random((3, 4, 4, 3)).astype("float32")
    y = np.array([0, 1, 2])
    kw = dict(norm="l2", eps=0.5, step_size=0.2, steps=2)
    np.testing.assert_array_equal(attacks.pgd(model, x, y[:, None], **kw), attacks.pgd(model, x, y, **kw))


def test_a_nested_model_ending_in_a_softmax_activation_without_dense_head_gives_its_logits():
    """MobileNetV3's head (1x1 convolution, Flatten, softmax Activation) inside pixel_model's wrapper."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 4, 3))
    h = keras.layers.Conv2D(3, 1)(keras.layers.GlobalAveragePooling2D(keepdims=True)(inputs))
    base = keras.Model(inputs, keras.layers.Activation("softmax")(keras.layers.Flatten()(h)))
    outer_in = keras.Input((4, 4, 3))
    wrapped = keras.Model(outer_in, base(outer_in))
    x = np.random.default_rng(0).random((2, 4, 4, 3)).astype("float32")
    logits = np.asarray(introspect.logits_model(wrapped)(x))
    np.testing.assert_allclose(np.asarray(ops.softmax(logits)), np.asarray(base(x)), atol=1e-6)
    assert not np.allclose(logits.sum(-1), 1.0)
    adv = attacks.pgd(wrapped, x, [0, 1], norm="l2", eps=0.5, step_size=0.2, steps=1)
    assert np.abs(adv - x).max() > 0.01
