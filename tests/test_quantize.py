"""`models.quantize(model, "int8", calibration=x)`: the int8 deployable, its twin, and their checks.

One conversion of the shipped robust model, calibrated on the bundled sample,
serves the module; the figures on the offline test set come from
benchmarks/quantize_int8.py.
"""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from robustkeras import attacks, evaluate, pretrained
from robustkeras import backend as B
from robustkeras.models import quantize
from robustkeras.models.quant_layers import FakeQuant

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def quantized(robust_model, sample):
    x, _ = sample
    return quantize(robust_model, "int8", calibration=x)


def test_int8_accuracy_within_two_points_of_float(quantized, robust_model, sample):
    x, y = sample
    float_acc = evaluate.clean_accuracy(robust_model, x, y)
    assert abs(evaluate.clean_accuracy(quantized.tflite, x, y) - float_acc) <= 0.02
    assert abs(evaluate.clean_accuracy(quantized.twin, x, y) - float_acc) <= 0.02


def test_twin_agrees_with_deployable(quantized, sample):
    x, _ = sample
    twin, deployed = evaluate.predict_logits(quantized.twin, x), quantized.tflite(x)
    assert np.mean(twin.argmax(1) == deployed.argmax(1)) >= 0.97
    step = quantized.twin.layers[-1].quantizer.scale  # the logits' int8 grid step
    assert np.abs(twin - deployed).max() <= 1.5 * step  # at most one rounding apart


def test_size_at_most_a_quarter_of_the_float_weights(quantized):
    float_file = pretrained.FOLDER / pretrained.manifest()["fastnet_l2_robust"]["file"]
    assert quantized.size <= float_file.stat().st_size / 4


def test_pgd_on_twin_has_gradients_and_transfers(quantized, sample):
    x, y = sample[0][:20], sample[1][:20]
    x_adv = attacks.pgd(quantized.twin, x, y, norm="l2", eps=0.5, step_size=0.2, steps=3)
    clean = evaluate.clean_accuracy(quantized.tflite, x, y)
    assert evaluate.clean_accuracy(quantized.twin, x_adv, y) <= clean - 0.1
    assert evaluate.clean_accuracy(quantized.tflite, x_adv, y) <= clean - 0.1  # the deployable falls too


def test_square_queries_the_deployable(quantized, sample):
    x, y = sample[0][:4], sample[1][:4]
    x_adv = attacks.square(quantized.tflite, x, y, norm="l2", eps=0.5, queries=5)
    assert x_adv.shape == x.shape and np.all(np.linalg.norm((x_adv - x).reshape(4, -1), axis=1) <= 0.5 + 1e-5)


def test_deployable_refuses_gradient_attacks(quantized, sample):
    with pytest.raises(ValueError, match="no gradients"):
        attacks.pgd(quantized.tflite, sample[0][:2], sample[1][:2], norm="l2", eps=0.5, step_size=0.1, steps=1)


def test_fake_quant_rounds_onto_the_grid_with_straight_through_gradient():
    layer = FakeQuant(0.1, -128, activation="relu")
    out = np.asarray(layer(np.array([[-1.0, 0.26, 99.0]], "float32")))
    np.testing.assert_allclose(out, [[0.0, 0.3, 25.5]], atol=1e-6)
    x = keras.ops.convert_to_tensor(np.array([[-1.0, 0.26, 99.0]], "float32"))
    _, grad = B.value_and_input_grad(lambda t: keras.ops.sum(layer(t), axis=1), x)
    np.testing.assert_array_equal(np.asarray(grad), [[0.0, 1.0, 0.0]])  # through the rounding, not the clips


@pytest.mark.parametrize("kwargs, name", [
    (dict(mode="int4"), "mode"),
    (dict(calibration=np.zeros((4, 16, 16, 3), "float32")), "calibration"),
    (dict(calibration=np.full((4, 32, 32, 3), 255.0, "float32")), "calibration"),
    (dict(calibration=np.zeros((4, 32, 32, 3), "uint8")), "calibration"),
    (dict(batch_size=0), "batch_size"),
])
def test_bad_arguments_name_themselves(robust_model, sample, kwargs, name):
    args = {"mode": "int8", "calibration": sample[0][:4], **kwargs}
    with pytest.raises(ValueError, match=f"`{name}`"):
        quantize(robust_model, args.pop("mode"), **args)


def test_model_without_fixed_input_is_refused(sample):
    inputs = keras.Input((None, None, 3))
    free = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(inputs)))
    with pytest.raises(ValueError, match="`model`"):
        quantize(free, "int8", calibration=sample[0][:4])
    with pytest.raises(ValueError, match="`model`"):
        quantize(lambda t: t, "int8", calibration=sample[0][:4])


