"""Any Keras image classifier: other sizes, channels and class counts, softmax, nested and wrapped models,
both backends, and no memory kept for dropped models."""

import gc
import os
import subprocess
import sys
import weakref
from pathlib import Path

import keras
import numpy as np
import pytest

from robustkeras import attacks, evaluate, synthesis
from robustkeras.models import feature_model, logits_model, pixel_model

RUNNER = Path(__file__).with_name("_any_model_run.py")


def _run_backend(backend, *models):
    env = dict(os.environ, KERAS_BACKEND=backend, CUDA_VISIBLE_DEVICES="", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, str(RUNNER), *models], env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0 and "ALL OK" in out.stdout, out.stdout[-2000:] + out.stderr[-4000:]
    return out.stdout


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_every_function_on_a_100_class_48px_grayscale_model_and_a_sequential_cnn(backend):
    """Attacks, APGD, autoattack, robust accuracy, all six tasks and the metrics, in a subprocess."""
    stdout = _run_backend(backend, "gray100", "sequential")
    for task in ("generate", "inpaint", "super_resolve", "sketch_to_image", "translate", "manipulate", "autoattack"):
        assert f"ok gray100 {task}" in stdout and f"ok sequential {task}" in stdout


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_every_function_on_keras_mobilenetv2_expecting_minus1_1(backend):
    """`keras.applications.MobileNetV2` (inputs in [-1, 1]) through `pixel_model`."""
    stdout = _run_backend(backend, "mobilenet")
    assert "ok mobilenet translate" in stdout


def _cnn(inputs_shape=(16, 16, 3), classes=5, softmax=None):
    keras.utils.set_random_seed(3)
    inputs = keras.Input(inputs_shape)
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(6, 3, activation="relu")(inputs))
    if softmax == "dense":
        return keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(x))
    logits = keras.layers.Dense(classes)(x)
    if softmax == "layer":
        return keras.Model(inputs, keras.layers.Softmax()(logits))
    return keras.Model(inputs, logits)


@pytest.mark.parametrize("kind", ["layer", "dense"])
def test_softmax_models_give_the_logits_models_results(kind):
    logits_net = _cnn()
    soft = _cnn(softmax=kind)
    soft.set_weights(logits_net.get_weights())
    x = np.random.default_rng(0).random((3, 16, 16, 3)).astype("float32")
    y = np.array([0, 1, 2])
    np.testing.assert_allclose(np.asarray(logits_model(soft)(x)), np.asarray(logits_net(x)), rtol=1e-5, atol=1e-6)
    kw = dict(norm="l2", eps=0.5, step_size=0.2, steps=3, random_start=False)
    np.testing.assert_allclose(attacks.pgd(soft, x, y, **kw), attacks.pgd(logits_net, x, y, **kw), atol=1e-5)
    np.testing.assert_allclose(evaluate.predict_logits(soft, x), evaluate.predict_logits(logits_net, x), atol=1e-5)
    sq = dict(norm="linf", eps=0.1, queries=20)
    np.testing.assert_allclose(attacks.square(soft, x, y, **sq), attacks.square(logits_net, x, y, **sq), atol=1e-5)
    fab_soft, norms_soft = attacks.fab(soft, x, y, norm="l2", eps=None, steps=3)
    fab_logits, norms_logits = attacks.fab(logits_net, x, y, norm="l2", eps=None, steps=3)
    np.testing.assert_allclose(fab_soft, fab_logits, atol=1e-4)
    np.testing.assert_allclose(norms_soft, norms_logits, rtol=1e-3, atol=1e-5)
    painter = synthesis.FeaturePainter(soft, x[0])
    assert painter.top_units(class_id=2) == synthesis.FeaturePainter(logits_net, x[0]).top_units(class_id=2)


def test_nested_models_run_every_task():
    base = _cnn()
    inputs = keras.Input((16, 16, 3))
    nested = keras.Model(inputs, base(inputs))
    x = np.random.default_rng(0).random((2, 16, 16, 3)).astype("float32")
    y = np.array([1, 2])
    logits, features = feature_model(nested)(x)
    assert logits.shape == (2, 5) and features.shape == (2, 6)
    stats = synthesis.compute_class_stats(np.random.default_rng(1).random((20, 16, 16, 3)).astype("float32"),
                                          np.arange(20) % 5, rank=2, components=2)
    assert synthesis.generate(nested, y, steps=2, stats=stats).images.shape == x.shape
    mask = synthesis.make_mask("center", x)
    assert synthesis.inpaint(nested, x, y, mask, steps=1).images.shape == x.shape
    assert synthesis.super_resolve(nested, synthesis.downsample(x, 2), y, steps=1).images.shape == x.shape
    assert synthesis.sketch_to_image(nested, synthesis.make_sketch(x), y, steps=1).images.shape == x.shape
    assert synthesis.translate(nested, x, y, steps=1).images.shape == x.shape
    assert synthesis.manipulate(nested, x, 1, mask, steps=1).images.shape == x.shape
    synthesis.FeaturePainter(nested, x[0]).top_units(class_id=1)


