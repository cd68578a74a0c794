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
# name: 05_generation

# %% [markdown]
# # 05 · Generation
#
# **Goal.** Generate images of a chosen class with nothing but a robust classifier
# (Santurkar et al. 2019, section 3.1). Draw a *seed* from a simple class-conditional
# distribution (a Gaussian fitted to the class's images), then maximise the class
# probability by projected gradient ascent inside a large $L_2$ ball around the seed:
#
# $$x = \arg\max_{\|x - x_0\|_2 \le \varepsilon} \log p(y \mid x), \qquad x_0 \sim \mathcal{N}(\mu_y, \Sigma_y).$$
#
# Every synthesis task in the course uses the same engine, `robustkeras.synthesis.optimize`:
# you give it an **objective** `objective(params, x, logits, features) -> (N,)` to maximise
# (written in `keras.ops`, so it runs inside a compiled loop), the data it needs in
# `params`, a start point and a ball.

# %%
import os

import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import ops

from robustkeras import data, pretrained
from robustkeras.synthesis import class_probability, optimize

GRADING = os.environ.get("ROBUSTKERAS_GRADING") == "1" or os.path.exists("ROBUSTKERAS_GRADING")
robust = pretrained.load("fastnet_l2_robust")
standard = pretrained.load("fastnet_standard")
x_ref, y_ref = data.load_sample(200)  # the images the seed distribution is fitted to

# %% [raw]
# # BEGIN QUESTION
# name: q05_class_objective
# points: 3

# %% [markdown]
# **Exercise 1.** Write `class_objective(params, x, logits, features)`: the per-image
# $\log p(\text{target}_i \mid x_i)$ where `params["target"]` holds the target classes.
# Use `keras.ops` only (`ops.log_softmax`, `ops.one_hot`, `ops.sum`, ...): it is traced into
# the compiled optimizer loop. `x` and `features` are unused here.

# %% [raw]
# # BEGIN SOLUTION

# %%
def class_objective(params, x, logits, features):
    """log p(target | x) for each image."""
    # BEGIN SOLUTION
    log_p = ops.log_softmax(logits, axis=-1)
    onehot = ops.one_hot(params["target"], ops.shape(logits)[-1], dtype=log_p.dtype)
    return ops.sum(log_p * onehot, axis=-1)
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_log_probabilities(class_objective):
    import numpy as np
    logits = np.array([[0.0, 0.0, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0]], np.float32)
    out = np.asarray(class_objective({"target": np.array([1, 0])}, None, logits, None))
    assert out.shape == (2,), f"Return one value per image, shape (2,). Received {out.shape}."
    expected = [np.log(0.25), 2 - np.log(np.exp(2) + 3)]
    assert np.allclose(out, expected, atol=1e-5), f"Expected log p(target) = {np.round(expected, 4)}. Received {out}."


# %%
def test_drives_optimize(class_objective):
    import numpy as np
    import keras
    from robustkeras.synthesis import optimize
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))  # a functional model: synthesis reads its layer graph
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Dense(8, activation="relu")(keras.layers.Flatten()(inputs))))
    start = np.full((2, 32, 32, 3), 0.5, np.float32)
    result = optimize(model, start, objective=class_objective, params={"target": np.array([3, 8])},
                      steps=5, step_size=0.5, radius=2.0)
    assert np.all(result.objective_values[-1] > result.objective_values[0]), \
        "optimize maximises your objective; the log-probability should rise over the steps. Use keras.ops, not numpy."


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_own_objective(class_objective):
    from unittest import mock
    import numpy as np
    from robustkeras.synthesis import generation, terms
    logits = np.random.default_rng(0).normal(size=(5, 10)).astype(np.float32) * 3
    target = np.array([0, 2, 4, 6, 8])
    expected = logits[np.arange(5), target] - np.log(np.exp(logits).sum(1))
    boom = AssertionError("write it yourself")
    with mock.patch.object(terms, "class_log_prob", side_effect=boom), mock.patch.object(generation, "class_objective", side_effect=boom):
        out = np.asarray(class_objective({"target": target}, None, logits, None))
    assert np.allclose(out, expected, atol=1e-4)
    assert "class_log_prob" not in class_objective.__code__.co_names


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q05_class_seeds
# points: 3

# %% [markdown]
# **Exercise 2.** Write `class_seeds(images, labels, classes, *, seed=0)`: for each entry
# `c` of `classes`, one seed image drawn from a Gaussian with the per-pixel mean and standard
# deviation of the images of class `c` (a *diagonal* covariance), clipped to $[0, 1]$.
# Use `rng = np.random.default_rng(seed)` so the seeds repeat; return `float32`
# `(len(classes), H, W, C)`.
#
# (The library's `robustkeras.synthesis.sample_seeds` does the same with a low-rank plus
# diagonal covariance fitted to all 50 000 training images: better seeds, same idea.)

