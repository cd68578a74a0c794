"""The adversarial train_step: it changes weights, lowers the adversarial loss, matches across backends."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from robustkeras.attacks import cross_entropy, pgd
from robustkeras.evaluate import predict_logits
from robustkeras.models import get_model
from robustkeras.training import AdversarialTrainer


def _adv_loss(model, x, y):
    x_adv = pgd(model, x, y, norm="l2", eps=0.5, step_size=0.25, steps=3, seed=0)
    return float(np.mean(cross_entropy(predict_logits(model, x_adv), y)))


def test_one_train_step_changes_the_weights(tiny_model, sample):
    trainer = AdversarialTrainer(tiny_model, norm="l2", eps=0.5, steps=2)
    trainer.compile(optimizer=keras.optimizers.SGD(0.05))
    before = [w.numpy() for w in tiny_model.trainable_weights]
    logs = trainer.train_on_batch(sample[0][:16], sample[1][:16], return_dict=True)
    after = tiny_model.trainable_weights
    assert {"loss", "accuracy"} <= set(logs)
    assert sum(not np.allclose(b, a.numpy()) for b, a in zip(before, after)) == len(before)


def test_a_few_hundred_steps_lower_the_adversarial_loss(tiny_model, sample):
    x, y = sample[0][:64], sample[1][:64]
    trainer = AdversarialTrainer(tiny_model, norm="l2", eps=0.5, steps=1, track_clean=True)
    trainer.compile(optimizer=keras.optimizers.Adam(2e-3))
    before = _adv_loss(tiny_model, x, y)
    history = trainer.fit(x, y, batch_size=32, epochs=100, verbose=0).history  # 200 steps
    assert "clean_accuracy" in history
    assert _adv_loss(tiny_model, x, y) < 0.7 * before


def test_adv_fraction_zero_is_standard_training(tiny_model, sample):
    trainer = AdversarialTrainer(tiny_model, norm="l2", eps=0.5, adv_fraction=0.0)
    trainer.compile(optimizer="sgd")
    x = np.asarray(trainer._adversarial_batch(None, sample[0][:4], sample[1][:4], 0))
    np.testing.assert_array_equal(x, sample[0][:4])


@pytest.mark.parametrize("kwargs,name", [(dict(norm="l1"), "norm"), (dict(eps=-1), "eps"),
                                         (dict(steps=0), "steps"), (dict(adv_fraction=2), "adv_fraction")])
def test_bad_trainer_arguments(tiny_model, kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        AdversarialTrainer(tiny_model, **{"norm": "l2", "eps": 0.5, **kwargs})


_ONE_STEP = textwrap.dedent("""
    import json, sys, keras, numpy as np
    from robustkeras.models import get_model
    from robustkeras.training import AdversarialTrainer
    weights, data = sys.argv[1], np.load(sys.argv[2])
    model = get_model("fastnet_small")
    model.load_weights(weights)
    trainer = AdversarialTrainer(model, norm="l2", eps=0.5, steps=2, random_start=False)
    trainer.compile(optimizer=keras.optimizers.SGD(0.01))
    logs = trainer.train_on_batch(data["x"], data["y"], return_dict=True)
    print(json.dumps({"backend": keras.backend.backend(), "loss": float(logs["loss"])}))
""")


def test_jax_train_step_matches_tensorflow(tiny_model, sample, tmp_path):
    pytest.importorskip("jax", reason="JAX not installed (pip install -e '.[jax]')")
    tiny_model.save_weights(tmp_path / "w.weights.h5")
    np.savez(tmp_path / "batch.npz", x=sample[0][:16], y=sample[1][:16])
    script = tmp_path / "one_step.py"
    script.write_text(_ONE_STEP)
    losses = {}
    for backend in ("tensorflow", "jax"):
        env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
        out = subprocess.run([sys.executable, str(script), str(tmp_path / "w.weights.h5"), str(tmp_path / "batch.npz")],
                             env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        result = json.loads(out.stdout.strip().splitlines()[-1])
        assert result["backend"] == backend
        losses[backend] = result["loss"]
    assert losses["jax"] == pytest.approx(losses["tensorflow"], rel=1e-3)


# Any classifier, both backends --------------------------------------------------------------
_MODELS = textwrap.dedent("""
    import json, sys, keras, numpy as np
    from robustkeras.training import AdversarialTrainer

    def gray100():  # 100 classes, 48x48 grayscale
        i = keras.Input((48, 48, 1))
        h = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(i)
        h = keras.layers.BatchNormalization()(h)
        return keras.Model(i, keras.layers.Dense(100)(keras.layers.GlobalAveragePooling2D()(h)))

    def mobilenet():
        return keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), classes=10,
                                              classifier_activation=None)

    def sequential():
        return keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3, activation="relu"),
                                 keras.layers.MaxPooling2D(4), keras.layers.Flatten(), keras.layers.Dense(10)])

    results = {}
    for name, build, shape, classes in [("gray100", gray100, (48, 48, 1), 100),
                                        ("mobilenet", mobilenet, (32, 32, 3), 10),
                                        ("sequential", sequential, (32, 32, 3), 10)]:
        if name not in sys.argv[1:]:
            continue
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        x = rng.uniform(0, 1, (16,) + shape).astype("float32")
        y = rng.integers(0, classes, 16).astype("int32")
        model = build()
        before = [np.array(w) for w in model.trainable_weights]
        trainer = AdversarialTrainer(model, norm="l2", eps=0.25, steps=1)
        trainer.compile(optimizer=keras.optimizers.Adam(2e-2))
        loss = trainer.fit(x, y, batch_size=16, epochs=15, verbose=0).history["loss"]
        changed = np.mean([not np.allclose(b, np.array(a)) for b, a in zip(before, model.trainable_weights)])
        results[name] = {"first": loss[0], "last": loss[-1], "changed": float(changed)}
    print(json.dumps({"backend": keras.backend.backend(), **results}))
