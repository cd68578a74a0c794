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
# name: 02_adversarial_examples

# %% [markdown]
# # 02 · Adversarial examples
#
# **Goal.** Fool a well-trained classifier with changes you can barely see. You will compute
# the gradient of the loss with respect to the *input* with `tf.GradientTape`, take one
# signed step (FGSM, Goodfellow et al. 2015), then write projected gradient descent (PGD,
# Madry et al. 2018) for the $L_\infty$ and $L_2$ threat models.
#
# The attacker solves $\max_{\|\delta\| \le \varepsilon} \ell(f(x + \delta), y)$ with
# $x + \delta \in [0, 1]$: increase the loss while staying inside the $\varepsilon$-ball
# around the clean image.

# %%
import os

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from robustkeras import data, pretrained

GRADING = os.environ.get("ROBUSTKERAS_GRADING") == "1" or os.path.exists("ROBUSTKERAS_GRADING")
x, y = data.load_sample(32 if GRADING else 200)
standard = pretrained.load("fastnet_standard")  # a standard (non-robust) classifier


def accuracy(model, images, labels):
    return float(np.mean(np.argmax(np.asarray(model(images, training=False)), 1) == labels))


print(f"clean accuracy of the standard model: {accuracy(standard, x, y):.2f}")

# %% [raw]
# # BEGIN QUESTION
# name: q02_input_gradient
# points: 3

# %% [markdown]
# **Exercise 1.** Write `input_gradient(model, x, y)`: the gradient, with respect to the
# images `x`, of the *summed* cross-entropy of the logits `model(x, training=False)` and the
# labels `y`. Use `tf.GradientTape`: convert `x` to a `float32` tensor, `tape.watch` it
# (it is not a variable), compute the loss inside the `with` block, and return the gradient
# as a NumPy array shaped like `x`.
#
# Why the sum? Each image's loss depends only on its own pixels, so the gradient of the sum
# holds every image's own gradient.

# %% [raw]
# # BEGIN SOLUTION

# %%
def input_gradient(model, x, y):
    """d(sum of cross-entropies)/dx, shaped like x."""
    # BEGIN SOLUTION
    x = tf.convert_to_tensor(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = model(x, training=False)
        loss = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
    return tape.gradient(loss, x).numpy()
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_linear_model_gradient(input_gradient):
    import numpy as np
    import keras
    rng = np.random.default_rng(0)
    w = rng.normal(size=(12, 10)).astype(np.float32)
    model = keras.Sequential([keras.Input((2, 2, 3)), keras.layers.Flatten(), keras.layers.Dense(10, use_bias=False)])
    model.layers[-1].set_weights([w])
    x = rng.random((3, 2, 2, 3)).astype(np.float32)
    y = np.array([1, 5, 9])
    z = x.reshape(3, 12) @ w
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = ((p - np.eye(10)[y]) @ w.T).reshape(x.shape)
    g = np.asarray(input_gradient(model, x, y))
    assert g.shape == x.shape, f"Return a gradient shaped like x {x.shape}. Received {g.shape}."
    assert np.allclose(g, expected, atol=1e-4), \
        "Wrong gradient on a linear model (analytic answer W (softmax - onehot)). Cross-entropy from logits, summed over the batch?"


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_gradient_own(input_gradient):
    from unittest import mock
    import numpy as np
    import keras
    from robustkeras import backend
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(), keras.layers.Dense(10)])
    x = np.random.default_rng(1).random((2, 4, 4, 3)).astype(np.float32)
    y = np.array([0, 3])
    with mock.patch.object(backend, "value_and_input_grad", side_effect=AssertionError("write it yourself")):
        g = np.asarray(input_gradient(model, x, y))
    # central finite differences on one pixel
    def loss(t):
        return float(np.sum(keras.losses.sparse_categorical_crossentropy(y, model(t), from_logits=True)))
    e = np.zeros_like(x)
    e[1, 2, 1, 0] = 1e-2
    fd = (loss(x + e) - loss(x - e)) / 2e-2
    assert abs(fd - g[1, 2, 1, 0]) <= 1e-2 * max(abs(fd), 1e-3) + 1e-3


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q02_fgsm
# points: 2

