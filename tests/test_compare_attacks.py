"""Cross-check of robustkeras PGD against ART (and cleverhans) on the bundled sample.

Slow (it trains a small model if no pretrained robust model is available) and
needs the benchmark extra: `pip install -e .[bench]`; run with `pytest -m slow`.
Without a random start the three tools follow the same deterministic iteration
(normalised / sign gradient step, projection, clipping), so their robust
accuracies must agree closely; a bug in the step rule, projection, loss sign or
inference mode would show up as a large gap.
"""

import sys
from pathlib import Path

import pytest

pytest.importorskip("art")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import compare_attacks  # noqa: E402

from robustkeras.data import load_sample  # noqa: E402

TOLERANCE_POINTS = 1.5


@pytest.fixture(scope="module")
def model():
    return compare_attacks.load_model("fastnet_l2_robust", "fastnet_small")[0]


@pytest.mark.slow
@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_robust_accuracy_agrees_with_art(model, norm):
    x, y = load_sample(200)
    tools = ["robustkeras", "art"] + (["cleverhans"] if compare_attacks.available("cleverhans") is None else [])
    rows = compare_attacks.compare(model, x, y, norms=[norm], tools=tools, steps=10, batch=100,
                                   random_start=False, log=lambda _: None)
    accuracy = {r["tool"]: r["robust"] for r in rows if "robust" in r}
    assert "robustkeras" in accuracy and "art" in accuracy, rows
    assert accuracy["robustkeras"] < rows[0]["clean"] or rows[0]["clean"] == 0  # the attack does something
    for tool, value in accuracy.items():
        gap = 100 * abs(value - accuracy["robustkeras"])
        assert gap <= TOLERANCE_POINTS, f"{norm}: {tool} {value:.3f} vs robustkeras {accuracy['robustkeras']:.3f}"
