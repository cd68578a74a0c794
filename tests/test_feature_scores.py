"""Offline generation-quality scores: the kernel distance's properties and the robust extractor's ranking."""

import numpy as np
import pytest

from robustkeras import metrics, pretrained, synthesis
from robustkeras.data import load_sample


def test_kernel_distance_is_unbiased_and_sees_a_shift():
    rng = np.random.default_rng(0)
    same = [metrics.kernel_distance(rng.normal(size=(60, 16)), rng.normal(size=(60, 16)), subsets=1)[0]
            for _ in range(40)]
    shifted = metrics.kernel_distance(rng.normal(size=(60, 16)), rng.normal(size=(60, 16)) + 0.5, subsets=1)[0]
    # Unbiased: same-distribution values scatter around 0 (a biased estimator would sit above it).
    assert abs(np.mean(same)) < 3 * np.std(same) / np.sqrt(len(same))
    assert min(same) < 0 < shifted
    assert shifted > 10 * np.std(same)


def test_kernel_distance_matches_the_formula_on_one_subset():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)) + 0.3
    k = lambda u, v: (u @ v / 3 + 1) ** 3  # noqa: E731
    aa = np.mean([k(a[i], a[j]) for i in range(5) for j in range(5) if i != j])
    bb = np.mean([k(b[i], b[j]) for i in range(5) for j in range(5) if i != j])
    ab = np.mean([k(a[i], b[j]) for i in range(5) for j in range(5)])
    # Both sides have 5 rows and subset_size covers them: the one "subset" is a permutation of all rows.
    value, std = metrics.kernel_distance(a, b, subsets=1, subset_size=10)
    assert value == pytest.approx(aa + bb - 2 * ab, rel=1e-9)
    assert std == 0.0


@pytest.mark.parametrize("kwargs, name", [
    (dict(feats_a=np.zeros((1, 4)), feats_b=np.zeros((5, 4))), "feats_a"),
    (dict(feats_a=np.zeros((5, 4)), feats_b=np.zeros((5, 3))), "feats_b"),
    (dict(feats_a=np.zeros((5, 4)), feats_b=np.zeros((5, 4)), subsets=0), "subsets"),
    (dict(feats_a=np.zeros((5, 4)), feats_b=np.zeros((5, 4)), subset_size=1), "subset_size"),
])
def test_bad_kernel_distance_arguments_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        metrics.kernel_distance(**kwargs)


@pytest.fixture(scope="module")
def generated():
    """Robust and standard generation from the same seeds: 2 per class, `generate`'s default settings."""
    classes = np.repeat(np.arange(10), 2)
    robust = synthesis.generate(pretrained.load("fastnet_l2_robust"), classes, seed=3)
    standard = synthesis.generate(pretrained.load("fastnet_standard"), classes, seed=3)
    return robust.images, standard.images, robust.start


def test_robust_features_rank_robust_generation_first(generated):
    robust, standard, seeds = generated
    x, _ = load_sample()
    extractor = pretrained.load("fastnet_small_l2_robust")
    reference = metrics.features(extractor, x)
    kid = {name: metrics.feature_scores(extractor, images, None, reference_features=reference)["kid"]
           for name, images in (("robust", robust), ("standard", standard), ("seeds", seeds))}
    assert kid["robust"] < kid["standard"]
    assert kid["robust"] < kid["seeds"]


def test_the_extractor_is_robust_and_independent():
    entries = pretrained.manifest()
    entry = entries["fastnet_small_l2_robust"]
    assert entry["role"] == "extractor" and "--eps 0.5" in entry["training"]["command"]
    # Another width than every model whose images it scores, another seed than the judge of its width.
    for name, other in entries.items():
        if other["role"] in ("robust", "standard"):
            assert other["arch"] != entry["arch"], name
    judge_seed = entries["fastnet_judge"]["training"]["command"].split("--seed ")[1].split()[0]
    assert entry["training"]["command"].split("--seed ")[1].split()[0] != judge_seed
    x, y = load_sample(100)
    from robustkeras import evaluate

    model = pretrained.load("fastnet_small_l2_robust")
    robust = evaluate.robust_accuracy(model, x, y, norm="l2", eps=0.5, steps=10)["robust"]
    assert robust > 0.25  # a standard net of this size keeps ~4 % (fastnet_judge)
