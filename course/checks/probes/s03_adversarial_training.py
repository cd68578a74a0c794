"""Probes of stage 03 (adversarial training): PGD on tensors, a custom train_step, the DLR loss."""

import numpy as np

from ._common import ProbeError, answer, as_array, attempt, rng
from ._models import tiny_model


def q03_adversarial_batch_inputs(seed):
    r = rng(seed, 3, 1)
    k = int(r.integers(4, 11))
    return {"x": r.random((4, 5, 5, 3)).astype(np.float32), "y": r.integers(0, k, 4), "classes": k,
            "eps": float(r.uniform(0.3, 0.8)), "steps": 3, "model_seed": int(r.integers(0, 2 ** 31))}


def q03_adversarial_batch_model(inp):
    return tiny_model(inp["model_seed"], (5, 5, 3), inp["classes"], hidden=16)


def probe_q03_adversarial_batch(ns, seed):
    import tensorflow as tf

    fn = answer(ns, "adversarial_batch")
    inp = q03_adversarial_batch_inputs(seed)
    model = q03_adversarial_batch_model(inp)
    x, y = tf.constant(inp["x"]), tf.constant(inp["y"], tf.int32)
    adv = fn(lambda t: model(t, training=False), x, y, eps=inp["eps"], steps=inp["steps"])
    out = {"is_tensor": np.array(bool(tf.is_tensor(adv))), "adv": as_array(adv, "adversarial_batch")}

    def stopped():
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(fn(lambda t: model(t, training=False), x, y, eps=inp["eps"], steps=1))
        return np.array(tape.gradient(total, x) is None)

    attempt(out, "stops_gradient", stopped)
    return out


def q03_train_step_inputs(seed):
    r = rng(seed, 3, 2)
    k = int(r.integers(3, 7))
    return {"x": r.random((8, 4, 4, 3)).astype(np.float32), "y": r.integers(0, k, 8), "classes": k,
            "eps": float(r.uniform(0.3, 1.0)), "steps": 2, "lr": float(r.uniform(0.05, 0.2)),
            "batch_size": 4, "epochs": 2, "model_seed": int(r.integers(0, 2 ** 31))}


def q03_train_step_model(inp):
    """With batch normalisation: attacking with training=True would move its statistics."""
    return tiny_model(inp["model_seed"], (4, 4, 3), inp["classes"], hidden=8, batchnorm=True)


def probe_q03_train_step(ns, seed):
    import keras

    cls = answer(ns, "PGDTrainer")
    inp = q03_train_step_inputs(seed)
    model = q03_train_step_model(inp)
    trainer = cls(model, eps=inp["eps"], steps=inp["steps"])
    trainer.compile(optimizer=keras.optimizers.SGD(inp["lr"]),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    try:
        history = trainer.fit(inp["x"].copy(), inp["y"].copy(), batch_size=inp["batch_size"], epochs=inp["epochs"],
                              verbose=0, shuffle=False)
    except Exception as err:
        raise ProbeError("fit_failed", name="PGDTrainer", type=type(err).__name__, raised=str(err)) from None
    logs = getattr(history, "history", None) or {}
    out = {f"w{i}": as_array(w, "PGDTrainer") for i, w in enumerate(model.get_weights())}
    # a train_step of the notebook's own (not Keras's default, standard training)
    out["own_step"] = np.array(any("train_step" in vars(k) for k in type(trainer).__mro__
                                   if not k.__module__.startswith(("keras", "tensorflow"))))
    out["has_loss"] = np.array("loss" in logs)
    out["has_accuracy"] = np.array("accuracy" in logs)
    if "loss" in logs:
        out["loss"] = as_array(logs["loss"], "train_step", np.float64)
    return out


def q03_dlr_loss_inputs(seed):
    r = rng(seed, 3, 3)
    n, k = int(r.integers(5, 9)), int(r.integers(4, 13))
    logits = r.normal(0, 1, (n, k)).astype(np.float32)
    y = r.integers(0, k, n)
    logits[0, y[0]] = logits[0].max() + 1.0        # a correctly classified row
    return {"logits": logits, "y": y}


def probe_q03_dlr_loss(ns, seed):
    import tensorflow as tf

    fn = answer(ns, "dlr_loss")
    inp = q03_dlr_loss_inputs(seed)
    z, y = inp["logits"], inp["y"]
    out = {"base": as_array(fn(z.copy(), y.copy()), "dlr_loss")}
    attempt(out, "scaled", lambda: as_array(fn((1e4 * z + 3.0).astype(np.float32), y.copy()), "dlr_loss"))
    attempt(out, "graph", lambda: as_array(tf.function(lambda a, b: fn(a, b))(tf.constant(z), tf.constant(y)), "dlr_loss"))
    return out
