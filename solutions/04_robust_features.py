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
# name: 04_robust_features

# %% [markdown]
# # 04 · Robust features
#
# **Goal.** See why one robust classifier is enough for image synthesis. A standard model's
# input gradients look like noise: it relies on features humans cannot see, so following
# its gradient produces adversarial noise. A robust model cannot rely on such features
# (they are exactly what an $\varepsilon$-ball attack changes), so its gradients point
# along changes that humans *perceive* as the class (Tsipras et al. 2019; Santurkar et al.
# 2019). You will compute class gradients, display them, and push images towards a class
# far outside the usual $\varepsilon$, for a standard and a robust model side by side.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads: no CUDA start-up errors on a CPU

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from robustkeras import data, pretrained
from robustkeras.attacks import L2Step

GRADING = os.environ.get("ROBUSTKERAS_GRADING") == "1" or os.path.exists("ROBUSTKERAS_GRADING")
x, y = data.load_sample(8 if GRADING else 16)
models = {"standard": pretrained.load("fastnet_standard"), "robust": pretrained.load("fastnet_l2_robust")}

# %% [raw]
# # BEGIN QUESTION
# name: q04_class_gradient
# points: 2

# %% [markdown]
# **Exercise 1.** Write `class_gradient(model, x, classes)`: for each image `x[i]`, the
# gradient of the logit of class `classes[i]` with respect to the image (shape like `x`,
# NumPy). Gather each image's own logit (e.g. `tf.gather(logits, classes, batch_dims=1)`),
# sum over the batch, and differentiate with `tf.GradientTape`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def class_gradient(model, x, classes):
    """d logit[classes[i]] / d x[i], shaped like x."""
    # BEGIN SOLUTION
    x = tf.convert_to_tensor(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = model(x, training=False)
        chosen = tf.gather(logits, tf.convert_to_tensor(classes, tf.int32), batch_dims=1)
        total = tf.reduce_sum(chosen)
    return tape.gradient(total, x).numpy()
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_linear_model(class_gradient):
    import numpy as np
    import keras
    w = np.random.default_rng(0).normal(size=(12, 10)).astype(np.float32)
    model = keras.Sequential([keras.Input((2, 2, 3)), keras.layers.Flatten(), keras.layers.Dense(10, use_bias=False)])
    model.layers[-1].set_weights([w])
    x = np.random.default_rng(1).random((3, 2, 2, 3)).astype(np.float32)
    g = class_gradient(model, x, np.array([2, 7, 2]))
    assert g is not None, "class_gradient returned None: replace the `...` with your code and `return` the result."
    g = np.asarray(g)
    assert g.shape == x.shape, f"Expected a gradient shaped like x {x.shape}. Received {g.shape}."
    expected = w[:, [2, 7, 2]].T.reshape(x.shape)
    assert np.allclose(g, expected, atol=1e-5), \
        "For logits = W x the gradient of logit c is column c of W: take each image's own class logit, not the sum of all logits."


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_own_gradient(class_gradient):
    from unittest import mock
    import numpy as np
    import keras
    from robustkeras import backend
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(3, 3), keras.layers.Flatten(), keras.layers.Dense(10)])
    x = np.random.default_rng(2).random((2, 4, 4, 3)).astype(np.float32)
    with mock.patch.object(backend, "value_and_input_grad", side_effect=AssertionError("write it yourself")):
        g = class_gradient(model, x, np.array([1, 4]))
        assert g is not None, "class_gradient returned None: replace the `...` with your code and `return` the result."
        g = np.asarray(g)
    e = np.zeros_like(x)
    e[0, 1, 2, 0] = 1e-2
    fd = (float(model(x + e)[0, 1]) - float(model(x - e)[0, 1])) / 2e-2
    assert abs(fd - g[0, 1, 2, 0]) <= 1e-2 * max(abs(fd), 1e-3) + 1e-3


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q04_to_display
# points: 2

# %% [markdown]
# **Exercise 2.** Gradients are signed and tiny. Write `to_display(g)`: per image, map
# `g` to $[0, 1]$ as $0.5 + 0.5\, g / \max|g|$ (the maximum over that image's pixels and
# channels), so 0 is grey and the sign is kept; an all-zero gradient becomes all 0.5.