# %% [markdown]
# **Exercise 2.** The fast gradient sign method takes one step of size $\varepsilon$ along
# the sign of the gradient, the best single step for an $L_\infty$ budget:
# $x' = \mathrm{clip}_{[0,1]}\big(x + \varepsilon\,\mathrm{sign}(\nabla_x \ell)\big)$.
# Write `fgsm(model, x, y, eps)` with your `input_gradient`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def fgsm(model, x, y, eps):
    """One signed gradient step of size eps, clipped to [0, 1]."""
    # BEGIN SOLUTION
    g = input_gradient(model, x, y)
    return np.clip(np.asarray(x) + eps * np.sign(g), 0.0, 1.0).astype(np.float32)
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_fgsm_properties(fgsm):
    import numpy as np
    import keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    x = np.random.default_rng(0).random((4, 4, 4, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 3])
    eps = 0.05
    adv = np.asarray(fgsm(model, x, y, eps))
    assert adv.shape == x.shape, f"Expected shape {x.shape}. Received {adv.shape}."
    assert adv.min() >= 0 and adv.max() <= 1, "Clip the result to [0, 1]."
    assert np.abs(adv - x).max() <= eps + 1e-6, "Each pixel may move by at most eps."
    inside = (x > eps) & (x < 1 - eps)
    assert np.allclose(np.abs(adv - x)[inside], eps, atol=1e-5), "Away from 0 and 1 every pixel moves by exactly eps (the sign step)."
    ce = lambda t: keras.losses.sparse_categorical_crossentropy(y, model(t), from_logits=True).numpy()
    assert np.all(ce(adv) > ce(x)), "FGSM must increase the loss of every image: step along +sign(gradient)."


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
eps_linf = 8 / 255
x_fgsm = fgsm(standard, x, y, eps_linf)
print(f"accuracy under FGSM (Linf, eps = 8/255): {accuracy(standard, x_fgsm, y):.2f}")

# %% [markdown]
# ## Projected gradient descent
#
# One step is a weak attack. PGD takes many smaller steps and, after each, *projects* back
# onto the allowed set: the $\varepsilon$-ball around $x_0$ intersected with the image box
# $[0, 1]$. Each threat model has its own step and projection:
#
# | | step | projection of $x$ onto the ball around $x_0$ |
# |---|---|---|
# | $L_\infty$ | $x + \alpha\, \mathrm{sign}(g)$ | clip $x - x_0$ to $[-\varepsilon, \varepsilon]$ per pixel |
# | $L_2$ | $x + \alpha\, g / \|g\|_2$ | scale $x - x_0$ by $\min(1, \varepsilon / \|x - x_0\|_2)$ |
#
# In both cases clip the result to $[0, 1]$ afterwards (norms are per image).

# %% [raw]
# # BEGIN QUESTION
# name: q02_projections
# points: 3

# %% [markdown]
# **Exercise 3.** Write `project_linf(x, x0, eps)` and `project_l2(x, x0, eps)` for batches
# of shape `(N, H, W, C)` (NumPy in, NumPy out). Guard the $L_2$ division against a zero norm
# (add `1e-12`).

# %% [raw]
# # BEGIN SOLUTION

# %%
def project_linf(x, x0, eps):
    """Project x onto the L-infinity ball of radius eps around x0, then onto [0, 1]."""
    # BEGIN SOLUTION
    return np.clip(x0 + np.clip(x - x0, -eps, eps), 0.0, 1.0)
    # END SOLUTION


def project_l2(x, x0, eps):
    """Project x onto the L2 ball of radius eps around x0 (per image), then onto [0, 1]."""
    # BEGIN SOLUTION
    delta = x - x0
    norms = np.sqrt(np.sum(delta ** 2, axis=(1, 2, 3), keepdims=True))
    return np.clip(x0 + delta * np.minimum(1.0, eps / (norms + 1e-12)), 0.0, 1.0)
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_linf_projection(project_linf):
    import numpy as np
    x0 = np.full((1, 1, 1, 3), 0.5, np.float32)
    x = np.array([0.55, 0.9, 0.0], np.float32).reshape(1, 1, 1, 3)
    out = np.asarray(project_linf(x, x0, 0.1))
    assert np.allclose(out.ravel(), [0.55, 0.6, 0.4]), f"Expected [0.55, 0.6, 0.4] (inside unchanged, outside clipped). Received {out.ravel()}."
    out = np.asarray(project_linf(np.full((1, 1, 1, 3), 1.5, np.float32), np.ones((1, 1, 1, 3), np.float32), 1.0))
    assert out.max() <= 1.0, "Clip to the image box [0, 1] after the ball."


