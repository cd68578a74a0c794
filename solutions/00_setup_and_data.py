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
# name: 00_setup_and_data

# %% [markdown]
# # 00 · Setup and data
#
# **Goal.** Get the course running, meet CIFAR-10 as this course sees it (float images in
# $[0, 1]$, integer labels), and write the small tools every later stage uses: converting
# images, counting labels, tiling images into a figure, and measuring how far apart two
# images are in the $L_2$ and $L_\infty$ norms (the two "threat models" of adversarial
# robustness).
#
# The whole course builds on one library, `robustkeras`. The notebooks import it and you
# write the core pieces yourself; a check after each exercise tells you whether your answer
# behaves correctly. Run the cells in order.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads: no CUDA start-up errors on a CPU

import matplotlib.pyplot as plt
import numpy as np

import robustkeras
from robustkeras import data

# Grading mode (set by the autograder) shrinks datasets and step counts.
GRADING = os.environ.get("ROBUSTKERAS_GRADING") == "1" or os.path.exists("ROBUSTKERAS_GRADING")
print("robustkeras", robustkeras.__version__, "| grading mode:", GRADING)

# %% [markdown]
# ## The data
#
# `robustkeras.data.load_sample()` returns 200 CIFAR-10 test images bundled with the
# package, so this notebook needs no download. (Later stages that train use
# `load_cifar10_arrays`, which reads the official binary files or downloads CIFAR-10 with
# `tensorflow-datasets`.) The raw dataset stores pixels as `uint8` in $\{0, \dots, 255\}$;
# every model in this course takes `float32` pixels in $[0, 1]$.

# %%
x, y = data.load_sample(64 if GRADING else 200)
print(x.shape, x.dtype, float(x.min()), float(x.max()))
print(y[:10], [data.CLASSES[i] for i in y[:10]])

# %% [raw]
# # BEGIN QUESTION
# name: q00_to_unit_range
# points: 2

# %% [markdown]
# **Exercise 1.** Write `to_unit_range(images)`: `uint8` images in $\{0, \dots, 255\}$ to
# `float32` images in $[0, 1]$ (0 maps to 0.0, 255 to 1.0), same shape.

# %% [raw]
# # BEGIN SOLUTION

# %%
def to_unit_range(images):
    """uint8 images -> float32 images in [0, 1]."""
    # BEGIN SOLUTION
    return np.asarray(images).astype(np.float32) / 255.0
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_known_values(to_unit_range):
    import numpy as np
    assert callable(to_unit_range), "Define a function `to_unit_range(images)`."
    out = to_unit_range(np.array([[0, 51, 255]], np.uint8))
    assert out is not None, "to_unit_range returned None: replace the `...` with your code and `return` the result."
    out = np.asarray(out)
    assert out.dtype == np.float32, f"Expected float32 output. Received dtype {out.dtype}: divide a float copy."
    assert out.shape == (1, 3), f"Expected the input's shape (1, 3). Received {out.shape}."
    assert np.allclose(out, [[0.0, 0.2, 1.0]]), f"Expected 0 -> 0, 51 -> 0.2, 255 -> 1. Received {out}."


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_matches_library_without_using_it(to_unit_range):
    from unittest import mock
    import numpy as np
    from robustkeras import data
    images = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 3)).astype(np.uint8)
    expected = images.astype(np.float32) / 255.0
    with mock.patch.object(data, "to_float", side_effect=AssertionError("write it yourself")):
        out = to_unit_range(images)
        assert out is not None, "to_unit_range returned None: replace the `...` with your code and `return` the result."
        out = np.asarray(out)
    assert out.dtype == np.float32 and np.allclose(out, expected, atol=1e-7), "Wrong values on a random batch."


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q00_class_counts
# points: 2

# %% [markdown]
# **Exercise 2.** Write `class_counts(labels, num_classes=10)`: an integer array of length
# `num_classes` whose entry `c` is how many labels equal `c` (classes that never occur
# count 0).

# %% [raw]
# # BEGIN SOLUTION

