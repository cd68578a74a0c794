# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [raw]
# # ASSIGNMENT CONFIG
# config_file: assign.yaml
# name: 01_classification

# %% [markdown]
# # 01 · Classification
#
# **Goal.** Train a small convolutional classifier on CIFAR-10 with Keras' `fit`, and write
# the three pieces every later stage relies on: the softmax, the per-example cross-entropy
# loss (the quantity an attack increases), and accuracy.
#
# A classifier $f$ maps an image to 10 *logits* $z = f(x)$; the softmax turns them into
# probabilities $p_c = e^{z_c} / \sum_k e^{z_k}$, and training minimises the cross-entropy
# $\ell(x, y) = -\log p_y$ of the true label $y$.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads: no CUDA start-up errors on a CPU

import keras
import matplotlib.pyplot as plt
import numpy as np

from robustkeras import data
from robustkeras.models import get_model

GRADING = os.environ.get("ROBUSTKERAS_GRADING") == "1" or os.path.exists("ROBUSTKERAS_GRADING")
keras.utils.set_random_seed(0)

# %% [raw]
# # BEGIN QUESTION
# name: q01_softmax
# points: 2

# %% [markdown]
# **Exercise 1.** Write `softmax(logits)` in NumPy for a `(N, K)` array. Make it numerically
# stable: $e^{1000}$ overflows, so subtract each row's maximum first (the result does not
# change, because the factor $e^{-\max}$ cancels).

# %% [raw]
# # BEGIN SOLUTION

# %%
def softmax(logits):
    """Row-wise softmax of a (N, K) array of logits."""
    # BEGIN SOLUTION
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_softmax_values(softmax):
    import numpy as np
    p = softmax(np.array([[0.0, 0.0], [0.0, np.log(3.0)]]))
    assert p is not None, "softmax returned None: replace the `...` with your code and `return` the probabilities."
    p = np.asarray(p)
    assert p.shape == (2, 2), f"Expected the input's shape (2, 2). Received {p.shape}."
    assert np.allclose(p, [[0.5, 0.5], [0.25, 0.75]]), f"Expected [[.5, .5], [.25, .75]]. Received {p}: normalise each row."