# %%
def test_l2_projection(project_l2):
    import numpy as np
    x0 = np.full((2, 2, 2, 1), 0.5, np.float32)
    x = x0.copy()
    x[0, 0, 0, 0] = 0.8    # norm 0.3: outside a ball of 0.1
    x[1, 1, 1, 0] = 0.55   # norm 0.05: inside
    out = np.asarray(project_l2(x, x0, 0.1))
    assert out.shape == x.shape, f"Expected shape {x.shape}. Received {out.shape}."
    assert np.isclose(out[0, 0, 0, 0], 0.6, atol=1e-5), f"An outside point moves to the sphere along x - x0: expected 0.6. Received {out[0, 0, 0, 0]}."
    assert np.allclose(out[1], x[1]), "A point inside the ball must not move."
    assert np.all(np.isfinite(np.asarray(project_l2(x0, x0, 0.1)))), "x == x0 gave nan: add 1e-12 to the norm."


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_projections_match_library_without_it(project_linf, project_l2):
    from unittest import mock
    import numpy as np
    from robustkeras.attacks import steps
    rng = np.random.default_rng(5)
    x0 = rng.random((4, 5, 5, 3)).astype(np.float32)
    x = np.clip(x0 + rng.normal(0, 0.3, x0.shape), -0.5, 1.5).astype(np.float32)
    ref_l2 = np.asarray(steps.L2Step(0.7, 0.1).project(x, x0))
    ref_linf = np.asarray(steps.LinfStep(0.05, 0.01).project(x, x0))
    with mock.patch.object(steps.L2Step, "project", side_effect=AssertionError("write it yourself")), \
         mock.patch.object(steps.LinfStep, "project", side_effect=AssertionError("write it yourself")):
        assert np.allclose(np.asarray(project_l2(x, x0, 0.7)), ref_l2, atol=1e-5)
        assert np.allclose(np.asarray(project_linf(x, x0, 0.05)), ref_linf, atol=1e-6)


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q02_pgd
# points: 4

# %% [markdown]
# **Exercise 4.** Write `pgd_step(x, grad, step_size, norm)` (the step column of the table;
# for $L_2$ divide by each image's gradient norm plus `1e-12`) and
# `pgd_attack(model, x, y, *, norm, eps, step_size, steps)`: start at $x_0 = x$, and `steps`
# times compute `input_gradient`, step, and project with the projection of `norm`
# (`"linf"` or `"l2"`). Return the final images as a `float32` NumPy array.

# %% [raw]
# # BEGIN SOLUTION

# %%
def pgd_step(x, grad, step_size, norm):
    """One steepest-ascent step for the given norm."""
    # BEGIN SOLUTION
    if norm == "linf":
        return x + step_size * np.sign(grad)
    norms = np.sqrt(np.sum(grad ** 2, axis=(1, 2, 3), keepdims=True))
    return x + step_size * grad / (norms + 1e-12)
    # END SOLUTION


def pgd_attack(model, x, y, *, norm, eps, step_size, steps):
    """PGD from the clean images, `steps` projected steps."""
    # BEGIN SOLUTION
    project = project_linf if norm == "linf" else project_l2
    x0 = np.asarray(x, np.float32)
    x_adv = x0.copy()
    for _ in range(steps):
        g = input_gradient(model, x_adv, y)
        x_adv = project(pgd_step(x_adv, g, step_size, norm), x0, eps).astype(np.float32)
    return x_adv
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_step_rules(pgd_step):
    import numpy as np
    x = np.zeros((1, 1, 2, 1), np.float32)
    g = np.array([3.0, -4.0], np.float32).reshape(1, 1, 2, 1)
    out = np.asarray(pgd_step(x, g, 0.5, "linf")).ravel()
    assert np.allclose(out, [0.5, -0.5]), f"Linf step: x + step_size * sign(grad). Received {out}."
    out = np.asarray(pgd_step(x, g, 0.5, "l2")).ravel()
    assert np.allclose(out, [0.3, -0.4]), f"L2 step: x + step_size * grad / ||grad||_2 (here ||grad|| = 5). Received {out}."


