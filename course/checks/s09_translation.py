"""Checks of stage 09 (translation)."""

import numpy as np

from course.checks import Check
from course.checks import _reference as ref
from course.checks._judge import ensure, ensure_in_ball, judged, need
from course.checks.probes._models import logits_of
from course.checks.probes._synthesis import synthesis_model
from course.checks.probes.s09_translation import (
    classes, q09_images_of_inputs, q09_success_rate_inputs, q09_success_rate_model, q09_translate_inputs)


@judged
def images_of_verdict(outputs, seed):
    CLASSES = classes()
    inp = q09_images_of_inputs(seed)
    images, labels = inp["images"], inp["labels"]
    want = images[labels == CLASSES.index(inp["class_name"])][:inp["k"]]
    out = need(outputs, "first_k", want.shape, "images_of(images, labels, class_name, k): (k, H, W, C)")
    ensure(np.array_equal(out, want), "return the first k images of that class, in their original order")
    want = images[labels == CLASSES.index(inp["rare_name"])][:5]
    out = need(outputs, "rare", want.shape, "images_of with k larger than the class's count: only the images that exist,")
    ensure(np.array_equal(out, want), "with k larger than the class's count, return the images that exist")
    ensure(bool(need(outputs, "unknown_raises", ())), "an unknown class name should raise ValueError")
    ensure(int(need(outputs, "unknown_names", ())) >= 3, "name the valid classes in the ValueError's message")


@judged
def translate_verdict(outputs, seed):
    inp = q09_translate_inputs(seed)
    images, t = inp["images"], inp["target_class"]
    out = need(outputs, "out", images.shape, "translate_images: the images' shape")
    ensure_in_ball(out, images, inp["radius"], "stay within `radius` (L2) of the source images")
    model = synthesis_model(inp["model_seed"])
    targets = np.full(len(images), t)
    ensure(np.all(ref.log_prob(model, out, targets) > ref.log_prob(model, images, targets)),
           "p(target) should rise for every image (one target class for all: np.full(len(images), target_class))")


@judged
def success_rate_verdict(outputs, seed):
    inp = q09_success_rate_inputs(seed)
    pred = logits_of(q09_success_rate_model(inp), inp["images"]).argmax(1)
    for i, t in enumerate(inp["targets"]):
        rate = need(outputs, f"rate{i}", None, "success_rate")
        ensure(rate.size == 1, "return one number, a fraction in [0, 1]")
        ensure(np.isclose(float(rate), float(np.mean(pred == t)), atol=1e-6),
               "wrong rate: the fraction of images whose largest judge logit is target_class, "
               "with the judge in inference mode (training=False)")


CHECKS = [
    Check("q09_images_of", 2, ("images_of",), (), images_of_verdict, uses="numpy"),
    Check("q09_translate", 3, ("translate_images",),
          ("robustkeras.synthesis.translation.translate", "robustkeras.synthesis.sketch.sketch_to_image",
           "robustkeras.synthesis.translation.run_translation"),
          translate_verdict, allowed=("robustkeras.synthesis.optimize", "robustkeras.synthesis.class_objective"),
          uses="numpy; `robustkeras.synthesis.optimize` and `class_objective`"),
    Check("q09_success_rate", 2, ("success_rate",),
          ("robustkeras.metrics.judge_accuracy", "robustkeras.evaluate.clean_accuracy", "robustkeras.evaluate.predict_logits"),
          success_rate_verdict, uses="numpy; calling the model on a batch"),
]
