"""Compiled once: attacks and synthesis trace one graph per model and option set, not per call.

Changing eps, the step size, the number of steps or the seed between calls must reuse the
trace (they are tensors); a retrace per call would make every call pay seconds of tracing.
"""

import keras
import numpy as np
import pytest

from robustkeras import backend, synthesis
from robustkeras.attacks import apgd, pgd
from robustkeras.models import feature_model

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.function tracing counts")


def _traces(kind, model):
    """Traces of the functions compiled for `model` by one part of the engine ("pgd", "apgd", "synthesis")."""
    owner = feature_model(model) if kind == "synthesis" else model  # synthesis compiles the feature model
    compiled = [fn for key, fn in backend._COMPILED.get(owner, {}).items() if key[0] == kind]
    return sum(fn.experimental_get_tracing_count() for fn in compiled)


def test_pgd_traces_once_across_settings(tiny_model, sample):
    x, y = sample[0][:8], sample[1][:8]
    for eps, step_size, steps, seed in [(0.5, 0.1, 3, 0), (0.25, 0.05, 5, 1), (1.0, 0.2, 7, 2)]:
        pgd(tiny_model, x, y, norm="l2", eps=eps, step_size=step_size, steps=steps, seed=seed)
    assert _traces("pgd", tiny_model) == 1
    pgd(tiny_model, x, y, norm="linf", eps=8 / 255, step_size=2 / 255, steps=3)
    assert _traces("pgd", tiny_model) == 2, "a new norm is a new option set: one more trace"


def test_apgd_traces_once_for_a_step_count(tiny_model, sample):
    x, y = sample[0][:8], sample[1][:8]
    for eps, seed in [(0.5, 0), (0.25, 1), (1.0, 2)]:
        apgd(tiny_model, x, y, norm="l2", eps=eps, steps=10, seed=seed)
    assert _traces("apgd", tiny_model) == 1


def test_synthesis_traces_once_across_calls(tiny_model):
    for steps, classes in [(2, np.arange(4)), (3, np.arange(4) + 4), (4, np.zeros(4, int))]:
        synthesis.generate(tiny_model, classes, steps=steps, step_size=0.5, radius=5.0)
    assert _traces("synthesis", tiny_model) == 1
