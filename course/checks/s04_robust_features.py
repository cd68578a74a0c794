"""Checks of stage 04 (robust features)."""

import numpy as np

from course.checks import Check
from course.checks import _reference as ref
from course.checks._judge import Wrong, close, ensure, ensure_in_ball, judged, need
from course.checks.probes.s04_robust_features import (
    q04_class_gradient_inputs, q04_class_gradient_model, q04_to_display_inputs, q04_towards_class_inputs,
    q04_towards_class_model)


def _class_gradient(model, x, classes):
    import tensorflow as tf
    x = tf.convert_to_tensor(np.asarray(x, np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        chosen = tf.gather(model(x, training=False), tf.constant(classes, tf.int32), batch_dims=1)
        total = tf.reduce_sum(chosen)
    return tape.gradient(total, x).numpy()


@judged
def class_gradient_verdict(outputs, seed):
    inp = q04_class_gradient_inputs(seed)
    x, c = inp["x"], inp["classes"]
    g = need(outputs, "linear", x.shape, "class_gradient: a gradient shaped like x,")
    w = inp["linear_w"]
    if close(g, np.broadcast_to(w.sum(1).reshape(x.shape[1:]), x.shape), atol=1e-4):
        raise Wrong("that is the gradient of the sum of all logits: take each image's own class logit")
    ensure(close(g, w[:, c].T.reshape(x.shape), atol=1e-4),
           "wrong gradient on a linear model (logits = W x: the answer is column classes[i] of W)")
    g = need(outputs, "conv", x.shape, "class_gradient: a gradient shaped like x,")
    ensure(close(g, _class_gradient(q04_class_gradient_model(inp), x, c), rtol=1e-3, atol=1e-4),
           "wrong gradient on a model with dropout: call the model with training=False")


@judged
def to_display_verdict(outputs, seed):
    g = q04_to_display_inputs(seed)["g"].astype(np.float64)
    out = need(outputs, "out", g.shape, "to_display: the input's shape")
    ensure(np.all(np.isfinite(out)), "an all-zero gradient gave nan or inf: guard the division (it should give 0.5)")
    scale = np.abs(g).max(axis=(1, 2, 3), keepdims=True)
    want = 0.5 + 0.5 * g / np.maximum(scale, 1e-12)
    ensure(close(out[3], 0.5, atol=1e-6), "an all-zero gradient must give grey (0.5)")
    ensure(close(out, want, atol=1e-5), "0.5 + 0.5 * g / max|g|, with max|g| taken per image over pixels and channels "
                                        "(the largest magnitude may be negative)")


@judged
def towards_class_verdict(outputs, seed):
    inp = q04_towards_class_inputs(seed)
    x, t, eps = inp["x"], inp["targets"], inp["eps"]
    out = need(outputs, "out", x.shape, "towards_class: the images' shape")
    ensure_in_ball(out, x, eps, "stay inside the L2 ball of radius eps around x: project after every step", tol=1e-4)
    model = q04_towards_class_model(inp)
    mine, clean = ref.log_prob(model, out, t), ref.log_prob(model, x, t)
    ensure(np.all(mine > clean), "the target's probability must rise for every image: step *up* log p(target | x) "
                                 "(minus the cross-entropy of the targets)")
    best_images = ref.pgd(model, x, t, norm="l2", eps=eps, step_size=2.5 * eps / inp["steps"], steps=inp["steps"],
                          targeted=True)
    best = ref.log_prob(model, best_images, t)
    ensure(mine.mean() >= best.mean() - 0.05 * abs(best.mean()),
           "weaker than targeted L2 PGD from the clean images with step 2.5 * eps / steps")
    # normalised L2 steps do not depend on the loss's scale: the same algorithm gives the same images
    ensure(close(out, best_images, atol=2e-3),
           "differs from targeted L2 PGD: `steps` steps of 2.5 * eps / steps up log p(target | x), each "
           "projected onto the ball around the clean x (not one step of eps)")


CHECKS = [
    Check("q04_class_gradient", 2, ("class_gradient",), ("robustkeras.backend.value_and_input_grad",),
          class_gradient_verdict, uses="tf tensor ops and tf.GradientTape"),
    Check("q04_to_display", 2, ("to_display",), (), to_display_verdict, uses="numpy"),
    Check("q04_towards_class", 3, ("towards_class",),
          ("robustkeras.attacks.pgd", "robustkeras.attacks.pgd.pgd_loop", "robustkeras.attacks.apgd",
           "robustkeras.engine.ascend"), towards_class_verdict, allowed=("robustkeras.attacks.L2Step",),
          uses="tf tensor ops and tf.GradientTape; keras.losses; the step rules `robustkeras.attacks.L2Step`"),
]