def test_inputs_that_do_not_fit_the_model_name_the_argument():
    model = _cnn((32, 32, 3), classes=10)
    x = np.random.default_rng(0).random((2, 32, 32, 3)).astype("float32")
    y = np.array([0, 1])
    with pytest.raises(ValueError, match=r"`x`.*\(N, 32, 32, 3\)"):
        attacks.pgd(model, x[..., :1], y, norm="l2", eps=0.5, step_size=0.1, steps=1)
    with pytest.raises(ValueError, match="`x`"):
        evaluate.clean_accuracy(model, np.zeros((2, 64, 64, 3), "float32"), y)
    with pytest.raises(ValueError, match=r"`x`.*\(N, 32, 32, 3\)"):
        attacks.fab(model, np.zeros((2, 64, 64, 3), "float32"), y, norm="l2", eps=None, steps=1)
    with pytest.raises(ValueError, match=r"`x`.*\(N, 32, 32, 3\)"):
        attacks.square(model, x[..., :1], y, norm="linf", eps=0.1, queries=2)
    with pytest.raises(ValueError, match="`y`"):
        evaluate.clean_accuracy(model, x, np.array([0, 10]))
    with pytest.raises(ValueError, match="`factor`"):
        synthesis.super_resolve(model, synthesis.downsample(x, 4), y, factor=3)
    with pytest.raises(ValueError, match="`factor`"):
        synthesis.super_resolve(model, x[:, :8, :8], y, factor=5)
    with pytest.raises(ValueError, match="`num_classes`"):
        attacks.apgd(_cnn((32, 32, 3), classes=5), x, y, norm="l2", eps=0.5, steps=2, num_classes=10)
    with pytest.raises(ValueError, match=r"`stats`.*no statistics at 48x48 px \(`stats` left out: the shipped "
                       r"CIFAR-10 statistics, 10 classes of RGB images at 8, 16 and 32 px\)"):
        synthesis.generate(_cnn((48, 48, 3), classes=10), y, steps=1)  # the shipped stats are 8, 16, 32 px


def test_a_model_expecting_0_255_is_refused_and_pixel_model_fixes_it():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.GlobalAveragePooling2D()(x)))
    images = np.random.default_rng(0).random((2, 16, 16, 3)).astype("float32")
    with pytest.raises(ValueError, match=r"pixel_model\(model, input_range=\(0, 255\)\)"):
        attacks.pgd(model, images, [0, 1], norm="l2", eps=0.5, step_size=0.1, steps=1)
    with pytest.raises(ValueError, match=r"pixel_model\(model, input_range=\(0, 255\)\)"):
        attacks.square(model, images, [0, 1], norm="linf", eps=0.1, queries=2)
    with pytest.raises(ValueError, match=r"pixel_model\(model, input_range=\(0, 255\)\)"):
        attacks.fab(model, images, [0, 1], norm="l2", eps=None, steps=1)
    wrapped = pixel_model(model, (0, 255))
    np.testing.assert_allclose(np.asarray(wrapped(images)), np.asarray(model(images * 255)), rtol=1e-5, atol=1e-5)
    attacks.pgd(wrapped, images, [0, 1], norm="l2", eps=0.5, step_size=0.1, steps=1)


def test_attacking_and_dropping_20_models_frees_them():
    """The compile cache is weak in the model and its functions hold the model weakly."""
    x = np.random.default_rng(0).random((2, 16, 16, 3)).astype("float32")
    y = np.array([0, 1])
    refs = []
    for _ in range(20):
        model = _cnn()
        attacks.pgd(model, x, y, norm="l2", eps=0.5, step_size=0.2, steps=2)
        attacks.apgd(model, x, y, norm="l2", eps=0.5, steps=2)
        synthesis.translate(model, x, y, steps=1)
        refs.append(weakref.ref(model))
        del model
    gc.collect()
    alive = sum(ref() is not None for ref in refs)
    assert alive == 0, f"{alive} of 20 attacked models are still alive"


def test_empty_mask_and_region_leave_the_images_unchanged():
    model = _cnn()
    x = np.random.default_rng(0).random((2, 16, 16, 3)).astype("float32")
    empty = np.zeros((16, 16, 1), "float32")
    np.testing.assert_array_equal(synthesis.inpaint(model, x, [0, 1], empty, steps=2).images, x)
    np.testing.assert_array_equal(synthesis.manipulate(model, x, 0, empty, steps=2).images, x)


