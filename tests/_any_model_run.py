"""Every public function on three unusual classifiers; run as a script under one Keras backend.

`python tests/_any_model_run.py` prints one "ok <model> <function>" line per
call and "ALL OK" at the end; tests/test_any_model.py runs it under TensorFlow
and JAX in subprocesses (tiny steps and batches: it is a coverage test, not a
strength test).
"""

import sys

import keras
import numpy as np

from robustkeras import attacks, evaluate, metrics, synthesis
from robustkeras.models import pixel_model


def gray100():
    """100 classes, 48x48 grayscale, functional."""
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(100)(x), name="gray100")


def sequential():
    return keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
                             keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)], name="seq")


def mobilenet():
    net = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), classes=10,
                                         classifier_activation=None)
    return pixel_model(net, input_range=(-1, 1))  # MobileNetV2 expects [-1, 1]


def run(name, model, heavy):
    shape = tuple(model.inputs[0].shape[1:])
    classes = model.outputs[0].shape[-1]
    rng = np.random.default_rng(0)
    n = 2
    x = rng.random((n, *shape)).astype("float32")
    y = np.array([1, 2])
    say = lambda what: print("ok", name, what, flush=True)  # noqa: E731
    a = attacks.pgd(model, x, y, norm="l2", eps=0.5, step_size=0.2, steps=2)
    assert a.shape == x.shape and np.all(np.linalg.norm((a - x).reshape(n, -1), axis=1) <= 0.5 + 1e-4)
    say("pgd")
    attacks.pgd(model, x, y, norm="linf", eps=0.03, step_size=0.01, steps=2, target=np.array([3, 4]))
    say("pgd target")
    attacks.fgsm(model, x, y, norm="linf", eps=0.03)
    say("fgsm")
    attacks.apgd(model, x, y, norm="l2", eps=0.5, steps=2, loss="dlr", target_rank=1)
    say("apgd")
    if heavy:
        result = evaluate.autoattack(model, x, y, norm="l2", eps=0.5, version="fast")
        assert 0 <= result["robust"] <= result["clean"] <= 1
        say("autoattack")
    evaluate.robust_accuracy(model, x, y, norm="l2", eps=0.5, steps=1)
    say("robust_accuracy")
    stats_images = rng.random((2 * classes, *shape)).astype("float32")
    stats = synthesis.compute_class_stats(stats_images, np.arange(2 * classes) % classes, rank=2, components=2)
    g = synthesis.generate(model, y, steps=4, stats=stats, multiscale=heavy)
    assert g.images.shape == x.shape
    say("generate")
    mask = synthesis.make_mask("center", x)
    assert synthesis.inpaint(model, x, y, mask, steps=1).images.shape == x.shape
    say("inpaint")
    sr = synthesis.super_resolve(model, synthesis.downsample(x, 4), y, steps=1)
    assert sr.images.shape == x.shape
    say("super_resolve")
    assert synthesis.sketch_to_image(model, synthesis.make_sketch(x), y, steps=1).images.shape == x.shape
    say("sketch_to_image")
    assert synthesis.translate(model, x, np.array([3, 4]), steps=1).images.shape == x.shape
    say("translate")
    assert synthesis.manipulate(model, x, 0, mask, steps=1).images.shape == x.shape
    painter = synthesis.FeaturePainter(model, x[0])
    painter.top_units(class_id=1)
    say("manipulate")
    assert 0 <= metrics.judge_accuracy(model, g.images, y, low_pass_factor=2) <= 1
    metrics.ssim(sr.images, x)
    say("metrics")


if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    which = sys.argv[1:] or ["gray100", "sequential", "mobilenet"]
    for name in which:
        run(name, {"gray100": gray100, "sequential": sequential, "mobilenet": mobilenet}[name](),
            heavy=name != "mobilenet" or "--heavy" in sys.argv)
    print("ALL OK")
