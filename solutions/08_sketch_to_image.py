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
# name: 08_sketch_to_image

# %% [markdown]
# # 08 · Sketch-to-image
#
# **Goal.** Turn a crude sketch into an image of a chosen class (Santurkar et al. 2019,
# section 3.5). A sketch is just a very unusual start image: maximise
# $\log p(y \mid x)$ inside an $L_2$ ball around it, large enough to add colour and texture,
# small enough to keep the drawn shape. You will make sketches from photos (edge maps), and
# draw one by hand with strokes.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads: no CUDA start-up errors on a CPU

import matplotlib.pyplot as plt
import numpy as np

from robustkeras import data, pretrained
from robustkeras.synthesis import class_objective, class_probability, optimize, strokes_to_sketch

GRADING = os.environ.get("ROBUSTKERAS_GRADING") == "1" or os.path.exists("ROBUSTKERAS_GRADING")
robust = pretrained.load("fastnet_l2_robust")
standard = pretrained.load("fastnet_standard")
x, y = data.load_sample(8 if GRADING else 16)

# %% [raw]
# # BEGIN QUESTION
# name: q08_edge_sketch
# points: 3

# %% [markdown]
# **Exercise 1.** Write `edge_sketch(images)`: a white sketch with dark lines where the
# image has edges, shape `(N, H, W, 3)` in $[0, 1]$:
#
# 1. grey level $g = 0.299 R + 0.587 G + 0.114 B$;
# 2. gradient magnitude $\sqrt{g_x^2 + g_y^2}$ with `np.gradient(g, axis=(1, 2))`;
# 3. divide by each image's 90th-percentile magnitude plus `1e-6` and clip to $[0, 1]$: the
#    line strength;
# 4. sketch $= 1 -$ line strength, repeated over the 3 channels.

# %% [raw]
# # BEGIN SOLUTION

# %%
def edge_sketch(images):
    """Dark edge lines on white, one sketch per image."""
    # BEGIN SOLUTION
    images = np.asarray(images, np.float32)
    gray = images @ np.array([0.299, 0.587, 0.114], np.float32)
    gy, gx = np.gradient(gray, axis=(1, 2))
    magnitude = np.hypot(gx, gy)
    scale = np.percentile(magnitude, 90, axis=(1, 2), keepdims=True) + 1e-6
    lines = np.clip(magnitude / scale, 0.0, 1.0)
    return np.repeat((1.0 - lines)[..., None], 3, axis=-1).astype(np.float32)
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_sketch_of_a_step(edge_sketch):
    import numpy as np
    images = np.zeros((3, 32, 32, 3), np.float32)
    images[0] = np.repeat([0.0, 0.2, 0.4, 1.0], 8)[None, :, None]  # edges at columns 7/8, 15/16 and 23/24 (3x stronger)
    images[1] = 0.1 * images[0]     # the same picture at a tenth of the contrast
    images[2] = 0.3                 # a flat image
    out = edge_sketch(images)
    assert out is not None, "edge_sketch returned None: `return` the sketches."
    out = np.asarray(out)
    assert out.shape == images.shape, f"Expected shape {images.shape}. Received {out.shape}."
    assert np.all(np.isfinite(out)), "The sketch has nan or inf: guard the division (add 1e-6 to the percentile)."
    assert not np.allclose(out[2], 0.0), (
        "A flat image gave a black sketch: a sketch is dark lines on white, 1 - (clipped edge strength), not the "
        "edge strength itself (inverted).")
    assert np.allclose(out[2], 1.0), "A flat image has no edges: its sketch is all white (1.0)."
    assert out.min() >= 0 and out.max() <= 1, (
        f"A sketch lives in [0, 1]; yours reaches {out.min():.3g}. Edges stronger than the 90th percentile give a "
        "ratio above 1: clip magnitude / percentile to [0, 1] before 1 - lines.")
    assert out[0, :, [7, 8, 15, 16, 23, 24]].max() < 0.5, "The edges (columns 7/8, 15/16 and 23/24) should be dark."
    assert np.allclose(out[0, :, 10:14], 1.0) and np.allclose(out[0, :, 26:], 1.0), "Far from the edges the sketch is white."
    pair = edge_sketch(images[:2])
    assert pair is not None, "edge_sketch returned None: replace the `...` with your code and `return` the result."
    pair = np.asarray(pair)
    assert np.allclose(pair[1], pair[0], atol=0.02), (
        "The same picture at a tenth of the contrast should give the same sketch: scale each image by its own "
        "90th percentile (axis=(1, 2), per image), not by one percentile for the whole batch.")


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_own_sketch(edge_sketch):
    from unittest import mock
    import numpy as np
    import importlib
    import robustkeras.synthesis as synthesis
    sk = importlib.import_module("robustkeras.synthesis.sketch")
    images = np.random.default_rng(0).random((3, 32, 32, 3)).astype(np.float32)
    expected = sk.make_sketch(images, "edges")
    boom = AssertionError("write it yourself")
    with mock.patch.object(sk, "make_sketch", side_effect=boom), mock.patch.object(synthesis, "make_sketch", side_effect=boom), \
         mock.patch.object(sk, "_edges", side_effect=boom):
        out = edge_sketch(images)
        assert out is not None, "edge_sketch returned None: replace the `...` with your code and `return` the result."
        out = np.asarray(out)
    assert np.allclose(out, expected, atol=1e-4)


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q08_sketch_to_image
# points: 3