""")


def _fit_models(backend, names, tmp_path):
    if backend == "jax":
        pytest.importorskip("jax", reason="JAX not installed (pip install -e '.[jax]')")
    script = tmp_path / "models.py"
    script.write_text(_MODELS)
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, str(script), *names], env=env, capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result.pop("backend") == backend
    assert sorted(result) == sorted(names)
    for name, r in result.items():
        assert r["changed"] > 0.9, (name, r)  # (MobileNetV2's BN betas before a ReLU6 may stay put)
        assert r["last"] < 0.85 * r["first"], (name, r)


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_short_fit_on_any_classifier(backend, tmp_path):
    """A 100-class 48x48 grayscale model and a Sequential CNN train adversarially on both backends."""
    _fit_models(backend, ["gray100", "sequential"], tmp_path)


@pytest.mark.slow  # minutes of tracing on a shared 2-core CPU; the test above covers the same train_step
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_short_fit_on_keras_applications_mobilenetv2(backend, tmp_path):
    _fit_models(backend, ["mobilenet"], tmp_path)


# The run's settings, temp files, bad outputs and seeds --------------------------------------------
def _fake_cifar(folder, n=40):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for name, count in [(f"data_batch_{i}.bin", n) for i in range(1, 6)] + [("test_batch.bin", 10)]:
        labels = rng.integers(0, 10, count, dtype=np.uint8)
        images = rng.integers(0, 256, (count, 3072), dtype=np.uint8)
        np.concatenate([labels[:, None], images], 1).tofile(folder / name)


def test_resume_with_other_settings_is_refused_and_temp_files_are_cleaned(tmp_path):
    from robustkeras.training import train

    _fake_cifar(tmp_path / "data" / "cifar-10-batches-bin")
    common = dict(arch="fastnet_small", out_dir=tmp_path / "run", epochs=2, batch_size=32, holdout=0,
                  data_path=tmp_path / "data", limit=64, verbose=0)
    train(**common, stop_after=1)
    state = json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text())
    assert state["settings"]["eps"] == 0.5 and state["settings"]["arch"] == "fastnet_small"
    junk = [tmp_path / "run" / "checkpoint" / ".model-2-x1y2.weights.h5", tmp_path / "run" / ".log-abc.jsonl"]
    for path in junk:
        path.write_bytes(b"half")
    with pytest.raises(ValueError, match=r"eps: 0\.5 -> 0\.25.*--no-resume"):
        train(**{**common, "eps": 0.25})
    assert not any(p.exists() for p in junk)
    with pytest.raises(ValueError, match=r"lr.*--no-resume"):
        train(**{**common, "lr": 0.1})


def test_unwritable_out_fails_before_training(tmp_path):
    from robustkeras.training import train

    (tmp_path / "file").write_text("not a folder")
    # The data path does not exist either: the output is checked first, in no time.
    with pytest.raises(ValueError, match="`out_dir`"):
        train("fastnet_small", out_dir=tmp_path / "file" / "run", data_path=tmp_path / "nothing")


def test_huge_seed_is_a_clear_error(tiny_model, tmp_path):
    from robustkeras.training import train

    with pytest.raises(ValueError, match=r"`seed`.*2\*\*31"):
        AdversarialTrainer(tiny_model, norm="l2", eps=0.5, seed=2**40)
    with pytest.raises(ValueError, match=r"`seed`.*2\*\*31"):
        train("fastnet_small", out_dir=tmp_path / "run", seed=2**40)
