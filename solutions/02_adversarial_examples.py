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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads: no CUDA start-up errors on a CPU

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from robustkeras import data, pretrained

GRADING = os.environ.get("ROBUSTKERAS_GRADING") == "1" or os.path.exists("ROBUSTKERAS_GRADING")
x, y = data.load_sample(32 if GRADING else 64)  # your attack loop runs eagerly: 64 images keep it quick
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
    model = keras.Sequential([keras.Input((2, 2, 3)), keras.layers.Flatten(), keras.layers.Dropout(0.5),  # identity at inference
                              keras.layers.Dense(10, use_bias=False)])
    model.layers[-1].set_weights([w])
    x = rng.random((3, 2, 2, 3)).astype(np.float32)
    y = np.array([1, 5, 9])
    z = x.reshape(3, 12) @ w
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = ((p - np.eye(10)[y]) @ w.T).reshape(x.shape)
    unwatched = ("tape.gradient gave None: the tape records a plain tensor only after `tape.watch(x)` (x is not a "
                 "Variable); watch it before calling the model, inside the `with` block.")
    try:
        g = input_gradient(model, x, y)
    except AttributeError as error:
        if "NoneType" in str(error):
            raise AssertionError(unwatched) from None
        raise
    assert g is not None, "input_gradient returned None: " + unwatched + " (Or replace the `...` and `return` the gradient.)"
    g = np.asarray(g)
    assert g.dtype != object, unwatched
    assert g.shape == x.shape, f"Return a gradient shaped like x {x.shape}. Received {g.shape}."
    assert np.allclose(g, expected, atol=1e-4), \
        ("Wrong gradient on a linear model (analytic answer W (softmax - onehot)). Cross-entropy from logits, summed over "
         "the batch, with the model in inference mode (model(x, training=False): this model has dropout)?")


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
        g = input_gradient(model, x, y)
        assert g is not None, "input_gradient returned None: replace the `...` with your code and `return` the result."
        g = np.asarray(g)
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

# %% [markdown]
# ### Gradient check
#
# Before building on a gradient, compare it with finite differences, as in cs231n: for a
# few pixels $i$, $\partial \ell / \partial x_i \approx \big(\ell(x + h e_i) - \ell(x - h e_i)\big) / 2h$,
# and report the relative error $\max_i |a_i - n_i| / \max(10^{-8}, |a_i| + |n_i|)$. The
# model here is small and smooth (`tanh`, no ReLU kinks for $h$ to step over).
#
# **Expected:** relative error below `1e-3` (about `3e-4`). Your gradient is float32, so
# `1e-6`, the float64 target, is out of reach: float32 rounding of the loss (about
# $10^{-7}$ relative) divided by $h = 10^{-2}$ sets the floor. A wrong gradient gives 0.1 or
# more (a mean instead of a sum over 4 images: 0.6; the wrong sign: 1.0).

