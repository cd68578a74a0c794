"""Probes of stage 09 (translation): picking images, the task, a judge's success rate."""

import numpy as np

from ._common import answer, as_array, rng
from ._models import tiny_model
from ._synthesis import synthesis_model

def classes():
    """The course's class names (`robustkeras.data.CLASSES`)."""
    from robustkeras import data

    return tuple(data.CLASSES)


def q09_images_of_inputs(seed):
    CLASSES = classes()
    r = rng(seed, 9, 1)
    labels = r.integers(0, 4, 24)
    wanted = int(r.integers(0, 4))
    labels[r.choice(24, 6, replace=False)] = wanted
    rare = 9
    labels[int(r.integers(0, 24))] = rare
    return {"images": np.arange(24, dtype=np.float32).reshape(24, 1, 1, 1) * np.ones((1, 2, 2, 3), np.float32),
            "labels": labels, "class_name": CLASSES[wanted], "k": int(r.integers(2, 5)),
            "rare_name": CLASSES[rare], "unknown": "unicorn"}


def probe_q09_images_of(ns, seed):
    fn = answer(ns, "images_of")
    inp = q09_images_of_inputs(seed)
    images, labels = inp["images"], inp["labels"]
    out = {"first_k": as_array(fn(images.copy(), labels.copy(), inp["class_name"], inp["k"]), "images_of"),
           "rare": as_array(fn(images.copy(), labels.copy(), inp["rare_name"], 5), "images_of")}
    raised, names, CLASSES = False, 0, classes()
    try:
        fn(images.copy(), labels.copy(), inp["unknown"], 1)
    except ValueError as err:
        raised, names = True, sum(name in str(err) for name in CLASSES)
    except Exception:
        pass
    out["unknown_raises"], out["unknown_names"] = np.array(raised), np.array(names)
    return out


def q09_translate_inputs(seed):
    r = rng(seed, 9, 2)
    return {"images": r.random((3, 32, 32, 3)).astype(np.float32), "target_class": int(r.integers(0, 10)),
            "steps": 6, "step_size": 0.5, "radius": float(r.uniform(1.0, 2.0)), "model_seed": int(r.integers(0, 2 ** 31))}


def probe_q09_translate(ns, seed):
    fn = answer(ns, "translate_images")
    inp = q09_translate_inputs(seed)
    model = synthesis_model(inp["model_seed"])
    return {"out": as_array(fn(model, inp["images"].copy(), inp["target_class"], steps=inp["steps"],
                               step_size=inp["step_size"], radius=inp["radius"]), "translate_images")}


def q09_success_rate_inputs(seed):
    r = rng(seed, 9, 3)
    n = int(r.integers(30, 45))
    inp = {"images": r.random((n, 4, 4, 3)).astype(np.float32), "model_seed": int(r.integers(0, 2 ** 31))}
    # the judge's two most frequent answers: dropout noise (training=True) changes their rates
    pred = np.argmax(np.asarray(q09_success_rate_model(inp)(inp["images"], training=False)), 1)
    inp["targets"] = np.argsort(-np.bincount(pred, minlength=5), kind="stable")[:2]
    return inp


def q09_success_rate_model(inp):
    """A judge with dropout: called with training=True it answers differently."""
    return tiny_model(inp["model_seed"], (4, 4, 3), 5, hidden=16, dropout=0.5, scale=2.0)


def probe_q09_success_rate(ns, seed):
    fn = answer(ns, "success_rate")
    inp = q09_success_rate_inputs(seed)
    judge = q09_success_rate_model(inp)
    return {f"rate{i}": as_array(fn(judge, inp["images"].copy(), int(t)), "success_rate")
            for i, t in enumerate(inp["targets"])}
