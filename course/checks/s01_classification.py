"""Checks of stage 01 (classification)."""

import numpy as np

from course.checks import Check
from course.checks import _reference as ref
from course.checks._judge import close, ensure, judged, need
from course.checks.probes._models import logits_of
from course.checks.probes.s01_classification import (
    q01_accuracy_inputs, q01_accuracy_model, q01_cross_entropy_inputs, q01_softmax_inputs, q01_train_classifier_inputs)



@judged
def softmax_verdict(outputs, seed):
    logits = q01_softmax_inputs(seed)["logits"]
    p = need(outputs, "p", logits.shape, "softmax(logits): the input's shape")
    ensure(np.all(np.isfinite(p)), "inf or nan for large logits: subtract each row's maximum before exp")
    ensure(close(p.sum(1), 1.0, atol=1e-6), "each row must sum to 1: normalise per row (axis=1)")
    ensure(close(p, np.exp(ref.log_softmax(logits)), rtol=1e-5, atol=1e-7),
           "wrong probabilities: exp(z - max) / sum(exp(z - max)) per row")


@judged
def cross_entropy_verdict(outputs, seed):
    inp = q01_cross_entropy_inputs(seed)
    n = len(inp["labels"])
    loss = need(outputs, "loss", (n,), "cross_entropy(logits, labels): one loss per example,")
    ensure(np.all(np.isfinite(loss)), "inf or nan for large logits: compute log-sum-exp with the max trick")
    want = -ref.log_softmax(inp["logits"])[np.arange(n), inp["labels"]]
    ensure(close(loss, want, rtol=1e-5, atol=1e-5), "wrong values: log(sum_k exp(z_k)) - z_y, with each row's own label")


def _cross_entropy(logits, y):
    return float(np.mean(-ref.log_softmax(logits)[np.arange(len(y)), y]))


@judged
def train_classifier_verdict(outputs, seed):
    inp = q01_train_classifier_inputs(seed)
    loss = need(outputs, "loss", (None,), "the History's loss")
    ensure(len(loss) == inp["epochs"], f"train for `epochs` epochs: the History holds {len(loss)} losses")
    ensure(bool(need(outputs, "has_accuracy", ())), "compile with metrics=['accuracy']: the History has no accuracy")
    ensure(bool(need(outputs, "weights_changed", ())), "the weights did not change: call model.fit on (x, y)")
    ensure(bool(need(outputs, "is_adam", ())), "compile with the Adam optimizer (keras.optimizers.Adam)")
    lr = float(need(outputs, "learning_rate", ()))
    ensure(np.isclose(lr, inp["learning_rate"], rtol=1e-4), "pass `learning_rate` to Adam")
    steps = inp["epochs"] * -(-len(inp["x"]) // inp["batch_size"])
    ensure(int(need(outputs, "iterations", ())) == steps,
           "fit with `batch_size` for `epochs` epochs (the number of updates differs)")
    logits = np.array([[2.0, -1.0], [0.5, 3.0], [-2.0, 1.0], [4.0, 4.5], [0.0, -3.0]])
    ensure(np.isclose(float(need(outputs, "loss_on_logits", ())), _cross_entropy(logits, inp["check_y"]), rtol=1e-4),
           "compile with keras.losses.SparseCategoricalCrossentropy(from_logits=True): the model returns logits")
    ensure(np.all(np.isfinite(loss)) and loss[-1] < 0.9 * loss[0],
           f"the loss should fall on this easy task ({loss[0]:.3f} -> {loss[-1]:.3f})")


@judged
def accuracy_verdict(outputs, seed):
    inp = q01_accuracy_inputs(seed)
    model = q01_accuracy_model(inp)
    pred = logits_of(model, inp["x"]).argmax(1)
    batched = need(outputs, "batched", None, "accuracy(...)")
    default = need(outputs, "default", None, "accuracy(...)")
    ensure(batched.size == 1 and default.size == 1, "return one number, the fraction of correct predictions")
    want = float(np.mean(pred == inp["y"]))
    ensure(np.isclose(float(default), float(np.mean(pred[:20] == inp["y"][:20])), atol=1e-6),
           "wrong accuracy: the fraction of images whose largest logit is the true label, "
           "with the model in inference mode (training=False)")
    ensure(np.isclose(float(batched), want, atol=1e-6),
           "wrong accuracy with a `batch_size` that does not divide the data: count the last, smaller batch "
           "and divide by the number of images")


# other libraries' functions that compute these answers directly (refused by the AST check; the
# `keras` functions at run time too)
SOFTMAX = ("keras.ops.softmax", "keras.activations.softmax", "keras.ops.log_softmax", "keras.activations.log_softmax",
           "tensorflow.nn.softmax", "tensorflow.math.softmax", "tensorflow.nn.log_softmax",
           "tensorflow.math.log_softmax", "scipy.special.softmax", "scipy.special.log_softmax", "jax.nn.softmax",
           "jax.nn.log_softmax", "keras.layers.Softmax", "keras.layers.Activation")
CROSS_ENTROPY = ("robustkeras.attacks.losses.cross_entropy", "keras.ops.sparse_categorical_crossentropy",
                 "keras.losses.sparse_categorical_crossentropy", "keras.losses.SparseCategoricalCrossentropy",
                 "keras.ops.categorical_crossentropy", "keras.losses.categorical_crossentropy",
                 "keras.losses.CategoricalCrossentropy", "keras.metrics.SparseCategoricalCrossentropy",
                 "keras.metrics.CategoricalCrossentropy", "keras.ops.logsumexp",
                 "tensorflow.nn.sparse_softmax_cross_entropy_with_logits",
                 "tensorflow.nn.softmax_cross_entropy_with_logits", "tensorflow.math.reduce_logsumexp",
                 "scipy.special.logsumexp", "jax.nn.logsumexp", "keras.ops.log_softmax", "tensorflow.nn.log_softmax",
                 "scipy.special.log_softmax", "jax.nn.log_softmax")
ACCURACY = ("robustkeras.evaluate.clean_accuracy", "robustkeras.evaluate.predict_logits",
            "keras.metrics.sparse_categorical_accuracy", "keras.metrics.SparseCategoricalAccuracy",
            "keras.metrics.Accuracy")

CHECKS = [
    Check("q01_softmax", 2, ("softmax",), SOFTMAX, softmax_verdict,
          uses="numpy (or keras.ops / tf arithmetic: exp, max, sum)"),
    Check("q01_cross_entropy", 2, ("cross_entropy",), CROSS_ENTROPY, cross_entropy_verdict,
          uses="numpy (or keras.ops / tf arithmetic: exp, log, max, sum)"),
    Check("q01_train_classifier", 2, ("train_classifier",), (), train_classifier_verdict,
          uses="Keras (keras.optimizers, keras.losses, compile and fit)"),
    Check("q01_accuracy", 2, ("accuracy",), ACCURACY, accuracy_verdict,
          uses="numpy; calling the model on a batch"),
]