# %%
def rel_error(a, b):
    """Largest relative error between two arrays (cs231n's definition)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def gradient_check(gradient_fn, *, pixels=10, h=1e-2, seed=0):
    """Relative error between `gradient_fn(model, x, y)` and central differences on a tiny model."""
    keras.utils.set_random_seed(seed)
    tiny = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
                             keras.layers.Dense(32, activation="tanh"), keras.layers.Dense(10)])
    rng = np.random.default_rng(seed)
    xs, ys = rng.random((4, 8, 8, 3)).astype(np.float32), np.array([0, 3, 5, 9])

    def loss(t):
        logits = tiny(t, training=False)
        return float(np.sum(keras.losses.sparse_categorical_crossentropy(ys, logits, from_logits=True)))

    analytic = np.asarray(gradient_fn(tiny, xs, ys))
    picks = [tuple(rng.integers(0, s) for s in xs.shape) for _ in range(pixels)]
    numeric = []
    for i in picks:
        e = np.zeros_like(xs)
        e[i] = h
        numeric.append((loss(xs + e) - loss(xs - e)) / (2 * h))
    return rel_error([analytic[i] for i in picks], numeric)


print(f"relative error of your input gradient: {gradient_check(input_gradient):.1e}  (expected < 1e-3)")

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
    adv = fgsm(model, x, y, eps)
    assert adv is not None, "fgsm returned None: `return` the adversarial images."
    adv = np.asarray(adv)
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

# %% [markdown]
# **Expected** on these 64 images: clean accuracy 0.80, under FGSM about 0.02 (one image).

# %%
eps_linf = 8 / 255
x_fgsm = fgsm(standard, x, y, eps_linf)
print(f"accuracy under FGSM (Linf, eps = 8/255): {accuracy(standard, x_fgsm, y):.2f}")

# %% [raw]
# # BEGIN QUESTION
# name: q02_why_sign
# manual: true
# points: 1

# %% [markdown]
# **Question (written, graded by hand).** Among all perturbations $\delta$ with
# $\|\delta\|_\infty \le \varepsilon$, which one increases the *linearised* loss
# $\ell(x) + \nabla_x \ell^\top \delta$ the most, and by how much? Why is the signed step
# therefore the best single $L_\infty$ step, and what would the best single $L_2$ step be?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# $\nabla_x \ell^\top \delta = \sum_i g_i \delta_i$ and each $\delta_i$ ranges over
# $[-\varepsilon, \varepsilon]$ independently, so each term is largest at
# $\delta_i = \varepsilon\, \mathrm{sign}(g_i)$: the maximum is $\varepsilon \|g\|_1$ (the dual
# norm of $L_\infty$ is $L_1$). So to first order no other step in the box raises the loss
# more. For $L_2$ the maximiser of $g^\top \delta$ with $\|\delta\|_2 \le \varepsilon$ is
# $\varepsilon\, g / \|g\|_2$ (Cauchy-Schwarz), gaining $\varepsilon \|g\|_2$: the normalised
# gradient, PGD's $L_2$ step.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [markdown]
# ### Worked: the best step against a linear loss (dual norms)
#
# Check your answer on a linear loss $\ell(x + \delta) = \ell(x) + g^\top \delta$ (what the
# gradient sees; the argument of the Kolter & Madry tutorial, chapter 3). Over a ball
# $\|\delta\| \le \varepsilon$ the largest gain is $\varepsilon \|g\|_*$, with $\|\cdot\|_*$ the
# *dual norm*: $\max_{\|\delta\|_\infty \le \varepsilon} g^\top \delta = \varepsilon \|g\|_1$ at
# $\delta = \varepsilon\, \mathrm{sign}(g)$, and
# $\max_{\|\delta\|_2 \le \varepsilon} g^\top \delta = \varepsilon \|g\|_2$ at $\delta = \varepsilon\, g / \|g\|_2$. Below, a random "gradient" of
# 3 072 pixels against a thousand random directions of the same size: none beats the steps of
# the table further down.

# %%
rng = np.random.default_rng(0)
g = rng.normal(size=3072)  # the gradient of a linear(ised) loss over one 32x32x3 image
corners = (8 / 255) * rng.choice([-1.0, 1.0], size=(1000, 3072))          # points of the Linf ball
spheres = rng.normal(size=(1000, 3072))
spheres *= 0.5 / np.linalg.norm(spheres, axis=1, keepdims=True)          # points of the L2 ball
print(f"Linf, eps 8/255: sign step gains {g @ ((8 / 255) * np.sign(g)):.2f} = eps ||g||_1 = "
      f"{(8 / 255) * np.abs(g).sum():.2f}; best random corner {np.max(corners @ g):.2f}")
print(f"L2,   eps 0.5:   g/||g|| step gains {g @ (0.5 * g / np.linalg.norm(g)):.2f} = eps ||g||_2 = "
      f"{0.5 * np.linalg.norm(g):.2f}; best random direction {np.max(spheres @ g):.2f}")

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
#
# In two dimensions (an "image" of two pixels) the two balls and their projections look
# like this: the $L_\infty$ projection clips each coordinate (the point moves to the
# square's edge or corner), the $L_2$ projection slides the point along the line to $x_0$
# until it meets the circle. Clipping each pixel to $\pm\varepsilon$ is *not* the $L_2$
# projection: it leaves the point on the square's edge, outside the circle.

# %%
def draw_balls(ax, x0, eps):
    ax.add_patch(plt.Rectangle(x0 - eps, 2 * eps, 2 * eps, fill=False, color="tab:orange", label=r"$L_\infty$ ball"))
    ax.add_patch(plt.Circle(x0, eps, fill=False, color="tab:blue", label="$L_2$ ball"))
    ax.plot(*x0, "k+", ms=10)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("pixel 1")
    ax.set_ylabel("pixel 2")


x0_2d, eps_2d, point = np.array([0.45, 0.4]), 0.25, np.array([0.95, 0.55])
fig, ax = plt.subplots(figsize=(3.6, 3.6))
draw_balls(ax, x0_2d, eps_2d)
linf_2d = x0_2d + np.clip(point - x0_2d, -eps_2d, eps_2d)
d = point - x0_2d
l2_2d = x0_2d + d * min(1.0, eps_2d / np.linalg.norm(d))
ax.plot(*point, "ko")
ax.annotate("x", point, textcoords="offset points", xytext=(5, 3))
for target, color, name in ((linf_2d, "tab:orange", r"$L_\infty$ projection"), (l2_2d, "tab:blue", "$L_2$ projection")):
    ax.annotate("", target, point, arrowprops=dict(arrowstyle="->", color=color))
    ax.plot(*target, "o", color=color, label=name)
ax.legend(fontsize=7, loc="upper left")
plt.show()

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
    out = project_linf(x, x0, 0.1)
    assert out is not None, "project_linf returned None: `return` the projected images."
    out = np.asarray(out)
    assert out.shape == x.shape, f"Expected shape {x.shape}. Received {out.shape}."
    assert np.allclose(out.ravel(), [0.55, 0.6, 0.4]), f"Expected [0.55, 0.6, 0.4] (inside unchanged, outside clipped). Received {out.ravel()}."
    out = project_linf(np.full((1, 1, 1, 3), 1.5, np.float32), np.ones((1, 1, 1, 3), np.float32), 1.0)
    assert out is not None, "project_linf returned None: replace the `...` with your code and `return` the result."
    out = np.asarray(out)
    assert out.max() <= 1.0, "Clip to the image box [0, 1] after the ball."


# %%
def test_l2_projection(project_l2):
    import numpy as np
    x0 = np.full((2, 2, 2, 2), 0.5, np.float32)
    delta = np.zeros_like(x0)
    delta[0] = np.array([0.15, -0.15, 0.1, 0.1, 0.05, 0.0, -0.05, 0.0]).reshape(2, 2, 2)  # norm 0.265: outside 0.2
    delta[1] = np.array([0.1, 0.0, -0.1, 0.0, 0.05, 0.05, 0.0, 0.0]).reshape(2, 2, 2)     # norm 0.158: inside
    x = x0 + delta
    out = project_l2(x, x0, 0.2)
    assert out is not None, "project_l2 returned None: `return` the projected images."
    out = np.asarray(out)
    assert out.shape == x.shape, f"Expected shape {x.shape}. Received {out.shape}."
    norms = np.linalg.norm((out - x0).reshape(2, -1), axis=1)
    assert norms[0] <= 0.2 + 1e-5, (
        f"A perturbation outside the L2 ball must end with L2 norm exactly eps = 0.2. Received norm {norms[0]:.4f}. "
        "Clipping each pixel to [-eps, eps] is the Linf projection: for L2 rescale the whole perturbation of the image.")
    assert norms[0] >= 0.2 - 1e-5, (
        f"A perturbation outside the L2 ball must end with L2 norm exactly eps = 0.2. Received norm {norms[0]:.4f}: "
        "scaled too much. Compute one norm per image (sum over axes 1, 2, 3), not over the batch.")
    expected = x0[0] + delta[0] * 0.2 / np.linalg.norm(delta[0])
    assert np.allclose(out[0], expected, atol=1e-5), "Keep the direction of x - x0: multiply it by eps / ||x - x0||_2."
    assert np.allclose(out[1], x[1], atol=1e-6), (
        "An image inside its L2 ball must not move. Compute one norm per image (sum over axes 1, 2, 3), not over the batch.")
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
    out = pgd_step(x, g, 0.5, "linf")
    assert out is not None, "pgd_step returned None: `return` the stepped images."
    out = np.asarray(out).ravel()
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
    budgets = {"l2": 0.5, "linf": 0.03}
    advs, sizes = {}, {}
    for norm, eps in budgets.items():  # 8 steps of eps / 4: the ball binds after 4 of them
        adv = pgd_attack(model, x, y, norm=norm, eps=eps, step_size=eps / 4, steps=8)
        assert adv is not None, "pgd_attack returned None: `return` the final adversarial images."
        advs[norm] = adv = np.asarray(adv)
        assert adv.shape == x.shape, f"Expected shape {x.shape}. Received {adv.shape}."
        assert adv.min() >= 0 and adv.max() <= 1, f"{norm}: the result must stay in [0, 1]."
        d = (adv - x).reshape(8, -1)
        sizes[norm] = (np.linalg.norm(d, axis=1), np.abs(d).max(1))
    outside = {norm: np.any(sizes[norm][norm == "linf"] > eps + 1e-4) for norm, eps in budgets.items()}
    assert not (outside["l2"] and not outside["linf"] and np.all(sizes["l2"][1] <= 0.5 + 1e-4)), (
        f"l2: the result is inside the Linf box of 0.5 but outside the L2 ball (max L2 norm {sizes['l2'][0].max():.4f}): "
        "the L-inf projection (project_linf) was used for norm='l2'. Use project_l2 for 'l2'.")
    for norm, eps in budgets.items():
        assert not outside[norm], (
            f"{norm}: the result left the eps-ball around the clean images (max norm {sizes[norm][norm == 'linf'].max():.4f} "
            f"> {eps}, after steps of {eps / 4:.3g}). Project onto the ball around the clean images x0 (kept from the "
            "start), not around the current iterate, after every step.")
    for norm, eps in budgets.items():
        adv = advs[norm]
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
        adv = pgd_attack(model, x, y, norm="l2", eps=0.4, step_size=0.1, steps=6)
        assert adv is not None, "pgd_attack returned None: replace the `...` with your code and `return` the result."
        adv = np.asarray(adv)
    ce = lambda t: keras.losses.sparse_categorical_crossentropy(y, model(t), from_logits=True).numpy()
    assert ce(adv).mean() >= 0.95 * ce(ref).mean()


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# ### PGD on a two-pixel "image"
#
# Your `pgd_step` and projections work on any shape, so watch them on a made-up loss of two
# pixels (its contours below, darker is higher; PGD climbs it). Ten steps of each kind from
# $x_0$: the $L_\infty$ path moves diagonally (the sign step) into a corner of the square,
# the $L_2$ path follows the gradient and ends where the circle meets the highest contour.

# %%
def toy_loss_and_grad(p):
    """A smooth two-pixel 'loss' and its gradient; p has shape (1, 1, 2, 1)."""
    u, v = np.asarray(p, np.float64).ravel()
    value = 1.5 * u + 0.6 * v - 1.2 * (u - v) ** 2
    grad = np.array([1.5 - 2.4 * (u - v), 0.6 + 2.4 * (u - v)])
    return value, grad.reshape(1, 1, 2, 1).astype(np.float32)


uu, vv = np.meshgrid(np.linspace(0, 1, 80), np.linspace(0, 1, 80))
fig, ax = plt.subplots(figsize=(3.8, 3.6))
ax.contourf(uu, vv, 1.5 * uu + 0.6 * vv - 1.2 * (uu - vv) ** 2, levels=15, cmap="Greys", alpha=0.6)
draw_balls(ax, x0_2d, eps_2d)
start = x0_2d.reshape(1, 1, 2, 1).astype(np.float32)
for norm, project, color in (("linf", project_linf, "tab:orange"), ("l2", project_l2, "tab:blue")):
    path = [start]
    for _ in range(10):
        _, g = toy_loss_and_grad(path[-1])
        path.append(project(pgd_step(path[-1], g, 0.06, norm), start, eps_2d))
    path = np.array([np.asarray(p).ravel() for p in path])
    ax.plot(path[:, 0], path[:, 1], ".-", color=color, label=f"PGD {norm}")
ax.legend(fontsize=7, loc="upper left")
plt.show()

# %% [markdown]
# ### PGD-20 on the standard model
#
# **Expected** on these 64 images, with 20 steps (each attack about 20-40 s on a 2-core CPU;
# the bar counts images): clean 0.80, FGSM about 0.02, PGD-20 $L_\infty$ 8/255 0.00, PGD-20
# $L_2$ 0.5 about 0.05. On all 10 000 test images the library's PGD-20 $L_2$ 0.5 leaves the
# standard model 0.07 (the model's manifest). If your PGD leaves clearly more than that,
# check your step and projection.

# %%
steps = 3 if GRADING else 20


def attack_with_progress(model, norm, eps, batch=16):
    """Your pgd_attack on the sample, a batch at a time, with a progress bar."""
    bar = keras.utils.Progbar(len(x), unit_name="image", verbose=0 if GRADING else 1)
    out = []
    for a in range(0, len(x), batch):
        out.append(pgd_attack(model, x[a:a + batch], y[a:a + batch], norm=norm, eps=eps,
                              step_size=2.5 * eps / steps, steps=steps))
        bar.add(len(out[-1]))
    return np.concatenate(out)


x_pgd_linf = attack_with_progress(standard, "linf", eps_linf)
x_pgd_l2 = attack_with_progress(standard, "l2", 0.5)
print(f"accuracy: clean {accuracy(standard, x, y):.2f} | FGSM {accuracy(standard, x_fgsm, y):.2f} | "
      f"PGD-{steps} Linf 8/255 {accuracy(standard, x_pgd_linf, y):.2f} | PGD-{steps} L2 0.5 {accuracy(standard, x_pgd_l2, y):.2f}")

# %%
from robustkeras.plotting import image_grid

pred = np.argmax(np.asarray(standard(x_pgd_l2, training=False)), 1)
image_grid([np.stack([x[j], x_pgd_l2[j], np.clip(0.5 + 5 * (x_pgd_l2[j] - x[j]), 0, 1)]) for j in range(6)],
           column_titles=[f"{data.CLASSES[y[j]]} -> {data.CLASSES[pred[j]]}" for j in range(6)],
           row_labels=["clean", "L2 adversarial", "perturbation x5"], title="L2 PGD, eps = 0.5")
plt.show()

# %% [markdown]
# Each column title reads *true class -> the model's prediction on the adversarial image*:
# `cat -> dog` is an image the attack fooled, and a title with the same class twice
# (`dog -> dog`) one that survived it.
#
# The perturbations look like structured noise, and the standard model's accuracy collapses.
# A model trained *on* such examples behaves differently; the next stage trains one, and
# here is a preview with the robust model the course ships:

# %%
robust = pretrained.load("fastnet_l2_robust")
x_robust_adv = attack_with_progress(robust, "l2", 0.5)
print(f"robust model: clean {accuracy(robust, x, y):.2f} | PGD-{steps} L2 0.5 {accuracy(robust, x_robust_adv, y):.2f}")
full = pretrained.manifest()
print(f"all 10 000 test images (manifests): PGD-20 L2 0.5 leaves the standard model "
      f"{full['fastnet_standard']['eval']['robust']:.2f}, the robust model {full['fastnet_l2_robust']['eval']['robust']:.2f}")

# %% [markdown]
# **Expected:** on these 64 images the robust model keeps about 0.50 of them under the same
# attack (clean about 0.77); on the full test set 0.07 against 0.59.
#
# ### Why these budgets and this step size
#
# $L_2$ 0.5 and $L_\infty$ 8/255 are the CIFAR-10 budgets the literature compares on
# (Madry et al. 2018 trained at $L_\infty$ 8/255; the robust CIFAR-10 models of Santurkar
# et al. 2019 use $L_2$ 0.5; RobustBench reports both): changes of at most 0.031 per pixel, or
# about 0.009 per pixel on average for $L_2$ 0.5 over 3 072 values, too small to see. The
# step $2.5\,\varepsilon / \text{steps}$ is Madry et al.'s rule: together the steps can travel
# 2.5 times the radius, enough to cross the ball and turn back from any start, while the
# projection keeps every iterate inside.
#
# ### Robust accuracy against $\varepsilon$, a targeted attack, restarts
#
# The library's `robustkeras.attacks.pgd` is your loop compiled and batched. Three things it
# adds, on 32 of the images with 10 steps: accuracy as the budget grows (the curve a single
# $\varepsilon$ summarises), a **targeted** attack (`target=`: push each image towards a chosen
# class, here the next one, instead of away from its own), and **random restarts**
# (`random_start=True, restarts=3`: three starts at random points of the ball, each image keeps
# its worst case).
#
# **Expected** (these 32 images, measured): the standard model 0.88, 0.34, 0.06, 0.00, 0.00 at
# $\varepsilon$ = 0, 0.25, 0.5, 1, 2; the robust model 0.75, 0.66, 0.50, 0.22, 0.00: it falls
# gradually and reaches zero only at 2, four times its training budget. The targeted attack moves about 0.6 of the standard model's images
# into the next class; on the robust model three restarts find little more than one start
# (0.50 and 0.50 on these 32 images): 10 steps from the clean image already find most of what
# this budget allows.

# %%
from robustkeras import attacks

xs, ys = (x[:8], y[:8]) if GRADING else (x[:32], y[:32])
budgets = [0.0, 0.25, 0.5, 1.0, 2.0]


def pgd10(model, eps, **kwargs):
    return attacks.pgd(model, xs, ys, norm="l2", eps=eps, step_size=2.5 * max(eps, 1e-3) / 10, steps=10, **kwargs)


curves = {name: [accuracy(model, pgd10(model, eps, random_start=False), ys) for eps in budgets]
          for name, model in (("standard", standard), ("robust", robust))}
plt.figure(figsize=(4, 2.6))
for name, accs in curves.items():
    plt.plot(budgets, accs, "o-", label=name)
plt.xlabel("L2 eps")
plt.ylabel("accuracy under PGD-10")
plt.legend()
plt.show()
for name, accs in curves.items():
    print(f"{name:8s} accuracy at eps {budgets}: {[round(a, 2) for a in accs]}")
hit = np.argmax(np.asarray(standard(pgd10(standard, 0.5, random_start=False, target=(ys + 1) % 10), training=False)), 1)
print(f"targeted (L2 0.5, towards the next class): {np.mean(hit == (ys + 1) % 10):.2f} of the standard model's images")
for restarts in (1, 3):
    print(f"robust model, L2 0.5, random start x {restarts}: accuracy "
          f"{accuracy(robust, pgd10(robust, 0.5, random_start=True, restarts=restarts), ys):.2f}")

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
# ## Further research
#
# * **Robust accuracy against $\varepsilon$.** Redo the curve above with 20 steps and all 64
#   images, then for $L_\infty$ ($\varepsilon$ from 0 to 16/255). Where does each curve reach zero?
# * **Random restarts.** Raise `restarts` to 10. How many more images fall? Why can a restart
#   find what 20 more steps cannot?
# * **Another threat model.** The robust model was trained against $L_2$ attacks. Attack it
#   with $L_\infty$ PGD at 8/255 (an $L_\infty$ ball of 8/255 holds $L_2$ perturbations up
#   to $\sqrt{3072} \cdot 8/255 \approx 1.74$). Is it robust there too?
#
# Next: **03 · Adversarial training**: train on PGD examples by writing a custom `train_step`.