def test_inpainting_leaves_the_pixels_outside_the_mask_exactly_unchanged():
    model = _cnn()  # untrained: large gradients reach the unmasked pixels during the optimization
    x = np.random.default_rng(0).random((2, 16, 16, 3)).astype("float32")
    mask = synthesis.make_mask("center", x)
    filled = synthesis.inpaint(model, x, [0, 1], mask, steps=5, weight=0.0).images
    outside = np.broadcast_to(mask, x.shape) == 0
    np.testing.assert_array_equal(filled[outside], x[outside])
    assert np.abs(filled - x)[~outside].max() > 0.01, "the hole must be filled"


def test_torch_backend_is_refused_at_import():
    env = dict(os.environ, KERAS_BACKEND="torch")
    out = subprocess.run([sys.executable, "-c", "import robustkeras.attacks"], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode != 0
    assert "TensorFlow and JAX backends" in out.stderr


def _head(inputs, h, classes=5, softmax=None):
    h = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(h))
    if softmax == "tf.nn":
        import tensorflow as tf

        return keras.Model(inputs, keras.layers.Dense(classes, activation=tf.nn.softmax)(h))
    logits = keras.layers.Dense(classes)(h)
    if softmax == "ops":
        return keras.Model(inputs, keras.ops.softmax(logits))
    if softmax == "lambda":
        return keras.Model(inputs, keras.layers.Lambda(lambda t: keras.ops.softmax(t))(logits))
    return keras.Model(inputs, logits)


def _nested_0_255():
    base = _head(i := keras.Input((16, 16, 3)), keras.layers.Rescaling(1 / 255)(i))
    inputs = keras.Input((16, 16, 3))
    return keras.Model(inputs, base(inputs))


def _rescaled(*layers):
    inputs = keras.Input((16, 16, 3))
    h = inputs
    for layer in layers:
        h = layer(h)
    return _head(inputs, h)


def _two_inputs():
    a, b = keras.Input((16, 16, 3)), keras.Input((16, 16, 3))
    h = keras.layers.GlobalAveragePooling2D()(keras.layers.Add()([a, b]))
    return keras.Model([a, b], keras.layers.Dense(5)(h))


# (model builder, regex the refusal must match)
REFUSED_MODELS = [
    (_nested_0_255, r"pixel_model\(model, input_range=\(0, 255\)\)"),
    (lambda: _rescaled(keras.layers.Rescaling(1 / 127.5, offset=-1)), r"expects \[0, 255\]"),
    (lambda: _rescaled(keras.layers.Resizing(16, 16), keras.layers.Rescaling(1 / 255)), r"expects \[0, 255\]"),
    (_two_inputs, r"`model` to take one input.*2 inputs"),
    (lambda: _head(i := keras.Input((16, 16, 3)), i, classes=1), r"`model` to return one logit per class, at least 2"),
    (lambda: _head(i := keras.Input((16, 16, 3)), i, softmax="lambda"), r"`model` to return logits.*sum to 1"),
]


@pytest.mark.parametrize("build,needle", REFUSED_MODELS, ids=["nested255", "rescale127", "resize-rescale",
                                                               "two-inputs", "one-logit", "lambda-softmax"])
def test_models_the_library_cannot_attack_are_refused_up_front(build, needle):
    model = build()
    x = np.random.default_rng(0).random((2, 16, 16, 3)).astype("float32")
    y = np.array([0, 0])
    calls = [lambda: attacks.pgd(model, x, y, norm="l2", eps=0.5, step_size=0.1, steps=1),
             lambda: attacks.square(model, x, y, norm="linf", eps=0.1, queries=2),
             lambda: evaluate.clean_accuracy(model, x, y),
             lambda: synthesis.translate(model, x, y, steps=1)]
    if "logits" in needle:  # translate needs the features first: "Expected `model` to end in a dense layer"
        calls.pop()
    for call in calls:
        with pytest.raises(ValueError, match=needle):
            call()


@pytest.mark.parametrize("kind", ["tf.nn", "ops"])
def test_other_softmax_forms_are_attacked_on_their_logits(kind):
    if kind == "tf.nn" and keras.backend.backend() != "tensorflow":
        pytest.skip("tf.nn.softmax needs TensorFlow")
    keras.utils.set_random_seed(1)
    soft = _head(i := keras.Input((16, 16, 3)), i, softmax=kind)
    keras.utils.set_random_seed(1)
    net = _head(i := keras.Input((16, 16, 3)), i)
    net.set_weights(soft.get_weights())
    x = np.random.default_rng(0).random((3, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(logits_model(soft)(x)), np.asarray(net(x)), rtol=1e-5, atol=1e-5)
    kw = dict(norm="l2", eps=0.5, step_size=0.2, steps=2, random_start=False)
    np.testing.assert_allclose(attacks.pgd(soft, x, [0, 1, 2], **kw), attacks.pgd(net, x, [0, 1, 2], **kw), atol=1e-5)
