"""Probes of stage 05 (generation): the class objective, class-conditional seeds."""

import numpy as np

from ._common import answer, as_array, attempt, rng


def q05_class_objective_inputs(seed):
    r = rng(seed, 5, 1)
    n, k = int(r.integers(4, 8)), int(r.integers(4, 13))
    return {"logits": (r.normal(0, 3, (n, k))).astype(np.float32), "target": r.integers(0, k, n)}


def probe_q05_class_objective(ns, seed):
    import tensorflow as tf

    fn = answer(ns, "class_objective")
    inp = q05_class_objective_inputs(seed)
    z, t = inp["logits"], inp["target"]
    out = {"values": as_array(fn({"target": t.copy()}, None, z.copy(), None), "class_objective")}
    attempt(out, "graph", lambda: as_array(
        tf.function(lambda a, b: fn({"target": b}, None, a, None))(tf.constant(z), tf.constant(t)), "class_objective"))
    return out


def q05_class_seeds_inputs(seed):
    r = rng(seed, 5, 2)
    shape = (3, 3, 2)
    means = r.uniform(0.35, 0.65, (4, *shape))
    stds = r.uniform(0.04, 0.08, (4, *shape))
    labels = np.repeat(np.arange(5), 40)
    images = np.empty((200, *shape))
    for c in range(4):
        images[labels == c] = means[c] + stds[c] * r.standard_normal((40, *shape))
    images[labels == 4] = r.uniform(0.2, 0.8, shape)           # a class with no spread
    order = r.permutation(200)
    classes = np.array([int(r.integers(0, 4)), 4, 2, 2, int(r.integers(0, 4))])
    return {"images": images[order].astype(np.float32), "labels": labels[order], "classes": classes,
            "seed": int(r.integers(0, 1000)), "many_class": int(r.integers(0, 4)), "means": means, "stds": stds}


def probe_q05_class_seeds(ns, seed):
    fn = answer(ns, "class_seeds")
    inp = q05_class_seeds_inputs(seed)
    images, labels, classes, s = inp["images"], inp["labels"], inp["classes"], inp["seed"]
    out = {"first": as_array(fn(images.copy(), labels.copy(), classes.copy(), seed=s), "class_seeds")}
    attempt(out, "again", lambda: as_array(fn(images.copy(), labels.copy(), classes.copy(), seed=s), "class_seeds"))
    attempt(out, "other_seed", lambda: as_array(fn(images.copy(), labels.copy(), classes.copy(), seed=s + 1), "class_seeds"))
    attempt(out, "many", lambda: as_array(
        fn(images.copy(), labels.copy(), np.full(400, inp["many_class"]), seed=s), "class_seeds"))
    return out