# %% [raw]
# # BEGIN SOLUTION

# %%
def class_seeds(images, labels, classes, *, seed=0):
    """One Gaussian (diagonal covariance) seed per requested class."""
    # BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    images, labels = np.asarray(images, np.float32), np.asarray(labels)
    out = []
    for c in np.asarray(classes):
        members = images[labels == c]
        mean, std = members.mean(axis=0), members.std(axis=0)
        out.append(mean + std * rng.standard_normal(mean.shape))
    return np.clip(np.stack(out), 0.0, 1.0).astype(np.float32)
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_seed_shapes_and_determinism(class_seeds):
    import numpy as np
    rng = np.random.default_rng(0)
    images = rng.random((40, 4, 4, 3)).astype(np.float32)
    labels = np.arange(40) % 4
    out = np.asarray(class_seeds(images, labels, np.array([0, 3, 3]), seed=1))
    assert out.shape == (3, 4, 4, 3) and out.dtype == np.float32, f"Expected float32 (3, 4, 4, 3). Received {out.dtype} {out.shape}."
    assert out.min() >= 0 and out.max() <= 1, "Clip the seeds to [0, 1]."
    again = np.asarray(class_seeds(images, labels, np.array([0, 3, 3]), seed=1))
    assert np.array_equal(out, again), "The same seed must give the same images: use np.random.default_rng(seed)."
    assert not np.allclose(out[1], out[2]), "Two seeds of the same class should be different draws."


# %%
def test_seed_statistics(class_seeds):
    import numpy as np
    images = np.zeros((20, 2, 2, 3), np.float32)
    labels = np.repeat([0, 1], 10)
    images[labels == 1] = 0.75
    out = np.asarray(class_seeds(images, labels, np.array([1, 0])))
    assert np.allclose(out[0], 0.75) and np.allclose(out[1], 0.0), \
        "A class whose images are all equal has zero spread: its seed is its mean image. Use each class's own statistics."
    rng = np.random.default_rng(1)
    images = np.concatenate([rng.normal(0.3, 0.05, (300, 2, 2, 3)), rng.normal(0.7, 0.1, (300, 2, 2, 3))]).astype(np.float32)
    labels = np.repeat([0, 1], 300)
    many = np.asarray(class_seeds(images, labels, np.ones(400, int), seed=2))
    assert abs(many.mean() - 0.7) < 0.02 and abs(many.std() - 0.1) < 0.02, "Seeds should have the class's mean and spread."


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
classes = np.arange(10) if GRADING else np.repeat(np.arange(10), 3)
seeds = class_seeds(x_ref, y_ref, classes)
steps = 10 if GRADING else 60


def generate_with(model):
    return optimize(model, seeds, objective=class_objective, params={"target": classes},
                    steps=steps, step_size=1.0, radius=30.0)


results = {"robust": generate_with(robust), "standard": generate_with(standard)}

# %%
fig, axes = plt.subplots(3, 10, figsize=(13, 4.6))
for j in range(10):
    axes[0, j].imshow(seeds[j])
    axes[0, j].set_title(data.CLASSES[classes[j]], fontsize=8)
    axes[1, j].imshow(results["robust"].images[j])
    axes[2, j].imshow(results["standard"].images[j])
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
axes[0, 0].set_ylabel("seed")
axes[1, 0].set_ylabel("robust")
axes[2, 0].set_ylabel("standard")
plt.show()

# %% [markdown]
# Both models end up almost sure of the target class, but only the robust model's images
# look like it. A fair check asks a *different* model, a judge that generated nothing:
# `fastnet_judge`, a standard classifier trained separately.

# %%
judge = pretrained.load("fastnet_judge")
for name, result in results.items():
    own = class_probability(robust if name == "robust" else standard, result.images, classes).mean()
    agree = float(np.mean(np.argmax(np.asarray(judge(result.images, training=False)), 1) == classes))
    print(f"{name:9s} generator: its own p(target) {own:.2f} | the judge sees the target class in {agree:.0%}")
plt.figure(figsize=(5, 2.5))
plt.plot(results["robust"].objective_values.mean(1), label="robust")
plt.plot(results["standard"].objective_values.mean(1), label="standard")
plt.xlabel("step")
plt.ylabel("mean log p(target)")
plt.legend()
plt.show()

# %% [markdown]
# ## Summary
#
# * Generation = class-conditional Gaussian seed + projected gradient ascent on
#   $\log p(y \mid x)$ in a large $L_2$ ball.
# * An objective is a `keras.ops` function of `(params, x, logits, features)`; `optimize`
#   compiles it once and runs the loop.
# * Judge synthesis with a model that did not generate the images.
#
# Next: **06 · Inpainting**: the same engine, plus a term that keeps the known pixels.
