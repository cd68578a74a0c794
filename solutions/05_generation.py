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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads: no CUDA start-up errors on a CPU

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
    logits = np.array([[0.0, 1.0, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0]], np.float32)  # targets are not the argmax
    out = class_objective({"target": np.array([2, 1])}, None, logits, None)
    assert out is not None, "class_objective returned None: `return` one log-probability per image."
    out = np.asarray(out)
    assert out.shape == (2,), f"Return one value per image, shape (2,). Received {out.shape}."
    expected = [-np.log(np.e + 3), -np.log(np.exp(2) + 3)]
    predicted = [1 - np.log(np.e + 3), 2 - np.log(np.exp(2) + 3)]
    assert not np.allclose(out, predicted, atol=1e-5), (
        "You returned the log-probability of the predicted class (the argmax). The objective is the log-probability "
        "of the class asked for: params['target'].")
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
    assert class_objective({"target": np.array([3, 8])}, start, np.zeros((2, 10), np.float32), None) is not None, \
        "class_objective returned None: `return` one log-probability per image."
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
        out = class_objective({"target": target}, None, logits, None)
        assert out is not None, "class_objective returned None: replace the `...` with your code and `return` the result."
        out = np.asarray(out)
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
    out = class_seeds(images, labels, np.array([0, 3, 3]), seed=1)
    assert out is not None, "class_seeds returned None: `return` the seed images."
    out = np.asarray(out)
    assert out.shape == (3, 4, 4, 3) and out.dtype == np.float32, f"Expected float32 (3, 4, 4, 3). Received {out.dtype} {out.shape}."
    assert out.min() >= 0 and out.max() <= 1, "Clip the seeds to [0, 1]."
    again = class_seeds(images, labels, np.array([0, 3, 3]), seed=1)
    assert again is not None, "class_seeds returned None: replace the `...` with your code and `return` the result."
    again = np.asarray(again)
    assert np.array_equal(out, again), "The same seed must give the same images: use np.random.default_rng(seed)."
    assert not np.allclose(out[1], out[2]), "Two seeds of the same class should be different draws."


# %%
def test_seed_statistics(class_seeds):
    import numpy as np
    images = np.zeros((20, 2, 2, 3), np.float32)
    labels = np.repeat([0, 1], 10)
    images[labels == 1] = 0.75
    out = class_seeds(images, labels, np.array([1, 0]))
    assert out is not None, "class_seeds returned None: `return` the seed images."
    out = np.asarray(out)
    assert np.allclose(out[0], 0.75) and np.allclose(out[1], 0.0), \
        "A class whose images are all equal has zero spread: its seed is its mean image. Use each class's own statistics."
    rng = np.random.default_rng(1)
    images = np.concatenate([rng.normal(0.3, 0.05, (300, 2, 2, 3)), rng.normal(0.7, 0.1, (300, 2, 2, 3))]).astype(np.float32)
    labels = np.repeat([0, 1], 300)
    many = class_seeds(images, labels, np.ones(400, int), seed=2)
    assert many is not None, "class_seeds returned None: replace the `...` with your code and `return` the result."
    many = np.asarray(many)
    assert abs(many.mean() - 0.7) < 0.02 and abs(many.std() - 0.1) < 0.02, "Seeds should have the class's mean and spread."
    spread = np.full((2, 2, 3), 0.02, np.float32)
    spread[0, 0, 0] = 0.12  # one pixel varies far more than the others
    images = (0.5 + spread * rng.standard_normal((300, 2, 2, 3))).astype(np.float32)
    seeds = np.asarray(class_seeds(images, np.zeros(300, int), np.zeros(400, int), seed=3)).std(0)
    assert abs(seeds[0, 0, 0] - 0.12) < 0.02 and np.all(np.abs(seeds.ravel()[1:] - 0.02) < 0.01), (
        f"Pixel (0, 0, 0) of this class spreads 0.12 and the others 0.02; your seeds spread {seeds[0, 0, 0]:.3f} and "
        f"{seeds.ravel()[1:].mean():.3f}. Use one standard deviation per pixel (over the class's images, axis 0), not "
        "one number per class.")


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## Generating all ten classes
#
# Three images per class (one in grading mode), from the same seeds for both models:
# 20 steps of size at most 1.0 inside an $L_2$ ball of radius 30 around each seed. The step
# size decays (a cosine schedule from 1.0 towards 0), so the 20 steps move each image only
# about 5-7 from its seed (the cell prints it): the radius-30 ball never binds here, and the
# number of steps and the step size decide how far an image goes. The two generations take
# about 30 s together on a 2-core CPU.

# %%
classes = np.arange(10) if GRADING else np.tile(np.arange(10), 3)  # every class in the first ten
seeds = class_seeds(x_ref, y_ref, classes)
steps = 10 if GRADING else 20


def generate_with(model):
    return optimize(model, seeds, objective=class_objective, params={"target": classes},
                    steps=steps, step_size=1.0, radius=30.0)