# %% [markdown]
# **Exercise 2.** Write `sketch_to_image(model, sketches, classes, *, steps, step_size=0.5, radius=8.0)`:
# run `optimize` from the sketches with the library's `class_objective` (targets `classes`)
# inside an $L_2$ ball of `radius` around the sketches, and return the result's `.images`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def sketch_to_image(model, sketches, classes, *, steps, step_size=0.5, radius=8.0):
    """Grow sketches into images of `classes` within an L2 ball."""
    # BEGIN SOLUTION
    return optimize(model, sketches, objective=class_objective, params={"target": np.asarray(classes)},
                    steps=steps, step_size=step_size, radius=radius).images
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
def test_sketch_to_image_behaviour(sketch_to_image):
    import numpy as np
    import keras
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))  # a functional model: synthesis reads its layer graph
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Dense(8, activation="relu")(keras.layers.Flatten()(inputs))))
    sketches = np.ones((2, 32, 32, 3), np.float32)
    sketches[:, 10:22, 15:17] = 0.0
    classes = np.array([5, 9])
    out = sketch_to_image(model, sketches, classes, steps=6, step_size=0.5, radius=2.0)
    assert out is not None, "sketch_to_image returned None: `return` the images (optimize(...).images)."
    out = np.asarray(out)
    assert out.shape == sketches.shape, f"Expected shape {sketches.shape}. Received {out.shape}."
    distance = lambda images: np.linalg.norm((np.asarray(images) - sketches).reshape(2, -1), axis=1)
    assert np.all(distance(out) <= 2.0 + 1e-3), f"Stay within `radius` of the sketch. Distances {distance(out)}."
    p = lambda t: keras.ops.softmax(model(t)).numpy()[np.arange(2), classes]
    assert np.all(p(out) > p(sketches)), "The target class's probability should rise."
    d = distance(sketch_to_image(model, sketches, classes, steps=6, step_size=1.0, radius=0.5))
    assert np.all(d <= 0.5 + 1e-3), (
        f"With radius=0.5 the images moved {np.round(d, 3)} from the sketch: pass the caller's `radius` on to optimize.")
    d = distance(sketch_to_image(model, sketches, classes, steps=4, step_size=0.02, radius=8.0))
    assert np.all(d <= 4 * 0.02 + 1e-3), (
        f"4 steps of step_size=0.02 move an image at most 0.08; these moved {np.round(d, 3)}: pass the caller's "
        "`step_size` on to optimize (no fixed step size).")