# %%
def class_counts(labels, num_classes=10):
    """How many labels fall in each class."""
    # BEGIN SOLUTION
    return np.bincount(np.asarray(labels, np.int64), minlength=num_classes)[:num_classes]
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_small_case(class_counts):
    import numpy as np
    out = class_counts(np.array([3, 3, 0, 9]))
    assert out is not None, "class_counts returned None: replace the `...` with your code and `return` the result."
    out = np.asarray(out)
    assert out.shape == (10,), f"Expected one count per class, shape (10,). Received {out.shape}: use `minlength`."
    assert out.tolist() == [1, 0, 0, 2, 0, 0, 0, 0, 0, 1], f"Wrong counts: {out.tolist()}."


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_other_num_classes(class_counts):
    import numpy as np
    labels = np.random.default_rng(1).integers(0, 4, 50)
    out = class_counts(labels, num_classes=4)
    assert out is not None, "class_counts returned None: replace the `...` with your code and `return` the result."
    out = np.asarray(out)
    assert out.tolist() == np.bincount(labels, minlength=4).tolist(), "Respect `num_classes`."
    assert int(out.sum()) == 50, "Counts must add up to the number of labels."


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
counts = class_counts(y)
plt.figure(figsize=(7, 2.5))
plt.bar(data.CLASSES, counts)
plt.xticks(rotation=45)
plt.title("labels in the sample")
plt.show()

# %% [raw]
# # BEGIN QUESTION
# name: q00_image_grid
# points: 2

# %% [markdown]
# **Exercise 3.** Figures in this course tile many images into one. Write
# `image_grid(images, ncols)`: for `images` of shape `(N, H, W, C)` return one image of
# shape `(rows * H, ncols * W, C)` with `rows = ceil(N / ncols)`, image `k` at row
# `k // ncols` and column `k % ncols`; unused tiles stay 0.

# %% [raw]
# # BEGIN SOLUTION