results = {"robust": generate_with(robust), "standard": generate_with(standard)}
moved = np.linalg.norm((results["robust"].images - seeds).reshape(len(seeds), -1), axis=1)
print(f"robust model: L2 distance from the seeds {moved.min():.1f} to {moved.max():.1f} (radius 30)")

# %%
from robustkeras.plotting import image_grid

first = np.array([list(classes).index(c) for c in range(10)])  # one image of each class
image_grid([np.stack([seeds[j], results["robust"].images[j], results["standard"].images[j]]) for j in first],
           column_titles=list(data.CLASSES), row_labels=["seed", "robust", "standard"])
plt.show()

# %% [markdown]
# Both models end up almost sure of the target class. Do the images show it? Ask a
# *different* model, a judge that generated nothing: `fastnet_judge`, a standard classifier
# trained separately. Ask it twice: on the images as they are (the **plain judge**), and on
# the images average-pooled $\times 2$ and upsampled back (the **low-pass judge**,
# `robustkeras.metrics.judge_accuracy(..., low_pass_factor=2)`), which keeps shapes and
# colours but removes fine, high-frequency patterns.
#
# Expected (student mode, 30 images, 20 steps): both generators near $p = 1.00$ on their own
# images; the plain judge accepts about 97-100 % of *both* models' images; the low-pass judge
# about 97 % of the robust model's against about 70 % of the standard model's. (Grading mode,
# 10 images and 10 steps: low-pass 90 % against 40 %.)

# %%
from robustkeras.metrics import judge_accuracy

judge = pretrained.load("fastnet_judge")
judged = {}
for name, result in results.items():
    own = class_probability(robust if name == "robust" else standard, result.images, classes).mean()
    judged[name] = (judge_accuracy(judge, result.images, classes),
                    judge_accuracy(judge, result.images, classes, low_pass_factor=2))
    print(f"{name:9s} generator: its own p(target) {own:.2f} | plain judge {judged[name][0]:.0%} | "
          f"low-pass judge {judged[name][1]:.0%}")
print(f"low-pass judge, robust minus standard: {judged['robust'][1] - judged['standard'][1]:+.0%}")
plt.figure(figsize=(5, 2.5))
plt.plot(results["robust"].objective_values.mean(1), label="robust")
plt.plot(results["standard"].objective_values.mean(1), label="standard")
plt.xlabel("step")
plt.ylabel("mean log p(target)")
plt.legend()
plt.show()

# %% [markdown]
# The plain judge accepts the standard model's images about as often as the robust model's,
# although the grid shows that they do not look like their class. The low-pass judge tells
# the two apart, as your eye does: a judge of synthesis must be one that the generator's
# kind of noise cannot fool.

# %% [raw]
# # BEGIN QUESTION
# name: q05_judges
# manual: true
# points: 1

# %% [markdown]
# **Question (written, graded by hand).** Why does the plain judge accept the standard
# model's "generated" images, although they do not look like the class? What does the
# low-pass judge change, and why does that hurt the standard model's images more than the
# robust model's? Answer in three or four sentences.

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# A standard network's "generated" image is the seed plus a large adversarial perturbation:
# high-frequency noise that the standard generator reads as the class. Adversarial
# perturbations transfer between standard networks (they exploit features all of them
# learn from the same data), so the independently trained standard judge reads the same
# class in the noise. Average-pooling $\times 2$ and upsampling removes most of that fine
# noise but keeps coarse shapes and colours; the robust model could only raise its class
# probability by changing those (its gradients are perceptually aligned), so its images
# survive the filter and the standard model's lose their class much more often.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## Summary
#
# * Generation = class-conditional Gaussian seed + projected gradient ascent on
#   $\log p(y \mid x)$ in a large $L_2$ ball.
# * An objective is a `keras.ops` function of `(params, x, logits, features)`; `optimize`
#   compiles it once and runs the loop.
# * Judge synthesis with a model that did not generate the images, and low-pass filter the
#   images first: a standard judge reads transferable adversarial noise as the class.
#
# ## Further research
#
# * Run 60 steps instead of 20. How do the plain and low-pass judges' numbers move for each
#   model? (On 30 images we measured 93 % robust against 83 % standard: the standard model's
#   pattern grows coarse enough to survive a $\times 2$ low-pass.) Try `low_pass_factor=4`.
# * Replace your diagonal Gaussian seeds with `robustkeras.synthesis.sample_seeds`
#   (low-rank plus diagonal covariance from 50 000 images). Do the images get better?
# * Make the ball bind: radius 2, 3 or 5 (the 20 steps above end 5-7 from the seeds, so 10,
#   30 or 100 give the same images). Which images are most like the class when the ball is
#   small? Then keep radius 30 and raise the step size or the steps: when does it bind?
#
# Next: **06 · Inpainting**: the same engine, plus a term that keeps the known pixels.
