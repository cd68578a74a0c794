"""Third-party models under one Keras backend: softmax training, integer inputs, ops without a gradient.

`python tests/_third_party_run.py` prints one JSON line with the measurements;
tests/test_third_party.py calls these functions in-process under TensorFlow and
runs this file in a subprocess under JAX, and checks the same properties on both.
"""

import json
import sys

import keras
import numpy as np
from keras import ops

from robustkeras import attacks, evaluate, pretrained, synthesis
from robustkeras.data import load_sample
from robustkeras.models import pixel_model
from robustkeras.training import AdversarialTrainer


def _cnn(softmax):
    keras.utils.set_random_seed(3)
    inputs = keras.Input((16, 16, 3))
    h = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(8, 3, activation="relu")(inputs))
    return keras.Model(inputs, keras.layers.Dense(4, activation="softmax" if softmax else None)(h))


def trainer_losses():
    """Adversarial training losses of a softmax model and of its logits twin (same weights, data, seed)."""
    rng = np.random.default_rng(0)
    x = rng.random((16, 16, 16, 3)).astype("float32")
    y = rng.integers(0, 4, 16).astype("int32")
    twin = _cnn(softmax=False)
    losses = {}
    for name in ("softmax", "logits"):
        model = _cnn(softmax=name == "softmax")
        model.set_weights(twin.get_weights())
        trainer = AdversarialTrainer(model, norm="l2", eps=0.5, steps=1, seed=0)
        trainer.compile(optimizer=keras.optimizers.SGD(0.5), run_eagerly=True)  # no compile: seconds on JAX
        losses[name] = trainer.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
    return losses


class _Probabilities(keras.Model):
    """Subclassed: probabilities through an op the library cannot undo."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(4)

    def call(self, x):
        return ops.softmax(self.dense(ops.mean(x, axis=(1, 2))))


def trainer_refusals():
    """The messages the trainer and `attacks.pgd` give for the models the attacks refuse."""
    x = np.random.default_rng(0).random((4, 16, 16, 3)).astype("float32")
    y = np.array([0, 1, 2, 3])
    inputs = keras.Input((16, 16, 3))
    h = keras.layers.GlobalAveragePooling2D()(inputs)
    two = keras.Model(inputs, [keras.layers.Dense(4)(h), keras.layers.Dense(2)(h)])
    out = {}
    for name, model in (("probabilities", _Probabilities()), ("two_outputs", two)):
        for who, run in (("pgd", lambda m: attacks.pgd(m, x, y, norm="l2", eps=0.5, step_size=0.1, steps=1)),
                         ("trainer", lambda m: _fit(m, x, y))):
            try:
                run(model)
                out[f"{name} {who}"] = "accepted"
            except ValueError as err:
                out[f"{name} {who}"] = str(err)
    return out


def _fit(model, x, y):
    trainer = AdversarialTrainer(model, norm="l2", eps=0.5, steps=1)
    trainer.compile(optimizer="sgd")
    trainer.fit(x, y, epochs=1, verbose=0)


def _uint8_model(robust, rescaling):
    """`robust` behind a uint8 input: through `Rescaling(1/255)` or a cast and a division."""
    inputs = keras.Input((32, 32, 3), dtype="uint8")
    if rescaling:
        floats = keras.layers.Rescaling(1 / 255)(inputs)
    else:
        floats = keras.layers.Lambda(lambda t: ops.cast(t, "float32") / 255)(inputs)
    return keras.Model(inputs, robust(floats))


def _moved(result, x):
    return float(np.mean(np.linalg.norm((result.images - x).reshape(len(x), -1), axis=1)))


def integer_inputs(n=128, n_translate=4, variants=("rescaling",)):
    """PGD-10 robust accuracy (L2 0.5) and translation distance: uint8 models through `pixel_model` and
    their float twin (the same weights), plus the refusal of the unwrapped uint8 model.

    `variants`: how the uint8 model turns its pixels into floats (`Rescaling(1/255)`, or a cast and a division).
    """
    x, y = load_sample()
    x, y = x[:n], y[:n]
    robust = pretrained.load("fastnet_small_l2_robust")
    out = {}
    models = [("twin", robust)] + [(f"uint8 {v}", pixel_model(_uint8_model(robust, v == "rescaling"), (0, 255)))
                                   for v in variants]
    for name, model in models:
        result = evaluate.robust_accuracy(model, x, y, norm="l2", eps=0.5, steps=10)
        target = (y[:n_translate] + 1) % 10
        moved = _moved(synthesis.translate(model, x[:n_translate], target, steps=5), x[:n_translate])
        out[name] = {"clean": result["clean"], "robust": result["robust"], "moved": moved}
    try:
        attacks.pgd(_uint8_model(robust, False), x[:2], y[:2], norm="l2", eps=0.5, step_size=0.1, steps=1)
        out["unwrapped"] = "accepted"
    except ValueError as err:
        out["unwrapped"] = str(err)
    return out


def no_gradient():
    """The messages of a gradient attack, an evaluation, a synthesis task and the trainer on a model
    rounding its pixels to 15 levels (no gradient), and whether Square still runs on it."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    rounded = keras.layers.Lambda(lambda t: ops.round(t * 15) / 15)(inputs)
    h = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(8, 3, activation="relu")(rounded))
    model = keras.Model(inputs, keras.layers.Dense(4)(h))
    x = np.random.default_rng(0).random((4, 16, 16, 3)).astype("float32")
    y = np.array([0, 1, 2, 3])
    runs = {"pgd": lambda: attacks.pgd(model, x, y, norm="l2", eps=0.5, step_size=0.1, steps=2),
            "robust_accuracy": lambda: evaluate.robust_accuracy(model, x, y, norm="l2", eps=0.5, steps=2),
            "translate": lambda: synthesis.translate(model, x, (y + 1) % 4, steps=2),
            "trainer": lambda: _fit(model, x, y)}
    out = {}
    for name, run in runs.items():
        try:
            run()
            out[name] = "accepted"
        except ValueError as err:
            out[name] = str(err)
    out["square"] = attacks.square(model, x, y, norm="linf", eps=0.1, queries=5).shape == x.shape
    return out