# %%
def test_softmax_stable(softmax):
    import numpy as np
    p = softmax(np.array([[1000.0, 1001.0, 1002.0]]))
    assert p is not None, "softmax returned None: replace the `...` with your code and `return` the probabilities."
    p = np.asarray(p)
    assert np.all(np.isfinite(p)), "Got inf or nan for large logits: subtract each row's maximum before exp."
    assert np.allclose(p.sum(1), 1.0), "Each row must sum to 1."


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_softmax_own(softmax):
    from unittest import mock
    import numpy as np
    import keras
    z = np.random.default_rng(0).normal(size=(5, 10)) * 4
    expected = np.exp(z - z.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    with mock.patch.object(keras.ops, "softmax", side_effect=AssertionError("write it in numpy")):
        assert np.allclose(softmax(z), expected, atol=1e-6)


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q01_cross_entropy
# points: 2

# %% [markdown]
# **Exercise 2.** Write `cross_entropy(logits, labels)`: the per-example loss
# $-\log p_{y_i}$, an array of shape `(N,)`. Compute it as
# $\log \sum_k e^{z_k} - z_y$ with the same max trick, so it never takes the log of 0.

# %% [raw]
# # BEGIN SOLUTION

# %%
def cross_entropy(logits, labels):
    """Per-example softmax cross-entropy of integer labels."""
    # BEGIN SOLUTION
    z = np.asarray(logits, np.float64)
    m = z.max(axis=1, keepdims=True)
    logsumexp = (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]
    return logsumexp - z[np.arange(len(z)), np.asarray(labels)]
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_uniform_logits(cross_entropy):
    import numpy as np
    loss = cross_entropy(np.zeros((3, 10)), np.array([0, 4, 9]))
    assert loss is not None, "cross_entropy returned None: replace the `...` with your code and `return` one loss per example."
    loss = np.asarray(loss)
    assert loss.shape == (3,), f"Expected one loss per example, shape (3,). Received {loss.shape}."
    assert np.allclose(loss, np.log(10)), f"With equal logits every class has p = 1/10, so the loss is log(10). Received {loss}."


# %%
def test_matches_keras(cross_entropy):
    import numpy as np
    import keras
    z = np.random.default_rng(1).normal(size=(6, 10)).astype(np.float32) * 5
    y = np.array([0, 1, 2, 3, 4, 5])
    expected = np.asarray(keras.losses.sparse_categorical_crossentropy(y, z, from_logits=True))
    loss = cross_entropy(z, y)
    assert loss is not None, "cross_entropy returned None: replace the `...` with your code and `return` one loss per example."
    assert np.allclose(np.asarray(loss), expected, rtol=1e-4, atol=1e-5), "Differs from keras' sparse categorical cross-entropy."
    big = np.array([[2000.0, 0.0]])
    assert np.isfinite(np.asarray(cross_entropy(big, np.array([1])))).all(), "Overflow: use the max trick (log-sum-exp)."


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_cross_entropy_own(cross_entropy):
    from unittest import mock
    import numpy as np
    import keras
    from robustkeras.attacks import losses
    z = np.random.default_rng(2).normal(size=(4, 10))
    y = np.array([3, 1, 4, 1])
    expected = np.log(np.exp(z).sum(1)) - z[np.arange(4), y]
    with mock.patch.object(losses, "cross_entropy", side_effect=AssertionError("write it yourself")), \
         mock.patch.object(keras.ops, "sparse_categorical_crossentropy", side_effect=AssertionError("write it yourself")):
        assert np.allclose(cross_entropy(z, y), expected, atol=1e-6)


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## Training with `fit`
#
# Keras does the rest: `compile` fixes the optimizer, the loss and the metrics; `fit` loops
# over batches, computes gradients with respect to the weights and updates them. Our models
# return logits, so the loss must be told `from_logits=True`.

# %% [raw]
# # BEGIN QUESTION
# name: q01_train_classifier
# points: 2

# %% [markdown]
# **Exercise 3.** Write `train_classifier(model, x, y, *, epochs, batch_size=32, learning_rate=1e-3,
# verbose=1)`: compile `model` with the Adam optimizer,
# `keras.losses.SparseCategoricalCrossentropy(from_logits=True)` and the metric `"accuracy"`, fit it
# on `(x, y)` and return the `History` that `fit` returns. Pass `verbose` on to `fit`: its progress
# bar is how you see a two-minute training run move.

# %% [raw]
# # BEGIN SOLUTION

# %%
def train_classifier(model, x, y, *, epochs, batch_size=32, learning_rate=1e-3, verbose=1):
    """Compile and fit `model` (`verbose` as in `fit`: 1 shows a progress bar); return the History."""
    # BEGIN SOLUTION
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose)
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_tiny_model_learns(train_classifier):
    import numpy as np
    import keras
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((64, 8, 8, 3)).astype(np.float32)
    y = (x[:, :4].mean((1, 2, 3)) > x[:, 4:].mean((1, 2, 3))).astype(np.int32)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    def true_loss():  # the cross-entropy of the model's logits, whatever loss was compiled
        return float(np.mean(keras.losses.sparse_categorical_crossentropy(y, model(x), from_logits=True)))

    before = true_loss()
    history = train_classifier(model, x, y, epochs=15, batch_size=16, learning_rate=1e-2, verbose=0)
    assert history is not None, "train_classifier returned None: `return` what `model.fit` returns (a History)."
    assert isinstance(history, keras.callbacks.History), \
        f"Return what `model.fit` returns (a keras.callbacks.History), not the {type(history).__name__}."
    assert "loss" in history.history and "accuracy" in history.history, \
        f"Compile with metrics=['accuracy']. History keys: {list(history.history)}."
    losses = history.history["loss"]
    assert len(losses) == 15, f"Train for `epochs` epochs. Received {len(losses)}."
    assert isinstance(model.optimizer, keras.optimizers.Adam), \
        f"Compile with the Adam optimizer, keras.optimizers.Adam(learning_rate). Received {type(model.optimizer).__name__}."
    rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    assert np.isclose(rate, 1e-2), f"Pass `learning_rate` on to Adam: asked for 0.01, the optimizer has {rate:g}."
    updates = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    assert updates == 15 * 4, (f"Pass `batch_size` on to fit: 64 images in batches of 16 make 4 updates per epoch, "
                               f"60 in 15 epochs; the optimizer made {updates}.")
    after = true_loss()
    assert after < 0.5 * before, (
        f"The cross-entropy of the model's logits went {before:.3f} -> {after:.3f} on this easy task (the compiled "
        f"loss: {losses[0]:.3f} -> {losses[-1]:.3f}). The model outputs logits, not probabilities: compile "
        "SparseCategoricalCrossentropy(from_logits=True).")


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
if GRADING:
    x_train, y_train = data.load_sample(128)
    epochs = 2
else:  # 5 000 CIFAR-10 training images (the binary cache, or a tfds download on Colab): about 2 minutes
    x_train, y_train = data.load_cifar10("train", limit=5000, as_numpy=True)
    epochs = 4