# %%
def image_grid(images, ncols):
    """Tile a batch of images row by row into one image."""
    # BEGIN SOLUTION
    images = np.asarray(images)
    n, h, w, c = images.shape
    rows = -(-n // ncols)
    grid = np.zeros((rows * h, ncols * w, c), images.dtype)
    for k in range(n):
        r, q = divmod(k, ncols)
        grid[r * h:(r + 1) * h, q * w:(q + 1) * w] = images[k]
    return grid
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_shape_and_placement(image_grid):
    import numpy as np
    images = np.arange(5, dtype=np.float32).reshape(5, 1, 1, 1) * np.ones((5, 2, 3, 1), np.float32)
    grid = image_grid(images, 2)
    assert grid is not None, "image_grid returned None: replace the `...` with your code and `return` the result."
    grid = np.asarray(grid)
    assert grid.shape == (6, 6, 1), f"5 images in 2 columns: 3 rows of 2x3 tiles, shape (6, 6, 1). Received {grid.shape}."
    assert grid[0, 3, 0] == 1 and grid[2, 0, 0] == 2, "Image k goes to row k // ncols, column k % ncols."
    assert grid[4, 3, 0] == 0, "The unused last tile should stay 0."


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_exact_fit(image_grid):
    import numpy as np
    images = np.random.default_rng(2).random((6, 4, 4, 3)).astype(np.float32)
    grid = image_grid(images, 3)
    assert grid is not None, "image_grid returned None: replace the `...` with your code and `return` the result."
    grid = np.asarray(grid)
    assert grid.shape == (8, 12, 3)
    assert np.array_equal(grid[4:8, 8:12], images[5])


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
plt.figure(figsize=(8, 3.4))
plt.imshow(image_grid(x[:24], 8))
plt.axis("off")
plt.title(" · ".join(data.CLASSES[i] for i in y[:8]) + " ...", fontsize=8)
plt.show()

# %% [markdown]
# ## How far apart are two images?
#
# An adversarial example is an image $x'$ close to a clean image $x$ that the classifier
# gets wrong. "Close" is measured by a norm of the difference $\delta = x' - x$:
#
# * $\|\delta\|_2 = \sqrt{\sum_i \delta_i^2}$: the total energy of the change; a budget of
#   $\varepsilon = 0.5$ lets many pixels move a little.
# * $\|\delta\|_\infty = \max_i |\delta_i|$: the largest change of any single pixel value;
#   the classic budget is $\varepsilon = 8/255$.

# %% [raw]
# # BEGIN QUESTION
# name: q00_distances
# points: 3

# %% [markdown]
# **Exercise 4.** Write `l2_distance(a, b)` and `linf_distance(a, b)`: for two batches of
# shape `(N, H, W, C)`, return an array of shape `(N,)` with the per-image norm of `a - b`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def l2_distance(a, b):
    """Per-image L2 norm of a - b."""
    # BEGIN SOLUTION
    d = (np.asarray(a, np.float64) - np.asarray(b, np.float64)).reshape(len(a), -1)
    return np.sqrt(np.sum(d * d, axis=1))
    # END SOLUTION


def linf_distance(a, b):
    """Per-image L-infinity norm of a - b."""
    # BEGIN SOLUTION
    d = (np.asarray(a, np.float64) - np.asarray(b, np.float64)).reshape(len(a), -1)
    return np.max(np.abs(d), axis=1)
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_analytic(l2_distance, linf_distance):
    import numpy as np
    a = np.zeros((2, 32, 32, 3), np.float32)
    b = a.copy()
    b[0, 5, 5, 1] = 0.5
    b[1] = 0.1
    l2, linf = l2_distance(a, b), linf_distance(a, b)
    assert l2 is not None and linf is not None, \
        "l2_distance or linf_distance returned None: replace the `...` with your code and `return` the distances."
    l2, linf = np.asarray(l2), np.asarray(linf)
    assert l2.shape == (2,) and linf.shape == (2,), "Return one number per image, shape (N,): reduce over H, W, C only."
    assert np.allclose(l2, [0.5, 0.1 * np.sqrt(3072)], rtol=1e-4), f"L2 is the square root of the sum of squares. Received {l2}."
    assert np.allclose(linf, [0.5, 0.1], rtol=1e-4), f"L-infinity is the largest absolute change. Received {linf}."


# %%
def test_properties(l2_distance, linf_distance):
    import numpy as np
    rng = np.random.default_rng(3)
    a, b = rng.random((4, 8, 8, 3)), rng.random((4, 8, 8, 3))
    assert l2_distance(a, a) is not None and linf_distance(a, a) is not None, \
        "l2_distance or linf_distance returned None: replace the `...` with your code and `return` the distances."
    assert np.allclose(l2_distance(a, a), 0) and np.allclose(linf_distance(a, a), 0), "The distance of an image to itself is 0."
    assert np.allclose(l2_distance(a, b), l2_distance(b, a)), "Distances are symmetric: use the absolute value / square."
    assert np.all(np.asarray(linf_distance(a, b)) <= np.asarray(l2_distance(a, b)) + 1e-9), "Always ||d||_inf <= ||d||_2."


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_not_the_library(l2_distance, linf_distance):
    from unittest import mock
    import numpy as np
    from robustkeras.attacks import steps
    a = np.random.default_rng(4).random((3, 4, 4, 3)).astype(np.float32)
    with mock.patch.object(steps, "l2_norm", side_effect=AssertionError("write it yourself")):
        assert np.allclose(l2_distance(a, 0 * a), np.sqrt((a.reshape(3, -1) ** 2).sum(1)), rtol=1e-5)
        assert np.allclose(linf_distance(a, 0 * a), a.reshape(3, -1).max(1), rtol=1e-5)


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
noise = np.clip(x[:8] + np.random.default_rng(0).normal(0, 8 / 255, x[:8].shape), 0, 1).astype(np.float32)
print("L2:  ", np.round(l2_distance(noise, x[:8]), 3))
print("Linf:", np.round(linf_distance(noise, x[:8]), 3))

# %% [markdown]
# Gaussian noise with a standard deviation of $8/255$ already has an $L_2$ norm near 1.7,
# yet it barely changes how the image looks. Keep these magnitudes in mind: the attacks of
# stage 02 find changes with $\|\delta\|_2 \le 0.5$ that fool a standard classifier.
#
# ## Summary
#
# * Images are `float32` in $[0, 1]$, shape `(N, 32, 32, 3)`; labels are integers 0-9
#   (`robustkeras.data.CLASSES`).
# * `image_grid` tiles a batch for figures; `class_counts` summarises labels.
# * The $L_2$ and $L_\infty$ norms of $x' - x$ measure how far an adversarial image may move.
#
# ## Further research
#
# * What is the $L_2$ norm of a perturbation that moves every value of a $32 \times 32 \times 3$
#   image by $\pm 8/255$? Compare it with the $L_2$ budget of 0.5 used in the later stages:
#   which threat model allows more change in total, and which more per pixel?
# * Load the full training set (`data.load_cifar10("train", as_numpy=True)`): are the
#   classes exactly balanced? Compute the per-channel mean and standard deviation.
# * Show the 16 images of one class that are closest (in $L_2$) to the class's mean image.
#
# Next: **01 · Classification**, where you train a small model with `fit`.
