"""Coherent inpainting (issue 22): the classifier-free fills, the conditional start, the default's guarantees."""

import numpy as np
import pytest

from robustkeras import synthesis
from robustkeras.synthesis import conditional_seeds, inpaint_baselines
from robustkeras.synthesis.inpaint_baselines import diffusion_fill, harmonic_fill, hole_psnr, mean_fill


def _images(n=3, side=16, seed=0):
    return np.random.default_rng(seed).random((n, side, side, 3)).astype("float32")


def _outside(mask, shape):
    return np.broadcast_to(mask, shape) == 0


def test_diffusion_fill_is_harmonic_inside_and_exact_outside():
    x = _images()
    mask = synthesis.make_mask("random", x, seed=1)
    filled = diffusion_fill(x, mask)
    np.testing.assert_array_equal(filled[_outside(mask, x.shape)], x[_outside(mask, x.shape)])
    hole = ~_outside(mask, x.shape)
    residual = inpaint_baselines._neighbour_mean(filled) - filled  # each hole pixel is its neighbours' mean
    assert np.abs(residual[hole]).max() < 1e-4
    assert filled.min() >= x.min() - 1e-6 and filled.max() <= x.max() + 1e-6  # maximum principle


def test_diffusion_fill_keeps_constant_and_linear_images():
    mask = synthesis.make_mask("center", 2, 16)
    constant = np.full((2, 16, 16, 3), 0.3, "float32")
    np.testing.assert_allclose(diffusion_fill(constant, mask), constant, atol=1e-5)
    ramp = np.broadcast_to(np.linspace(0.1, 0.9, 16, dtype="float32")[None, None, :, None], (2, 16, 16, 3))
    np.testing.assert_allclose(diffusion_fill(ramp, mask), ramp, atol=1e-4)  # linear = harmonic: the border decides


def test_harmonic_fill_takes_any_real_values_and_matches_plain_jacobi():
    values = np.random.default_rng(2).normal(size=(2, 12, 12, 2)).astype("float32")
    mask = synthesis.make_mask("center", 2, 12)
    sor = harmonic_fill(values, mask, tolerance=1e-7)
    jacobi = values.copy()
    for _ in range(3000):  # plain Jacobi averaging: the definition the over-relaxed sweeps must reach
        jacobi = jacobi + mask * (inpaint_baselines._neighbour_mean(jacobi) - jacobi)
    np.testing.assert_allclose(sor, jacobi, atol=1e-4)
    with pytest.raises(ValueError, match="`values`"):
        harmonic_fill(np.ones((12, 12)), mask)
    with pytest.raises(ValueError, match="`mask`"):
        harmonic_fill(values, np.ones((2, 12, 12)))
    with pytest.raises(ValueError, match="`relaxation`"):
        harmonic_fill(values, mask, relaxation=2.0)


def test_mean_fill_and_hole_psnr_on_known_cases():
    x = _images(2, 8)
    mask = synthesis.make_mask("center", x)
    filled = mean_fill(x, mask)
    outside = _outside(mask, x.shape)
    visible_mean = np.stack([x[i][outside[i]].reshape(-1, 3).mean(0) for i in range(2)])
    np.testing.assert_allclose(filled[:, 3, 3], visible_mean, rtol=1e-5)
    noisy = np.where(outside, 0.0, np.clip(x + 0.1, 0, 1)).astype("float32")  # wrong outside: ignored
    reference = np.where(outside, 1.0, x).astype("float32")
    mse = np.array([np.mean((noisy[i] - reference[i])[~outside[i]] ** 2) for i in range(2)])
    assert hole_psnr(noisy, reference, mask) == pytest.approx(np.mean(10 * np.log10(1 / mse)), rel=1e-6)
    assert np.isnan(hole_psnr(x, x, np.zeros((8, 8, 1))))


@pytest.fixture(scope="module")
def tiny_stats():
    rng = np.random.default_rng(3)
    return synthesis.compute_class_stats(rng.random((40, 4, 4, 3)).astype("float32"), np.arange(40) % 2,
                                         rank=3, components=2)


def test_conditional_mean_matches_the_dense_gaussian_formula(tiny_stats):
    x = _images(4, 4, seed=4)
    classes = np.array([0, 1, 1, 0])
    mask = np.zeros((4, 4, 4, 1), "float32")
    mask[:, 1:3, 1:4] = 1.0
    got = conditional_seeds.conditional_mean(x, mask, classes, stats=tiny_stats, noise_scale=2.0)
    for i, c in enumerate(classes):
        mean, basis, diag = (tiny_stats[f"{k}_4"][c].astype(np.float64) for k in ("mean", "basis", "diag"))
        cov = basis.T @ basis + np.diag(2.0 * np.maximum(diag, 1e-3) ** 2)
        seen = np.broadcast_to(mask[i] == 0, x[i].shape).ravel()
        want = mean + cov[:, seen] @ np.linalg.solve(cov[np.ix_(seen, seen)], x[i].ravel()[seen] - mean[seen])
        np.testing.assert_allclose(got[i].ravel()[~seen], want[~seen], atol=1e-4)