x_test, y_test = data.load_sample(64 if GRADING else 200)

model = get_model("fastnet_small")
history = train_classifier(model, x_train, y_train, epochs=epochs, batch_size=64, verbose=0 if GRADING else 1)
plt.figure(figsize=(5, 2.5))
plt.plot(history.history["loss"], label="loss")
plt.plot(history.history["accuracy"], label="training accuracy")
plt.xlabel("epoch")
plt.legend()
plt.show()

# %% [raw]
# # BEGIN QUESTION
# name: q01_accuracy
# points: 2

# %% [markdown]
# **Exercise 4.** Write `accuracy(model, x, y, batch_size=256)`: the fraction of images whose
# largest logit is the true label. Call the model in inference mode,
# `model(batch, training=False)`, one batch at a time.

# %% [raw]
# # BEGIN SOLUTION

# %%
def accuracy(model, x, y, batch_size=256):
    """Fraction of `x` that `model` classifies as `y`."""
    # BEGIN SOLUTION
    correct = 0
    for i in range(0, len(x), batch_size):
        logits = np.asarray(model(x[i:i + batch_size], training=False))
        correct += int(np.sum(np.argmax(logits, axis=1) == np.asarray(y[i:i + batch_size])))
    return correct / len(x)
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_accuracy_known(accuracy):
    import numpy as np
    import keras
    # logits = the pixels; the dropout layer only acts in training mode (it zeroes almost everything)
    model = keras.Sequential([keras.Input((2, 1, 1)), keras.layers.Flatten(), keras.layers.Dropout(0.999)])
    x = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], np.float32).reshape(4, 2, 1, 1)
    acc = accuracy(model, x, np.array([0, 1, 1, 1]))
    assert acc is not None, "accuracy returned None: replace the `...` with your code and `return` a fraction."
    assert np.isclose(acc, 0.75), (f"3 of 4 predictions are right: expected 0.75. Received {acc}. This model has "
                                   "dropout: predict in inference mode, model(x, training=False).")
    acc = accuracy(model, x, np.array([0, 1, 1, 1]), batch_size=3)
    assert np.isclose(acc, 0.75), f"With batch_size=3 (a last, smaller batch) expected 0.75. Received {acc}."


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_accuracy_own(accuracy):
    from unittest import mock
    import numpy as np
    import keras
    from robustkeras import evaluate
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    x = np.random.default_rng(3).random((40, 4, 4, 3)).astype(np.float32)
    y = np.random.default_rng(4).integers(0, 10, 40)
    expected = float(np.mean(np.argmax(np.asarray(model(x)), 1) == y))
    with mock.patch.object(evaluate, "clean_accuracy", side_effect=AssertionError("write it yourself")), \
         mock.patch.object(evaluate, "predict_logits", side_effect=AssertionError("write it yourself")):
        assert np.isclose(accuracy(model, x, y, batch_size=16), expected)


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
print(f"training accuracy {accuracy(model, x_train, y_train):.2f} | test accuracy {accuracy(model, x_test, y_test):.2f}")
probs = softmax(np.asarray(model(x_test[:8], training=False)))
from robustkeras.plotting import image_grid

image_grid([image[None] for image in x_test[:8]], scale=1.4,
           column_titles=[f"{data.CLASSES[p.argmax()]} {p.max():.0%} (true: {data.CLASSES[label]})"
                          for p, label in zip(probs, y_test[:8])])
plt.show()

# %% [markdown]
# A model trained for two minutes on a CPU gets about 40 % of the test images right
# (measured: training accuracy 0.55, test accuracy 0.40 on the 200 sample images);
# the models the later stages load (`robustkeras.pretrained`) were trained longer on all
# 50 000 images with `robustkeras train`.
#
# ## Summary
#
# * Logits -> softmax -> probabilities; training minimises the cross-entropy $-\log p_y$.
# * Compute both with the max (log-sum-exp) trick so large logits do not overflow.
# * `compile` + `fit` train a Keras model; evaluate in inference mode (`training=False`).
#
# ## Further research
#
# * Plot test accuracy against the number of training images (1 000, 2 000, 5 000,
#   10 000) at a fixed number of epochs. Where does more data stop helping?
# * Add data augmentation (`keras.layers.RandomFlip`, `RandomTranslation`) in front of the
#   model. Does it help with 5 000 images?
# * Replace `fastnet_small` with a plain `keras.Sequential` CNN of your own and compare.
#
# Next: **02 · Adversarial examples**, where the same cross-entropy is *maximised* with
# respect to the input image instead of minimised with respect to the weights.