def _tiny_flatten_cnn(seed=0):
    """A small teaching-style CNN: conv, max-pool, Flatten, dense, softmax (12x12 RGB, 3 classes)."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((12, 12, 3)), keras.layers.Conv2D(6, 3, strides=2, padding="same"),
                             keras.layers.ReLU(max_value=6.0), keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                             keras.layers.Dense(3, activation="softmax")])


def test_flatten_and_softmax_models_get_an_agreeing_twin():
    """Flatten traced with a free batch size becomes int32 shape ops; the softmax is removed before converting."""
    model = _tiny_flatten_cnn()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (64, 12, 12, 3)).astype("float32")
    q = quantize(model, "int8", calibration=x[:32])
    twin, deployed = evaluate.predict_logits(q.twin, x[32:]), q.tflite(x[32:])
    step = q.twin.layers[-1].quantizer.scale
    assert np.abs(twin - deployed).max() <= 1.5 * step
    float_logits = evaluate.predict_logits(model, x[32:])  # the recovered logits, not probabilities
    assert np.corrcoef(deployed.ravel(), float_logits.ravel())[0, 1] > 0.98  # probabilities would not match


def test_input_grid_spans_zero_to_one_whatever_the_calibration(robust_model, sample):
    """Dim calibration images must not narrow the input grid (brighter pixels would be clipped silently)."""
    x, y = sample
    q = quantize(robust_model, "int8", calibration=x[:100] * 0.5)
    scale, zero = q.twin.layers[1].scale, q.twin.layers[1].zero_point  # the twin's input grid
    assert abs((127 - zero) * scale - 1.0) < 1e-3 and abs((-128 - zero) * scale) < 1e-3
    assert evaluate.clean_accuracy(q.tflite, x, y) >= evaluate.clean_accuracy(robust_model, x, y) - 0.05


def test_deployable_keeps_its_signature(quantized, sample):
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_content=quantized.flatbuffer)
    assert list(interpreter.get_signature_list()) == ["serving_default"]


def test_not_a_flatbuffer_is_refused():
    from robustkeras.models import int8_twin

    with pytest.raises(ValueError, match="`flatbuffer`"):
        int8_twin(b"certainly not a model")


def test_synthesis_and_eager_gradients_refuse_the_deployable(quantized, sample):
    import tensorflow as tf

    from robustkeras import synthesis

    with pytest.raises(ValueError, match="differentiable"):
        synthesis.generate(quantized.tflite, [0, 1], steps=1)
    x = tf.constant(sample[0][:2])
    with pytest.raises(ValueError, match="no gradients"):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = tf.reduce_sum(quantized.tflite(x))
        tape.gradient(out, x)


def test_conversion_under_jax_with_a_softmax_model(tmp_path):
    """Under JAX the model is saved and converted in a TensorFlow subprocess; the twin then runs on JAX."""
    script = textwrap.dedent("""
        import sys
        sys.path.insert(0, "tests")
        import numpy as np
        from robustkeras import attacks, evaluate
        from robustkeras.models import quantize
        from test_quantize import _tiny_flatten_cnn
        x = np.random.default_rng(0).uniform(0, 1, (40, 12, 12, 3)).astype("float32")
        y = np.arange(40) % 3
        q = quantize(_tiny_flatten_cnn(), "int8", calibration=x[:20])
        twin, deployed = evaluate.predict_logits(q.twin, x), q.tflite(x)
        assert np.abs(twin - deployed).max() <= 1.5 * q.twin.layers[-1].quantizer.scale, np.abs(twin - deployed).max()
        x_adv = attacks.pgd(q.twin, x, y, norm="linf", eps=0.1, step_size=0.05, steps=3)
        assert np.abs(x_adv - x).max() <= 0.1 + 1e-6
        attacks.square(q.tflite, x[:4], y[:4], norm="l2", eps=0.5, queries=5)  # jax.pure_callback path
        print("JAX OK")
    """)
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert "JAX OK" in done.stdout, done.stderr[-3000:]


def test_tour_offers_the_int8_twins():
    from robustkeras.tour import run_tour

    with pytest.raises(ValueError, match="fastnet_l2_robust_int8"):
        run_tour(model_name="no_such_model")


@pytest.mark.slow  # minutes on a shared 2-core CPU: conversion, four models, the inpainting task
def test_tour_runs_on_the_int8_twin(tmp_path):
    from robustkeras.tour import run_tour

    result = run_tour(tmp_path, model_name="fastnet_l2_robust_int8", quick=True, tasks=["inpainting"])
    assert (tmp_path / "inpainting.png").is_file() and "psnr_inpainted" in result["inpainting"]


@pytest.mark.slow  # a JAX subprocess: imports, tracing and compilation take minutes on a shared 2-core CPU
def test_twin_runs_under_jax(quantized, sample, tmp_path):
    """The twin built from the same flatbuffer gives the TensorFlow twin's logits under JAX, with gradients."""
    x, _ = sample
    (tmp_path / "model.tflite").write_bytes(quantized.flatbuffer)
    np.save(tmp_path / "expected.npy", evaluate.predict_logits(quantized.twin, x[:20]))
    script = textwrap.dedent(f"""
        import numpy as np
        from robustkeras import attacks, data, evaluate
        from robustkeras.models import TFLiteClassifier, int8_twin
        flatbuffer = open({str(tmp_path / "model.tflite")!r}, "rb").read()
        twin, deployed = int8_twin(flatbuffer), TFLiteClassifier(flatbuffer)
        x, y = data.load_sample()
        x, y = x[:20], y[:20]
        expected = np.load({str(tmp_path / "expected.npy")!r})
        assert np.mean(evaluate.predict_logits(twin, x).argmax(1) == expected.argmax(1)) >= 0.98
        x_adv = attacks.pgd(twin, x, y, norm="l2", eps=0.5, step_size=0.2, steps=3)
        assert evaluate.clean_accuracy(twin, x_adv, y) < evaluate.clean_accuracy(twin, x, y)
        attacks.square(deployed, x[:4], y[:4], norm="l2", eps=0.5, queries=5)  # jax.pure_callback path
        try:
            attacks.pgd(deployed, x[:2], y[:2], norm="l2", eps=0.5, step_size=0.1, steps=1)
            raise AssertionError("PGD ran on the deployable")
        except ValueError as err:
            assert "no gradients" in str(err), err
        print("JAX OK")
    """)
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert "JAX OK" in done.stdout, done.stderr[-3000:]

