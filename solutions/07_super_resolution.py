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
# name: 07_super_resolution

# %% [markdown]
# # 07 · Super-resolution
#
# **Goal.** Turn an 8x8 image into a 32x32 one (Santurkar et al. 2019, section 3.4). Start
# from the bicubic upsampling, then take class-guided steps that never contradict the
# low-resolution image: start on, and after every step *project* onto, the set of images whose
# $4 \times 4$ block averages equal the low-resolution pixels. This time the constraint is a
# projection rather than a penalty, and the objective is plain $\log p(y \mid x)$.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads: no CUDA start-up errors on a CPU

import matplotlib.pyplot as plt
import numpy as np
from keras import ops

from robustkeras import data, pretrained
from robustkeras.synthesis import bicubic, class_objective, optimize

GRADING = os.environ.get("ROBUSTKERAS_GRADING") == "1" or os.path.exists("ROBUSTKERAS_GRADING")
robust = pretrained.load("fastnet_l2_robust")
standard = pretrained.load("fastnet_standard")
x, y = data.load_sample(8 if GRADING else 32)
factor = 4

# %% [raw]
# # BEGIN QUESTION
# name: q07_downsample
# points: 2

# %% [markdown]
# **Exercise 1.** Write `downsample(images, factor)` in NumPy: average each
# `factor` x `factor` block of pixels (per channel), `(N, H, W, C)` to
# `(N, H / factor, W / factor, C)`. Hint: reshape to `(N, H/f, f, W/f, f, C)` and average
# two axes.

# %% [raw]
# # BEGIN SOLUTION

# %%
def downsample(images, factor):
    """Average-pool by an integer factor."""
    # BEGIN SOLUTION
    images = np.asarray(images, np.float32)
    n, h, w, c = images.shape
    return images.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_block_means(downsample):
    import numpy as np
    img = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    out = downsample(img, 2)
    assert out is not None, "downsample returned None: replace the `...` with your code and `return` the result."
    out = np.asarray(out)
    assert out.shape == (1, 2, 2, 1), f"Expected shape (1, 2, 2, 1). Received {out.shape}."
    assert np.allclose(out.ravel(), [2.5, 4.5, 10.5, 12.5]), f"Each output pixel is the mean of a 2x2 block. Received {out.ravel()}."


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_matches_library_without_it(downsample):
    from unittest import mock
    import numpy as np
    import importlib
    sr = importlib.import_module("robustkeras.synthesis.super_resolution")
    import robustkeras.synthesis as synthesis
    images = np.random.default_rng(0).random((3, 32, 32, 3)).astype(np.float32)
    expected = sr.downsample(images, 4)
    boom = AssertionError("write it yourself")
    with mock.patch.object(sr, "downsample", side_effect=boom), mock.patch.object(synthesis, "downsample", side_effect=boom):
        assert np.allclose(np.asarray(downsample(images, 4)), expected, atol=1e-6)


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q07_lowres_projection
# points: 3

# %% [markdown]
# **Exercise 2.** Write `lowres_projection(params, x)` in `keras.ops` (it runs inside the
# compiled loop): given `params["lowres"]` of shape `(N, H/f, W/f, C)`, shift every
# `f` x `f` block of `x` by the same amount so that its mean becomes the low-resolution
# pixel. Compute the block means of `x` as in exercise 1 (`ops.reshape`, `ops.mean`), the
# difference to `lowres`, and add it back repeated over each block (`ops.repeat` along
# axes 1 and 2). (This is the exact Euclidean projection onto the consistent images.)

# %% [raw]
# # BEGIN SOLUTION

