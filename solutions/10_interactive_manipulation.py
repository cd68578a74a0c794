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
# name: 10_interactive_manipulation

# %% [markdown]
# # 10 · Interactive manipulation
#
# **Goal.** Paint with features (Santurkar et al. 2019, section 3.5). The robust model's
# penultimate layer holds a few hundred *features*; the classifier head weighs them into
# class logits. Choose a region of an image and a feature, and maximise that feature while
# penalising changes outside the region. Expect subtle edits: in a few steps the feature's
# activation rises by about half to double through small changes of colour and texture
# inside the region (a few grey levels on average), while the pixels outside barely move;
# more steps and repeated strokes make them stronger (the paper's section 3.5 shows such edits).
# The same `optimize`, with an objective on `features` instead of `logits`.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads: no CUDA start-up errors on a CPU

import matplotlib.pyplot as plt
import numpy as np
from keras import ops

from robustkeras import data, pretrained
from robustkeras.synthesis import feature_model, optimize

GRADING = os.environ.get("ROBUSTKERAS_GRADING") == "1" or os.path.exists("ROBUSTKERAS_GRADING")
robust = pretrained.load("fastnet_l2_robust")
x, y = data.load_sample(8)
_, features = feature_model(robust)(x[:1], training=False)
print("penultimate features per image:", features.shape[-1])

# %% [raw]
# # BEGIN QUESTION
# name: q10_feature_objective
# points: 3

# %% [markdown]
# **Exercise 1.** Write `feature_objective(params, x, logits, features)` in `keras.ops`:
# per image, the activation `features[i, params["unit"][i]]` minus
# `params["weight"]` times the sum over pixels and channels of
# `params["keep"] * (x - params["reference"]) ** 2` (`keep` is 0 inside the painted region).

# %% [raw]
# # BEGIN SOLUTION

# %%
def feature_objective(params, x, logits, features):
    """Chosen feature's activation minus the weighted squared change outside the region."""
    # BEGIN SOLUTION
    onehot = ops.one_hot(params["unit"], ops.shape(features)[-1], dtype=features.dtype)
    activation = ops.sum(features * onehot, axis=-1)
    change = ops.sum(params["keep"] * ops.square(x - params["reference"]), axis=(1, 2, 3))
    return activation - params["weight"] * change
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_feature_objective_values(feature_objective):
    import numpy as np
    features = np.array([[1.0, 5.0, 2.0], [0.5, 0.0, 3.0]], np.float32)
    reference = np.zeros((2, 2, 2, 1), np.float32)
    x = reference.copy()
    x[0, 0, 0, 0] = 0.5
    keep = np.ones((2, 2, 2, 1), np.float32)
    params = {"unit": np.array([1, 2]), "reference": reference, "keep": keep, "weight": np.float32(4.0)}
    out = feature_objective(params, x, None, features)
    assert out is not None, "feature_objective returned None: replace the `...` with your code and `return` the result."
    out = np.asarray(out)
    assert out.shape == (2,), f"Return one value per image. Received shape {out.shape}."
    assert np.allclose(out, [5.0 - 4 * 0.25, 3.0]), f"Expected [5 - 4 * 0.5**2, 3]. Received {out}."


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_own_feature_objective(feature_objective):
    from unittest import mock
    import numpy as np
    import importlib
    from robustkeras.synthesis import terms
    man = importlib.import_module("robustkeras.synthesis.manipulation")
    rng = np.random.default_rng(0)
    params = {"unit": np.array([3, 0]), "reference": rng.random((2, 4, 4, 3)).astype(np.float32),
              "keep": (rng.random((2, 4, 4, 1)) > 0.5).astype(np.float32), "weight": np.float32(2.0)}
    x = rng.random((2, 4, 4, 3)).astype(np.float32)
    features = rng.random((2, 6)).astype(np.float32)
    expected = np.asarray(man.feature_objective(params, x, None, features))
    boom = AssertionError("write it yourself")
    with mock.patch.object(man, "feature_objective", side_effect=boom), mock.patch.object(terms, "feature_value", side_effect=boom), \
         mock.patch.object(terms, "squared_distance", side_effect=boom):
        assert np.allclose(np.asarray(feature_objective(params, x, None, features)), expected, atol=1e-5)


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q10_top_units
# points: 2

# %% [markdown]
# **Exercise 2.** Which features make an image look like a class? Write
# `top_units(model, class_id, k=5)`: the indices of the `k` features with the largest weight
# into `class_id`'s logit, largest first. The head is `model.layers[-1]`, a `Dense` layer
# whose `kernel` has shape `(features, classes)`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def top_units(model, class_id, k=5):
    """The k features that raise class_id's logit most."""
    # BEGIN SOLUTION
    weights = np.asarray(model.layers[-1].kernel)
    return [int(i) for i in np.argsort(-weights[:, class_id])[:k]]
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_top_units(top_units):
    import numpy as np
    import keras
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    w = np.zeros((4, 3), np.float32)
    w[:, 1] = [0.1, 0.9, -0.5, 0.4]
    model.layers[-1].set_weights([w, np.zeros(3, np.float32)])
    out = top_units(model, 1, k=3)
    assert out is not None, "top_units returned None: replace the `...` with your code and `return` the unit indices."
    out = [int(i) for i in out]
    assert out == [1, 3, 0], f"Largest weights into class 1 first: expected [1, 3, 0]. Received {out}."


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q10_paint
# points: 3

