"""Checks of stage 03 (adversarial training)."""

import numpy as np

from course.checks import Check
from course.checks import _reference as ref
from course.checks._judge import close, judged, need, parts
from course.checks.probes.s03_adversarial_training import (
    q03_adversarial_batch_inputs, q03_adversarial_batch_model, q03_dlr_loss_inputs, q03_train_step_inputs,
    q03_train_step_model)


@judged
def adversarial_batch_verdict(outputs, seed):
    inp = q03_adversarial_batch_inputs(seed)
    x = inp["x"]
    adv = need(outputs, "adv", x.shape, "adversarial_batch: the images' shape")
    model = q03_adversarial_batch_model(inp)
    want = np.asarray(ref.l2_pgd_tf(lambda t: model(t, training=False), x, inp["y"], eps=inp["eps"], steps=inp["steps"]))
    d = np.sqrt(((adv - x).astype(np.float64) ** 2).reshape(len(x), -1).sum(1))
    if np.any(d > inp["eps"] + 1e-4):
        values = (False, "left the L2 ball: project onto the ball around the clean x after every step")
    elif not close(adv, want, atol=1e-4):
        values = (False, "differs from L2 PGD from the clean images with step 2.5 * eps / steps "
                         "(rule.step, then rule.project onto the ball around the clean x)")
    elif not bool(need(outputs, "is_tensor", ())):
        values = (False, "return a tensor (tf ops, not NumPy), so it runs inside train_step")
    else:
        values = (True, "")
    # the stop_gradient part counts only with an attack: `tf.stop_gradient(x)` alone is not one
    stopped = values[0] and bool(outputs.get("stops_gradient", False))
    # the master's tests: the values (and a tensor), the stop_gradient
    return parts((2, *values), (1, stopped, "wrap the result in tf.stop_gradient"))


@judged
def train_step_verdict(outputs, seed):
    inp = q03_train_step_inputs(seed)
    model = q03_train_step_model(inp)
    before = [np.asarray(w) for w in model.get_weights()]
    trainable = [w.trainable for w in model.weights]   # batch norm's moving statistics move without an update
    ref.adversarial_training(model, inp["x"], inp["y"], eps=inp["eps"], steps=inp["steps"], lr=inp["lr"],
                             batch_size=inp["batch_size"], epochs=inp["epochs"])
    want = model.get_weights()
    mine = [need(outputs, f"w{i}", w.shape, "the classifier's weights") for i, w in enumerate(want)]
    changed = any(not np.allclose(a, b) for a, b, t in zip(mine, before, trainable) if t)
    ok = all(close(a, b, atol=1e-4) for a, b in zip(mine, want))
    trivial = False  # no training, or Keras's own (standard) training: the metrics part is not earned either
    if ok:
        weights = (True, "")
    elif not changed:
        weights, trivial = (False, "the weights did not change: apply the gradients with self.optimizer.apply"), True
    else:
        clean = q03_train_step_model(inp)
        ref.adversarial_training(clean, inp["x"], inp["y"], eps=0.0, steps=1, lr=inp["lr"],
                                 batch_size=inp["batch_size"], epochs=inp["epochs"])
        if all(close(a, b, atol=1e-4) for a, b in zip(mine, clean.get_weights())):
            weights = (False, "this is standard training: train on x_adv from adversarial_batch, not on x")
            trivial = not bool(outputs.get("own_step", False))   # Keras's default train_step
        else:
            weights = (False, "the weights differ from adversarial training's: attack with training=False, "
                              "then loss = compute_loss on self(x_adv, training=True), its gradients, optimizer.apply")
    metrics = bool(outputs.get("has_loss", False)) and bool(outputs.get("has_accuracy", False))
    if metrics and "loss" in outputs:
        metrics = bool(np.all(np.isfinite(np.asarray(outputs["loss"]))))
    metrics = metrics and not trivial
    return parts((3, *weights), (1, metrics, "update every metric in self.metrics and return "
                                               "{m.name: m.result() for m in self.metrics} (loss and accuracy)"))


@judged
def dlr_loss_verdict(outputs, seed):
    inp = q03_dlr_loss_inputs(seed)
    n = len(inp["y"])
    base = need(outputs, "base", (n,), "dlr_loss: one value per example,")
    values = close(base, ref.dlr(inp["logits"], inp["y"]), rtol=1e-4, atol=1e-5)
    robust = (values and "scaled" in outputs and "graph" in outputs
              and close(outputs["scaled"], base, rtol=1e-3, atol=1e-4) and close(outputs["graph"], base, atol=1e-5))
    # (the invariance part counts only with the right values: a constant is invariant too)
    hint = ("not usable inside tf.function (use keras.ops or tf, not NumPy)" if "graph" not in outputs
            else "not invariant to scaling and shifting the logits: divide by z_pi1 - z_pi3 + 1e-12")
    # right values alone are half: the exercise's DLR must also run inside the attack's compiled graph
    return parts((1, values, "wrong values: -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3 + 1e-12), pi sorting the logits "
                             "in decreasing order"), (1, robust, hint))


STEP_RULES = ("robustkeras.attacks.L2Step",)   # the exercise tells students to use them

CHECKS = [
    Check("q03_adversarial_batch", 3, ("adversarial_batch",),
          ("robustkeras.attacks.pgd", "robustkeras.attacks.pgd.pgd_loop", "robustkeras.attacks.apgd",
           "robustkeras.engine.ascend"), adversarial_batch_verdict, allowed=STEP_RULES,
          uses="tf tensor ops and tf.GradientTape; keras.losses; the step rules `robustkeras.attacks.L2Step`"),
    Check("q03_train_step", 4, ("PGDTrainer",), ("robustkeras.training.AdversarialTrainer",), train_step_verdict,
          allowed=STEP_RULES, uses="keras.Model, tf.GradientTape; your `adversarial_batch`"),
    Check("q03_dlr_loss", 2, ("dlr_loss",), ("robustkeras.attacks.losses.dlr",), dlr_loss_verdict,
          uses="keras.ops or tf tensor ops (it must run inside tf.function)"),
]