# %%
def test_pgd_properties(pgd_attack):
    import numpy as np
    import keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Flatten(), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(10)])
    x = np.random.default_rng(0).random((8, 6, 6, 3)).astype(np.float32)
    y = np.arange(8) % 10
    ce = lambda t: keras.losses.sparse_categorical_crossentropy(y, model(t), from_logits=True).numpy()
    for norm, eps in (("l2", 0.5), ("linf", 0.03)):
        adv = np.asarray(pgd_attack(model, x, y, norm=norm, eps=eps, step_size=eps / 4, steps=8))
        assert adv.shape == x.shape, f"Expected shape {x.shape}. Received {adv.shape}."
        assert adv.min() >= 0 and adv.max() <= 1, f"{norm}: the result must stay in [0, 1]."
        d = (adv - x).reshape(8, -1)
        size = np.linalg.norm(d, axis=1) if norm == "l2" else np.abs(d).max(1)
        assert np.all(size <= eps + 1e-4), f"{norm}: the result left the eps-ball (max norm {size.max():.4f} > {eps}). Project after every step."
        noise = np.random.default_rng(1).normal(size=x.shape).astype(np.float32)
        noise = noise / np.linalg.norm(noise.reshape(8, -1), axis=1).reshape(8, 1, 1, 1) * eps if norm == "l2" else np.sign(noise) * eps
        assert ce(adv).mean() > ce(np.clip(x + noise, 0, 1)).mean(), f"{norm}: PGD should beat random noise of the same size."
        assert np.all(ce(adv) >= ce(x) - 1e-5), f"{norm}: PGD must not decrease any image's loss."


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_pgd_own_and_as_strong_as_library(pgd_attack):
    from unittest import mock
    import numpy as np
    import keras
    from robustkeras import attacks, backend
    import importlib
    from robustkeras.attacks import steps
    pgd_module = importlib.import_module("robustkeras.attacks.pgd")
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    x = np.random.default_rng(2).random((6, 6, 6, 3)).astype(np.float32)
    y = np.arange(6)
    ref = attacks.pgd(model, x, y, norm="l2", eps=0.4, step_size=0.1, steps=6, random_start=False)
    boom = AssertionError("write the attack yourself")
    with mock.patch.object(pgd_module, "pgd_loop", side_effect=boom), mock.patch.object(attacks, "pgd", side_effect=boom), \
         mock.patch.object(steps.L2Step, "step", side_effect=boom), mock.patch.object(steps.L2Step, "project", side_effect=boom), \
         mock.patch.object(backend, "value_and_input_grad", side_effect=boom):
        adv = np.asarray(pgd_attack(model, x, y, norm="l2", eps=0.4, step_size=0.1, steps=6))
    ce = lambda t: keras.losses.sparse_categorical_crossentropy(y, model(t), from_logits=True).numpy()
    assert ce(adv).mean() >= 0.95 * ce(ref).mean()


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
steps = 3 if GRADING else 20
x_pgd_linf = pgd_attack(standard, x, y, norm="linf", eps=eps_linf, step_size=2.5 * eps_linf / steps, steps=steps)
x_pgd_l2 = pgd_attack(standard, x, y, norm="l2", eps=0.5, step_size=2.5 * 0.5 / steps, steps=steps)
print(f"accuracy: clean {accuracy(standard, x, y):.2f} | FGSM {accuracy(standard, x_fgsm, y):.2f} | "
      f"PGD-{steps} Linf 8/255 {accuracy(standard, x_pgd_linf, y):.2f} | PGD-{steps} L2 0.5 {accuracy(standard, x_pgd_l2, y):.2f}")

# %%
pred = np.argmax(np.asarray(standard(x_pgd_l2, training=False)), 1)
fig, axes = plt.subplots(3, 6, figsize=(10, 5.2))
for j in range(6):
    axes[0, j].imshow(x[j])
    axes[0, j].set_title(data.CLASSES[y[j]], fontsize=8)
    axes[1, j].imshow(x_pgd_l2[j])
    axes[1, j].set_title(f"-> {data.CLASSES[pred[j]]}", fontsize=8)
    axes[2, j].imshow(np.clip(0.5 + 5 * (x_pgd_l2[j] - x[j]), 0, 1))
for ax in axes.ravel():
    ax.axis("off")
axes[0, 0].set_ylabel("clean")
fig.suptitle("clean / L2 adversarial (eps = 0.5) / perturbation x5")
plt.show()

# %% [markdown]
# The perturbations look like structured noise, and the standard model's accuracy collapses.
# A model trained *on* such examples behaves differently; the next stage trains one, and
# here is a preview with the robust model the course ships:

# %%
robust = pretrained.load("fastnet_l2_robust")
x_robust_adv = pgd_attack(robust, x, y, norm="l2", eps=0.5, step_size=2.5 * 0.5 / steps, steps=steps)
print(f"robust model: clean {accuracy(robust, x, y):.2f} | PGD-{steps} L2 0.5 {accuracy(robust, x_robust_adv, y):.2f}")

# %% [markdown]
# ## Summary
#
# * `tf.GradientTape` with `tape.watch(x)` gives the gradient of the loss with respect to the
#   input; the model runs with `training=False` so batch-norm statistics stay fixed.
# * FGSM: one signed step of size $\varepsilon$. PGD: many steps, each followed by the
#   projection onto the $\varepsilon$-ball and the image box.
# * $L_\infty$ steps use the gradient's sign, $L_2$ steps its direction; the projections clip
#   per pixel or rescale per image. `robustkeras.attacks.pgd` is the batched, compiled
#   version of your loop, with random starts and restarts.
#
# Next: **03 · Adversarial training**: train on PGD examples by writing a custom `train_step`.