# %% [markdown]
# **Exercise 3.** Write `paint(model, image, region, unit, *, steps=20, step_size=0.5, weight=10.0)`
# for one image `(H, W, 3)` and one region mask `(H, W, 1)` (1 = paint here): run `optimize`
# from the image with your `feature_objective` (add the batch axis to everything; `keep` is
# `1 - region`) and return the single resulting image `(H, W, 3)`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def paint(model, image, region, unit, *, steps=20, step_size=0.5, weight=10.0):
    """Grow feature `unit` inside `region` of one image."""
    # BEGIN SOLUTION
    params = {"unit": np.array([unit]), "reference": image[None], "keep": 1.0 - region[None],
              "weight": np.float32(weight)}
    return optimize(model, image[None], objective=feature_objective, params=params,
                    steps=steps, step_size=step_size).images[0]
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_paint_behaviour(paint):
    import numpy as np
    import keras
    from robustkeras.synthesis import feature_model
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))  # a functional model: synthesis reads its layer graph
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Dense(8, activation="relu")(keras.layers.Flatten()(inputs))))
    image = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    region = np.zeros((32, 32, 1), np.float32)
    region[:16] = 1
    feats = lambda t: np.asarray(feature_model(model)(t[None])[1])[0]
    unit = int(np.argmax(feats(image)))
    out = paint(model, image, region, unit, steps=8)
    assert out is not None, "paint returned None: replace the `...` with your code and `return` the result."
    out = np.asarray(out)
    assert out.shape == (32, 32, 3), f"Return one image (32, 32, 3). Received {out.shape}."
    assert feats(out)[unit] > feats(image)[unit], "The chosen feature should grow."
    assert np.abs(out[16:] - image[16:]).mean() < 0.02, "Outside the region the image should barely change (keep = 1 - region)."


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## Painting
#
# Regions are simple masks; the feature is one of the top units of a class you pick.
# First a static gallery (it is also what you see in a static copy of this notebook), then
# the interactive painter: the course's demo page (`robustkeras.demo`), opened inline. Its
# **Paint features** tab is this stage's painter with a freehand brush and undo; the other
# tabs are the earlier stages' tasks. In a terminal, `robustkeras demo` opens the same page.

# %%
def region_mask(name, size=32):
    mask = np.zeros((size, size, 1), np.float32)
    h = size // 2
    box = {"top": (slice(0, h), slice(None)), "bottom": (slice(h, None), slice(None)),
           "left": (slice(None), slice(0, h)), "right": (slice(None), slice(h, None)),
           "centre": (slice(size // 4, 3 * size // 4), slice(size // 4, 3 * size // 4))}[name]
    mask[box] = 1.0
    return mask


steps = 8 if GRADING else 30
image = x[0]
gallery = [("centre", 3), ("top", 7)] if GRADING else [(r, c) for r in ("centre", "top", "left") for c in (1, 3, 7, 9)]
from robustkeras.plotting import image_grid

painted = [paint(robust, image, region_mask(where), top_units(robust, class_id)[0], steps=steps)
           for where, class_id in gallery]
image_grid([np.asarray(p)[None] for p in [image, *painted]],
           column_titles=["original"] + [f"{data.CLASSES[c]} @ {where}" for where, c in gallery])
plt.show()

# %%
LAUNCH_PAGE = not GRADING  # set False to skip the page (it needs `pip install "robustkeras[demo]"`)
if LAUNCH_PAGE:
    import importlib.util
    import subprocess
    import sys

    if importlib.util.find_spec("gradio") is None and "google.colab" in sys.modules:  # Colab: the demo extra
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "./robustkeras[demo]"], check=True)
    from robustkeras.demo import launch

    page = launch(block=False, inline=True)  # the page opens below; `page.close()` stops it

# %% [markdown]
# `robustkeras.synthesis.FeaturePainter` packages the same state (image history, undo,
# top units, prediction) for your own interfaces: the page's **Paint features** tab is built on it.
#
# ## Summary
#
# * Penultimate-layer features of a robust model are visual: maximising one inside a region
#   raises it through changes of colour and texture there (subtle in a few steps; stronger with
#   more steps and repeated strokes).
# * The objective reads `features` instead of `logits`; a penalty outside the region keeps
#   the rest of the image.
# * Six tasks, one engine: generation, inpainting, super-resolution, sketch-to-image,
#   translation and manipulation are all `optimize` with a different objective, constraint
#   and start. That is the point of the paper: *one robust classifier is enough*.
#
# ## Further research
#
# * Paint two features in two regions of the same image.
# * Paint with the *standard* model's top features. What appears?
# * Compare the top features of classes that look alike (cat and dog, automobile and truck).