# %% [raw]
# # BEGIN SOLUTION

# %%
def to_display(g):
    """Per-image symmetric scaling of a gradient to [0, 1] (0 -> grey)."""
    # BEGIN SOLUTION
    g = np.asarray(g, np.float32)
    scale = np.abs(g).max(axis=(1, 2, 3), keepdims=True)
    return 0.5 + 0.5 * g / np.maximum(scale, 1e-12)
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_display_values(to_display):
    import numpy as np
    g = np.zeros((2, 1, 2, 1), np.float32)
    g[0, 0, :, 0] = [2.0, -1.0]
    g[1, 0, :, 0] = [0.1, 0.05]
    out = to_display(g)
    assert out is not None, "to_display returned None: replace the `...` with your code and `return` the result."
    out = np.asarray(out)
    assert out.shape == g.shape, f"Expected shape {g.shape}. Received {out.shape}."
    assert np.allclose(out[0].ravel(), [1.0, 0.25]), f"0.5 + 0.5 * g / max|g| per image: expected [1, 0.25]. Received {out[0].ravel()}."
    assert np.allclose(out[1].ravel(), [1.0, 0.75]), "Scale each image by its own max |g|."
    zero = np.asarray(to_display(np.zeros((1, 2, 2, 3))))
    assert np.allclose(zero, 0.5), "An all-zero gradient must give grey (0.5), not nan: guard the division."


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
from robustkeras.plotting import image_grid

grads = {name: to_display(class_gradient(m, x[:8], y[:8])) for name, m in models.items()}
image_grid([np.stack(column) for column in zip(x[:8], grads["standard"], grads["robust"])],
           column_titles=[data.CLASSES[c] for c in y[:8]], row_labels=["image", "standard", "robust"],
           title="gradient of the true class's logit")
plt.show()

# %% [markdown]
# The standard model's gradient is high-frequency speckle; the robust model's gradient
# follows edges and object shapes. Now follow these gradients for many steps, with a budget
# far larger than an attack's: $\varepsilon = 10$ instead of $0.5$.

# %% [raw]
# # BEGIN QUESTION
# name: q04_towards_class
# points: 3

# %% [markdown]
# **Exercise 3.** Write `towards_class(model, x, targets, *, eps, steps)`: targeted $L_2$
# PGD that *increases* $\log p(\text{target} \mid x)$ (the negative cross-entropy of the
# targets), from the clean images, with step size $2.5\,\varepsilon/\text{steps}$. Use
# `rule = L2Step(eps, step_size)` for the step and the projection onto the ball around
# `x`, and `tf.GradientTape` for the gradient. Return NumPy images.

# %% [raw]
# # BEGIN SOLUTION