def gradient_zero_on_noise():
    """A model with gradients on bright images but none on uniform noise (mean 0.5) is attacked, not refused;
    and one whose first two images have no gradient but the others do is also attacked."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    flat = keras.layers.Flatten()(inputs)
    gate = keras.layers.Lambda(lambda t: ops.cast(ops.mean(t, axis=-1, keepdims=True) > 0.6, "float32"))(flat)
    model = keras.Model(inputs, keras.layers.Multiply()([keras.layers.Dense(3)(flat), gate]))
    x = (0.7 + 0.3 * np.random.default_rng(0).random((4, 8, 8, 3))).astype("float32")
    x[:2] *= 0.5  # dark: gate closed, no gradient there
    y = np.array([0, 1, 2, 0])
    out = {}
    for name, run in {"pgd": lambda: attacks.pgd(model, x, y, norm="l2", eps=0.5, step_size=0.2, steps=2),
                      "robust_accuracy": lambda: evaluate.robust_accuracy(model, x, y, norm="l2", eps=0.5,
                                                                          steps=2)}.items():
        try:
            result = run()
            out[name] = float(np.abs(result - x).max()) if name == "pgd" else "accepted"
        except ValueError as err:
            out[name] = str(err)
    return out


def generate_no_gradient():
    """`synthesis.generate` (no user images: its starts are sampled) on a 32x32 10-class model rounding its pixels."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    rounded = keras.layers.Lambda(lambda t: ops.round(t * 15) / 15)(inputs)
    h = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, activation="relu")(rounded))
    model = keras.Model(inputs, keras.layers.Dense(10)(h))
    try:
        synthesis.generate(model, [0, 1], steps=2, multiscale=False)
        return "accepted"
    except ValueError as err:
        return str(err)


CHECKS = {"trainer_losses": trainer_losses, "trainer_refusals": trainer_refusals,
          "integer_inputs": integer_inputs, "no_gradient": no_gradient,
          "gradient_zero_on_noise": gradient_zero_on_noise, "generate_no_gradient": generate_no_gradient}

if __name__ == "__main__":
    # argv: check names; "integer_inputs" takes its image count and variants from ROBUSTKERAS_TEST_INTEGER
    # ("32 rescaling": 32 images, the Rescaling variant only).
    import os

    names = sys.argv[1:] or list(CHECKS)
    setting = os.environ.get("ROBUSTKERAS_TEST_INTEGER", "128 rescaling").split()
    kwargs = {"integer_inputs": dict(n=int(setting[0]), variants=tuple(setting[1:]))}
    results = {name: CHECKS[name](**kwargs.get(name, {})) for name in names}
    print(json.dumps({"backend": keras.backend.backend(), **results}))