# %%
def lowres_projection(params, x):
    """Make every f x f block of x average to the low-resolution pixel."""
    # BEGIN SOLUTION
    lowres = params["lowres"]
    f = ops.shape(x)[1] // ops.shape(lowres)[1]
    n, h, w, c = ops.shape(x)
    pooled = ops.mean(ops.reshape(x, (n, h // f, f, w // f, f, c)), axis=(2, 4))
    return x + ops.repeat(ops.repeat(lowres - pooled, f, axis=1), f, axis=2)
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_projection_is_consistent(lowres_projection):
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.random((2, 8, 8, 3)).astype(np.float32)
    lowres = rng.random((2, 2, 2, 3)).astype(np.float32)
    out = lowres_projection({"lowres": lowres}, x)
    assert out is not None, "lowres_projection returned None: replace the `...` with your code and `return` the result."
    out = np.asarray(out)
    assert out.shape == x.shape, f"Expected shape {x.shape}. Received {out.shape}."
    pooled = out.reshape(2, 2, 4, 2, 4, 3).mean(axis=(2, 4))
    assert np.allclose(pooled, lowres, atol=1e-5), "After the projection every 4x4 block must average to its low-res pixel."
    detail = (out - x).reshape(2, 2, 4, 2, 4, 3)
    assert np.allclose(detail, detail[:, :, :1, :, :1], atol=1e-5), "Shift all pixels of a block by the same amount (keep the detail)."
    again = np.asarray(lowres_projection({"lowres": lowres}, out))
    assert np.allclose(again, out, atol=1e-5), "A projection must not move an image that is already consistent."


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_own_projection(lowres_projection):
    from unittest import mock
    import numpy as np
    import importlib
    sr = importlib.import_module("robustkeras.synthesis.super_resolution")
    rng = np.random.default_rng(1)
    x = rng.random((1, 32, 32, 3)).astype(np.float32)
    params = {"lowres": rng.random((1, 8, 8, 3)).astype(np.float32)}
    expected = np.asarray(sr.lowres_projection(params, x))
    with mock.patch.object(sr, "lowres_projection", side_effect=AssertionError("write it yourself")):
        assert np.allclose(np.asarray(lowres_projection(params, x)), expected, atol=1e-5)


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q07_super_resolve
# points: 3

# %% [markdown]
# **Exercise 3.** Write `super_resolve_images(model, lowres, labels, *, factor, steps, step_size=0.1, radius=1.0)`.
# Bicubic upsampling is not consistent with average pooling, so start from its projection:
# `start = clip(lowres_projection(params, bicubic(lowres, factor)), 0, 1)` as `float32`, with
# `params = {"target": labels, "lowres": lowres}`. Then run `optimize` from `start` with the
# library's `class_objective`, an $L_2$ ball of `radius` around the start, and
# `project=lowres_projection`. Return the result's `.images`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def super_resolve_images(model, lowres, labels, *, factor, steps, step_size=0.1, radius=1.0):
    """Bicubic upsampling refined by class-guided, low-res-consistent steps."""
    # BEGIN SOLUTION
    params = {"target": labels, "lowres": np.asarray(lowres, np.float32)}
    start = np.clip(np.asarray(lowres_projection(params, bicubic(lowres, factor))), 0.0, 1.0).astype(np.float32)
    return optimize(model, start, objective=class_objective, params=params, steps=steps,
                    step_size=step_size, radius=radius, project=lowres_projection).images
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_super_resolve_behaviour(super_resolve_images):
    import numpy as np
    import keras
    from robustkeras.synthesis import bicubic
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))  # a functional model: synthesis reads its layer graph
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Dense(8, activation="relu")(keras.layers.Flatten()(inputs))))
    rng = np.random.default_rng(0)
    lowres = (0.2 + 0.6 * rng.random((2, 8, 8, 3))).astype(np.float32)
    labels = np.array([1, 6])
    out = super_resolve_images(model, lowres, labels, factor=4, steps=8)
    assert out is not None, "super_resolve_images returned None: replace the `...` with your code and `return` the result."
    out = np.asarray(out)
    assert out.shape == (2, 32, 32, 3), f"Expected (2, 32, 32, 3). Received {out.shape}."
    pooled = out.reshape(2, 8, 4, 8, 4, 3).mean(axis=(2, 4))
    assert np.abs(pooled - lowres).mean() < 0.01, "The result must average back to the low-res image: pass project=lowres_projection."
    start = bicubic(lowres, 4)
    assert not np.allclose(out, start, atol=1e-3), "Nothing changed: start at the bicubic image and take the steps."
    from robustkeras.synthesis import super_resolve
    ref = super_resolve(model, lowres, labels, factor=4, steps=8, step_size=0.1, radius=1.0).images
    assert np.allclose(out, ref, atol=1e-3), \
        "Differs from the library's super_resolve with the same settings: bicubic start, class_objective, radius around the start, project=lowres_projection."


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_own_super_resolve(super_resolve_images):
    from unittest import mock
    import numpy as np
    import keras
    import importlib
    import robustkeras.synthesis as synthesis
    sr = importlib.import_module("robustkeras.synthesis.super_resolution")
    keras.utils.set_random_seed(1)
    inputs = keras.Input((32, 32, 3))  # a functional model: synthesis reads its layer graph
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Dense(8, activation="relu")(keras.layers.Flatten()(inputs))))
    lowres = np.random.default_rng(1).random((1, 8, 8, 3)).astype(np.float32)
    boom = AssertionError("use your own projection")
    with mock.patch.object(synthesis, "super_resolve", side_effect=boom), mock.patch.object(sr, "super_resolve", side_effect=boom), \
         mock.patch.object(sr, "lowres_projection", side_effect=boom):
        out = super_resolve_images(model, lowres, np.array([3]), factor=4, steps=3)
        assert out is not None, "super_resolve_images returned None: replace the `...` with your code and `return` the result."
        out = np.asarray(out)
    assert out.shape == (1, 32, 32, 3)


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
lowres = downsample(x, factor)
steps = 10 if GRADING else 30
sr = {name: super_resolve_images(m, lowres, y, factor=factor, steps=steps) for name, m in (("robust", robust), ("standard", standard))}
base = bicubic(lowres, factor)
nearest = np.repeat(np.repeat(lowres, factor, 1), factor, 2)
n = min(8, len(x))
rows = (("8x8 input", nearest), ("bicubic", base), ("robust", sr["robust"]), ("standard", sr["standard"]), ("original", x))
from robustkeras.plotting import image_grid

image_grid([np.stack(column) for column in zip(*[images[:n] for _, images in rows])],
           column_titles=[data.CLASSES[c] for c in y[:n]], row_labels=[label for label, _ in rows])
plt.show()
for label, images in rows[1:4]:
    print(f"{label:9s} RMS error against the original {np.sqrt(np.mean((images - x) ** 2)):.4f}")

# %% [markdown]
# The robust model sharpens edges in a class-typical way; the standard model's changes are
# invisible. Note the RMS error: class-guided detail is not the true detail, so a sharper
# image can be *further* from the original than the smooth bicubic one. Super-resolution by
# a classifier is about plausibility, not fidelity.
#
# ## Summary
#
# * A constraint can be a projection (`project=`) instead of a penalty: here the exact
#   projection onto the images consistent with the low-resolution input.
# * Start from a good baseline (bicubic, made consistent) and keep the steps within a small
#   ball around it.
#
# ## Further research
#
# * Measure PSNR and SSIM (`robustkeras.metrics.psnr`, `ssim`) of bicubic, the
#   low-resolution projection alone (`robustkeras.synthesis.lowres_projection`) and your
#   super-resolution. Which step brings most of the gain?
# * Guide with a *wrong* class label. What changes in the image?
# * Compare factors 2 and 4.
#
# Next: **08 · Sketch-to-image**.