# %%
""" # BEGIN TEST CONFIG
hidden: true
""" # END TEST CONFIG
def test_own_sketch_to_image(sketch_to_image):
    from unittest import mock
    import numpy as np
    import keras
    import importlib
    import robustkeras.synthesis as synthesis
    sk = importlib.import_module("robustkeras.synthesis.sketch")
    tr = importlib.import_module("robustkeras.synthesis.translation")
    keras.utils.set_random_seed(1)
    inputs = keras.Input((32, 32, 3))  # a functional model: synthesis reads its layer graph
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(inputs)))
    boom = AssertionError("call optimize yourself")
    with mock.patch.object(synthesis, "sketch_to_image", side_effect=boom), mock.patch.object(sk, "sketch_to_image", side_effect=boom), \
         mock.patch.object(synthesis, "translate", side_effect=boom), mock.patch.object(tr, "translate", side_effect=boom):
        out = sketch_to_image(model, np.ones((1, 32, 32, 3), np.float32), np.array([2]), steps=2)
        assert out is not None, "sketch_to_image returned None: replace the `...` with your code and `return` the result."
        out = np.asarray(out)
    assert out.shape == (1, 32, 32, 3)


# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
steps = 15 if GRADING else 60
sketches = edge_sketch(x)
grown = {name: sketch_to_image(m, sketches, y, steps=steps) for name, m in (("robust", robust), ("standard", standard))}
n = min(8, len(x))
rows = (("photo", x), ("edge sketch", sketches), ("robust", grown["robust"]), ("standard", grown["standard"]))
from robustkeras.plotting import image_grid

image_grid([np.stack(column) for column in zip(*[images[:n] for _, images in rows])],
           column_titles=[data.CLASSES[c] for c in y[:n]], row_labels=[label for label, _ in rows])
plt.show()

# %% [markdown]
# Each column: a test photo, its edge sketch, and what each model grows from that sketch
# towards the photo's class inside an $L_2$ ball of radius 8. Expected: the robust model
# adds coarse colour and shading that follow the outline; the standard model's changes are
# mostly fine-grained (less of them survives a blur), as in stage 05.
#
# ## A hand-drawn sketch
#
# `strokes_to_sketch` rasterises strokes given as lists of `(row, column)` points in
# $[0, 1]$. Below: a crude horse-like outline (body, legs, neck and head) turned into each
# class the robust model knows. Edit the strokes and rerun to draw your own.

# %%
strokes = [
    [(0.45, 0.2), (0.45, 0.7), (0.6, 0.75), (0.6, 0.2), (0.45, 0.2)],   # body
    [(0.6, 0.25), (0.85, 0.25)], [(0.6, 0.35), (0.85, 0.35)],           # hind legs
    [(0.6, 0.6), (0.85, 0.6)], [(0.6, 0.7), (0.85, 0.7)],               # front legs
    [(0.45, 0.7), (0.2, 0.8), (0.25, 0.9)],                             # neck and head
]
drawing = strokes_to_sketch(strokes)
wanted = np.array([7, 4, 3]) if GRADING else np.arange(10)
outs = sketch_to_image(robust, np.repeat(drawing, len(wanted), 0), wanted, steps=steps)
judge = pretrained.load("fastnet_judge")  # a standard classifier that generated nothing (stage 05)
own, judged = class_probability(robust, outs, wanted), class_probability(judge, outs, wanted)
image_grid([image[None] for image in [drawing[0], *outs]],
           column_titles=["sketch"] + [f"{data.CLASSES[c]}: judge {p:.0%}" for c, p in zip(wanted, judged)])
plt.show()
print(f"p(class), mean over the {len(wanted)} classes: the generator itself {own.mean():.2f}, the judge {judged.mean():.2f}")

# %% [markdown]
# Each column is the sketch grown towards one class; its title is the *judge's* probability
# of that class (the generator's own probability is near 100 % for most classes and says
# little: it fits any class within the ball). Expected: the judge recognises some classes
# (those the outline suits) and not others, which keep the outline and gain mostly colour.

# %% [markdown]
# ## Summary
#
# * A sketch is a start point; the ball radius trades faithfulness to the drawing against
#   how much texture and colour the model may add.
# * Sketch-to-image is class-to-class translation with a larger ball
#   (`robustkeras.synthesis.sketch_to_image`), which is the next stage.
#
# ## Further research
#
# * Draw your own strokes. From one sketch, which classes come out recognisable?
# * Change the edge detector's threshold (thicker or thinner sketches). How much of the
#   sketch does the robust model keep?
# * Judge the results with the low-pass judge of stage 05.
#
# Next: **09 · Translation**.
