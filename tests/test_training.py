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
    trainer = AdversarialTrainer(tiny_model, eps=0.5, adv_fraction=0.0)
    trainer.compile(optimizer="sgd")
    x = np.asarray(trainer._adversarial_batch(None, sample[0][:4], sample[1][:4], 0))
    np.testing.assert_array_equal(x, sample[0][:4])


@pytest.mark.parametrize("kwargs,name", [(dict(norm="l1"), "norm"), (dict(eps=-1), "eps"),
                                         (dict(steps=0), "steps"), (dict(adv_fraction=2), "adv_fraction")])
def test_bad_trainer_arguments(tiny_model, kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        AdversarialTrainer(tiny_model, **kwargs)


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