# %%
def towards_class(model, x, targets, *, eps, steps):
    """Targeted L2 PGD: raise log p(targets | x) inside the eps-ball around x."""
    # BEGIN SOLUTION
    rule = L2Step(eps, 2.5 * eps / steps)
    x0 = tf.convert_to_tensor(x, tf.float32)
    x_adv = x0
    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(x_adv)
            log_p = -keras.losses.sparse_categorical_crossentropy(targets, model(x_adv, training=False), from_logits=True)
            total = tf.reduce_sum(log_p)
        x_adv = rule.project(rule.step(x_adv, tape.gradient(total, x_adv)), x0)
    return np.asarray(x_adv)
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_targeted_properties(towards_class):
    import numpy as np
    import keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Flatten(), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(10)])
    x = np.random.default_rng(0).random((6, 6, 6, 3)).astype(np.float32)
    targets = np.array([3, 3, 3, 7, 7, 7])
    out = towards_class(model, x, targets, eps=1.0, steps=5)
    assert out is not None, "towards_class returned None: `return` the images (a NumPy array)."
    out = np.asarray(out)
    assert out.shape == x.shape, f"Expected shape {x.shape}. Received {out.shape}."
    d = np.linalg.norm((out - x).reshape(6, -1), axis=1)
    assert np.all(d <= 1.0 + 1e-4) and out.min() >= 0 and out.max() <= 1, "Stay inside the L2 ball around x and in [0, 1]."
    p = lambda t: keras.ops.softmax(model(t)).numpy()[np.arange(6), targets]
    assert np.all(p(out) > p(x)), "The target's probability must rise: step *up* the log-probability (targeted = minus the cross-entropy)."
    # one step from images away from 0 and 1: an L2 step moves along the gradient itself
    import tensorflow as tf
    mid = (0.3 + 0.4 * x).astype(np.float32)
    t = tf.constant(mid)
    with tf.GradientTape() as tape:
        tape.watch(t)
        log_p = tf.reduce_sum(-keras.losses.sparse_categorical_crossentropy(targets, model(t), from_logits=True))
    g = tape.gradient(log_p, t).numpy().reshape(6, -1)
    moved = (np.asarray(towards_class(model, mid, targets, eps=0.05, steps=1)) - mid).reshape(6, -1)
    cosine = np.sum(moved * g, 1) / (np.linalg.norm(moved, axis=1) * np.linalg.norm(g, axis=1) + 1e-12)
    assert np.all(cosine > 0.999), (
        f"One L2 step should move along the gradient (cosine 1). Received cosines {np.round(cosine, 3)}: the sign of the "
        "gradient is the L-inf step; for L2 step along grad / ||grad||_2 (rule.step of L2Step).")


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_targeted_own_and_strong(towards_class):
    from unittest import mock
    import numpy as np
    import keras
    from robustkeras import attacks
    import importlib
    pgd_module = importlib.import_module("robustkeras.attacks.pgd")
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    x = np.random.default_rng(1).random((4, 6, 6, 3)).astype(np.float32)
    y = np.asarray(model(x)).argmax(1)  # y is always the true label (here: the model's own); the target goes in target=
    targets = (y + 1) % 10  # every attack refuses a target equal to the true label
    ref = attacks.pgd(model, x, y, norm="l2", eps=1.0, step_size=0.5, steps=5, target=targets, random_start=False)
    boom = AssertionError("write the loop yourself")
    with mock.patch.object(pgd_module, "pgd_loop", side_effect=boom), mock.patch.object(attacks, "pgd", side_effect=boom):
        out = towards_class(model, x, targets, eps=1.0, steps=5)
        assert out is not None, "towards_class returned None: replace the `...` with your code and `return` the result."
        out = np.asarray(out)
    lp = lambda t: -keras.losses.sparse_categorical_crossentropy(targets, model(t), from_logits=True).numpy()
    assert lp(out).mean() >= lp(ref).mean() - 0.05 * abs(lp(ref).mean())


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
eps, steps = 10.0, (8 if GRADING else 40)
targets = (y[:8] + 1) % 10
moved = {name: towards_class(m, x[:8], targets, eps=eps, steps=steps) for name, m in models.items()}
image_grid([np.stack(column) for column in zip(x[:8], moved["standard"], moved["robust"])],
           column_titles=[f"{data.CLASSES[a]} -> {data.CLASSES[b]}" for a, b in zip(y[:8], targets)],
           row_labels=["image", "standard", "robust"], title=f"targeted L2 PGD, eps = {eps:g}")
plt.show()

# %% [markdown]
# With the same budget, the standard model's images become noisy versions of the originals
# that it nevertheless classifies as the target; the robust model's images start to show
# parts of the target class. That is the whole idea of the next stages: each synthesis task
# is this same projected gradient ascent with a task-specific objective, constraint set and
# start point (`robustkeras.synthesis.optimize`).
#
# ## Summary
#
# * Input gradients of a standard model are not perceptually aligned; a robust model's are.
# * Display signed gradients symmetrically around grey.
# * Large-$\varepsilon$ targeted PGD on a robust model changes what the image *shows*.
#
# ## Further research
#
# * Show the robust model's gradient towards a *wrong* class (cat on a truck image). Does
#   it still look like the image, or like the other class?
# * Repeat the targeted large-$\varepsilon$ PGD with $\varepsilon \in \{2, 5, 20\}$. At
#   which radius does the robust model's image start to show the target class?
# * SmoothGrad: average the standard model's gradient over 20 noisy copies of the image.
#   Does it look more like the robust model's?
#
# Next: **05 · Generation**: start from a class-typical seed and follow the robust gradient.