def test_conditional_start_gives_the_class_mean_when_the_visible_pixels_are_the_class_mean(tiny_stats):
    means = tiny_stats["mean_4"].astype("float32").reshape(2, 4, 4, 3)
    mask = synthesis.make_mask("center", 2, 4)
    filled = conditional_seeds.conditional_fill(means, mask, [0, 1], stats=tiny_stats)
    np.testing.assert_allclose(filled, means, atol=1e-5)  # no evidence against the mean: the hole is the mean
    nothing_seen = conditional_seeds.conditional_mean(_images(2, 4), np.ones((4, 4, 1)), [1, 0], stats=tiny_stats)
    np.testing.assert_allclose(nothing_seen, means[::-1], atol=1e-5)


def test_conditional_start_recovers_a_hole_the_class_model_explains():
    stats = conditional_seeds.load_class_stats()
    z = np.random.default_rng(5).normal(size=(4, 24))
    classes = np.array([0, 3, 6, 9])
    on_plane = stats["mean_32"][classes] + np.einsum("nk,nkd->nd", 0.5 * z, stats["basis_32"][classes])
    x = np.clip(on_plane, 0, 1).reshape(4, 32, 32, 3).astype("float32")
    mask = synthesis.make_mask("center", x)
    guess = conditional_seeds.conditional_fill(x, mask, classes, noise_scale=1.0)
    assert hole_psnr(guess, x, mask) > hole_psnr(diffusion_fill(x, mask), x, mask) + 3


def test_inpaint_keeps_the_outside_exactly_and_stays_in_its_ball(tiny_model):
    x = _images(3, 32)
    mask = synthesis.make_mask("random", x, seed=2)
    for start, kind in (("auto", "conditional"), ("diffusion", "diffusion"), ("grey", "grey")):
        result = synthesis.inpaint(tiny_model, x, [0, 1, 2], mask, steps=3, radius=1.5, start=start)
        outside = _outside(mask, x.shape)
        np.testing.assert_array_equal(result.images[outside], x[outside])
        change = np.linalg.norm((result.images - result.extras["initial_fill"]).reshape(3, -1), axis=1)
        assert np.all(change <= 1.5 + 1e-3) and np.all(change > 0.1), change
        assert result.extras["start_kind"] == kind
        np.testing.assert_array_equal(result.start, x * (1 - mask) + 0.5 * mask)  # what a grid shows as "masked"


def test_inpaint_start_and_stats_are_checked(tiny_model, tiny_stats):
    x = _images(2, 32)
    mask = synthesis.make_mask("center", x)
    with pytest.raises(ValueError, match="`start`"):
        synthesis.inpaint(tiny_model, x, [0, 1], mask, start="noise")
    with pytest.raises(ValueError, match="`stats`"):
        synthesis.inpaint(tiny_model, x, [0, 1], mask, steps=1, stats=tiny_stats)
    with pytest.raises(ValueError, match="`noise_scale`"):
        conditional_seeds.conditional_mean(x, mask, [0, 1], noise_scale=0.0)


def test_new_inpainting_beats_the_mean_colour_fill_on_the_shipped_model(robust_model, sample):
    x, y = sample
    pick = np.array([np.flatnonzero(y == c)[0] for c in range(10)])
    xs, ys = x[pick], y[pick]
    mask = synthesis.make_mask("center", xs)
    result = synthesis.inpaint(robust_model, xs, ys, mask)
    assert result.extras["start_kind"] == "conditional"
    assert hole_psnr(result.images, xs, mask) > hole_psnr(mean_fill(xs, mask), xs, mask) + 1.0
    np.testing.assert_array_equal(result.images[_outside(mask, xs.shape)], xs[_outside(mask, xs.shape)])


def test_benchmark_script_prints_its_table():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}  # the default backend: a smoke test
    proc = subprocess.run([sys.executable, str(root / "benchmarks" / "inpainting_quality.py"), "--sets", "sample",
                           "--masks", "random", "--limit", "4", "--batch", "4", "--only", "mean fill", "diffusion",
                           "conditional fill"], cwd=root, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and "0.0e+00" in line]
    assert len(rows) == 3 and "hole PSNR (dB)" in proc.stdout, proc.stdout
