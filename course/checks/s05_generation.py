"""Checks of stage 05 (generation)."""

import numpy as np

from course.checks import Check
from course.checks import _reference as ref
from course.checks._judge import close, judged, need, parts
from course.checks.probes.s05_generation import q05_class_objective_inputs, q05_class_seeds_inputs



@judged
def class_objective_verdict(outputs, seed):
    inp = q05_class_objective_inputs(seed)
    n = len(inp["target"])
    values = need(outputs, "values", (n,), "class_objective: one value per image,")
    want = ref.log_softmax(inp["logits"])[np.arange(n), inp["target"]]
    ok = close(values, want, rtol=1e-4, atol=1e-4)
    graph = "graph" in outputs and close(outputs["graph"], want, rtol=1e-4, atol=1e-4)
    # the master's tests: the values (public and hidden), driving the compiled optimizer (public)
    return parts((2, ok, "wrong values: log p(target_i | x_i) = log_softmax(logits)[i, target_i]"),
                 (1, graph, "not traceable into a compiled loop: use keras.ops only (no NumPy on tensors)"))


@judged
def class_seeds_verdict(outputs, seed):
    inp = q05_class_seeds_inputs(seed)
    shape = (len(inp["classes"]), *inp["images"].shape[1:])
    first = need(outputs, "first", shape, "class_seeds: (len(classes), H, W, C)")
    basics = (first.dtype == np.float32 and np.all(np.isfinite(first)) and first.min() >= 0 and first.max() <= 1)
    repeat = "again" in outputs and np.array_equal(outputs["again"], first)
    draws = not np.allclose(first[2], first[3])
    seeded = "other_seed" in outputs and not np.allclose(outputs["other_seed"], first)
    hint = ("return float32 seeds clipped to [0, 1]" if not basics else
            "the same seed must give the same images: draw with rng = np.random.default_rng(seed)" if not (repeat and seeded)
            else "two seeds of the same class must be different draws")
    constant = inp["images"][inp["labels"] == 4][0]
    stats = close(first[1], constant, atol=1e-5)
    stats_hint = "a class whose images are all equal has zero spread: its seed is its mean image (use each class's own images)"
    if stats:
        many = outputs.get("many")
        c = inp["many_class"]
        members = inp["images"][inp["labels"] == c].astype(np.float64)
        stats = (many is not None and many.shape == (400, *shape[1:])
                 and np.abs(many.mean(0) - members.mean(0)).mean() < 0.015
                 and abs(many.std(0).mean() / members.std(0).mean() - 1) < 0.15)
        stats_hint = ("seeds should have their class's per-pixel mean and standard deviation "
                      "(mean + std * standard normal noise, a diagonal Gaussian)")
        if stats:   # new draws, not copies of the class's images (those have the statistics too)
            nearest = np.abs(many[:, None].astype(np.float64) - members[None]).max(axis=(2, 3, 4)).min(axis=1)
            stats = bool(np.mean(nearest < 1e-4) < 0.05)
            stats_hint = "seeds must be new draws from the class's Gaussian, not copies of its images"
    # the determinism part counts only for seeds drawn from the class's images (seeded uniform
    # noise is deterministic too): the seed of a class whose images are all equal is that image
    from_data = close(first[1], constant, atol=1e-5)
    if basics and repeat and draws and seeded and not from_data:
        hint = "seeds must come from each class's own images (their per-pixel mean and standard deviation)"
    # the master's tests: shapes and determinism, statistics
    return parts((1, bool(basics and repeat and draws and seeded and from_data), hint), (1, bool(stats), stats_hint))


CHECKS = [
    Check("q05_class_objective", 3, ("class_objective",),
          ("robustkeras.synthesis.terms.class_log_prob", "robustkeras.synthesis.generation.class_objective"),
          class_objective_verdict, uses="keras.ops (it runs inside the compiled optimizer)"),
    Check("q05_class_seeds", 3, ("class_seeds",), ("robustkeras.synthesis.sample_seeds",), class_seeds_verdict,
          uses="numpy"),
]
