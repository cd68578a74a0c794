"""Probes of stage 01 (classification): numpy losses, compile + fit, accuracy."""

import numpy as np

from ._common import ProbeError, answer, as_array, rng
from ._models import tiny_model


def q01_softmax_inputs(seed):
    r = rng(seed, 1, 1)
    n, k = int(r.integers(4, 8)), int(r.integers(3, 13))
    logits = r.normal(0, 4, (n, k))
    logits[0] += 1000.0                             # overflows without the max trick
    logits[1] -= 1000.0                             # underflows without it
    return {"logits": logits}


def probe_q01_softmax(ns, seed):
    fn = answer(ns, "softmax")
    return {"p": as_array(fn(q01_softmax_inputs(seed)["logits"].copy()), "softmax")}


def q01_cross_entropy_inputs(seed):
    r = rng(seed, 1, 2)
    n, k = int(r.integers(4, 8)), int(r.integers(3, 13))
    logits = r.normal(0, 5, (n, k))
    logits[0, 0] = 2000.0                           # log(0) without log-sum-exp
    labels = r.integers(0, k, n)
    labels[0] = 1 % k
    return {"logits": logits, "labels": labels}


def probe_q01_cross_entropy(ns, seed):
    fn = answer(ns, "cross_entropy")
    inp = q01_cross_entropy_inputs(seed)
    return {"loss": as_array(fn(inp["logits"].copy(), inp["labels"].copy()), "cross_entropy")}


def q01_train_classifier_inputs(seed):
    r = rng(seed, 1, 3)
    x = r.random((48, 4, 4, 3)).astype(np.float32)
    y = (x[:, :2].mean((1, 2, 3)) > x[:, 2:].mean((1, 2, 3))).astype(np.int64)
    x[:, :2] += 0.4 * (2 * y[:, None, None, None] - 1)   # a wide margin: the loss falls within a few epochs
    x = np.clip(x, 0, 1)
    batch_size = int(r.choice([8, 12, 16]))
    lr = float(r.choice([1e-2, 2e-2, 3e-2]))
    check_x = r.random((5, 4, 4, 3)).astype(np.float32)
    return {"x": x, "y": y, "epochs": 6, "batch_size": batch_size, "learning_rate": lr,
            "model_seed": int(r.integers(0, 2 ** 31)), "check_x": check_x, "check_y": r.integers(0, 2, 5)}


def probe_q01_train_classifier(ns, seed):
    import keras

    fn = answer(ns, "train_classifier")
    inp = q01_train_classifier_inputs(seed)
    model = tiny_model(inp["model_seed"], (4, 4, 3), 2)
    before = [np.asarray(w) for w in model.get_weights()]
    history = fn(model, inp["x"].copy(), inp["y"].copy(), epochs=inp["epochs"], batch_size=inp["batch_size"],
                 learning_rate=inp["learning_rate"])
    if history is None:
        raise ProbeError("history_none", name="train_classifier")
    logs = getattr(history, "history", None)
    if not isinstance(logs, dict):
        raise ProbeError("not_history", name="train_classifier")
    out = {"loss": as_array(logs.get("loss", []), "train_classifier", np.float64),
           "accuracy": as_array(logs.get("accuracy", logs.get("acc", [])), "train_classifier", np.float64),
           "has_accuracy": np.array("accuracy" in logs or "acc" in logs)}
    optimizer = getattr(model, "optimizer", None)
    out["is_adam"] = np.array(type(optimizer).__name__ == "Adam")
    try:
        out["learning_rate"] = np.array(float(np.asarray(optimizer.learning_rate)))
        out["iterations"] = np.array(int(np.asarray(optimizer.iterations)))
    except Exception:
        out["learning_rate"], out["iterations"] = np.array(np.nan), np.array(-1)
    try:  # the compiled loss on fixed logits: from_logits or not
        loss_fn = model.loss if callable(model.loss) else keras.losses.get(model.loss)
        logits = np.array([[2.0, -1.0], [0.5, 3.0], [-2.0, 1.0], [4.0, 4.5], [0.0, -3.0]], np.float32)
        out["loss_on_logits"] = np.array(float(np.asarray(loss_fn(inp["check_y"], logits))))
    except Exception:
        out["loss_on_logits"] = np.array(np.nan)
    after = model.get_weights()
    out["weights_changed"] = np.array(any(not np.allclose(a, b) for a, b in zip(before, after)))
    out["logits"] = np.asarray(model(inp["check_x"], training=False), np.float64)
    return out


def q01_accuracy_inputs(seed):
    r = rng(seed, 1, 4)
    n = int(r.integers(37, 53))
    inp = {"x": r.random((n, 4, 4, 3)).astype(np.float32), "batch_size": int(r.choice([7, 11, 16])),
           "model_seed": int(r.integers(0, 2 ** 31))}
    # labels: mostly the model's own inference-mode predictions, so dropout noise changes the accuracy
    pred = np.argmax(np.asarray(q01_accuracy_model(inp)(inp["x"], training=False)), 1)
    inp["y"] = np.where(r.random(n) < 0.75, pred, r.integers(0, 6, n))
    return inp


def q01_accuracy_model(inp):
    """Dropout before the head: a model called with training=True gives other answers."""
    return tiny_model(inp["model_seed"], (4, 4, 3), 6, hidden=16, dropout=0.5, scale=2.0)


def probe_q01_accuracy(ns, seed):
    fn = answer(ns, "accuracy")
    inp = q01_accuracy_inputs(seed)
    model = q01_accuracy_model(inp)
    return {"batched": as_array(fn(model, inp["x"].copy(), inp["y"].copy(), batch_size=inp["batch_size"]), "accuracy"),
            "default": as_array(fn(model, inp["x"][:20].copy(), inp["y"][:20].copy()), "accuracy")}
