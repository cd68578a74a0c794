"""Every synthesis task: raises its target, respects its constraints, returns what it promises."""

import numpy as np
import pytest

from conftest import l2_dist
from robustkeras import metrics, synthesis
from robustkeras.synthesis import class_probability


def _raises_target(model, result, start=None):
    start = result.start if start is None else start
    before = class_probability(model, start, result.extras["target"])
    after = class_probability(model, result.images, result.extras["target"])
    return after.mean() - before.mean()


def _in_box(images):
    return images.min() >= 0.0 and images.max() <= 1.0


def test_generation_raises_target_and_stays_in_ball(robust_model):
    classes = np.arange(10)
    result = synthesis.generate(robust_model, classes, steps=20, radius=5.0)
    assert result.images.shape == (10, 32, 32, 3) and result.objective_values.shape == (20, 10)
    assert _in_box(result.images)
    assert np.all(l2_dist(result.images, result.start) <= 5.0 + 1e-4)
    assert _raises_target(robust_model, result) > 0.3


def test_multiscale_generation_runs_coarse_to_fine(robust_model):
    result = synthesis.generate(robust_model, np.arange(4), steps=8, multiscale=True)
    assert result.start.shape == (4, 8, 8, 3) and result.images.shape == (4, 32, 32, 3)
    assert class_probability(robust_model, result.images, np.arange(4)).mean() > 0.3


def test_seeds_are_reproducible_and_class_dependent():
    a = synthesis.sample_seeds(np.array([3, 3]), seed=1)
    np.testing.assert_array_equal(a, synthesis.sample_seeds(np.array([3, 3]), seed=1))
    assert not np.array_equal(a, synthesis.sample_seeds(np.array([3, 3]), seed=2))
    planes = synthesis.sample_seeds(np.repeat([0, 8], 50), seed=0)
    assert planes[:50].mean() != pytest.approx(planes[50:].mean(), abs=1e-3)
    assert synthesis.sample_seeds(np.arange(3), size=8, mixture=True).shape == (3, 8, 8, 3)


def test_inpainting_fills_the_hole_and_keeps_the_rest(robust_model, sample):
    x, y = sample[0][:16], sample[1][:16]
    mask = synthesis.make_mask("center", x)
    result = synthesis.inpaint(robust_model, x, y, mask, steps=30)
    assert _in_box(result.images)
    outside = np.broadcast_to(mask, x.shape) == 0
    np.testing.assert_array_equal(result.images[outside], x[outside])  # pasted back: exactly unchanged
    assert _raises_target(robust_model, result) > 0.05
    hole = np.broadcast_to(mask, x.shape) > 0
    assert np.abs(result.images - result.start)[hole].mean() > 0.05, "the hole must change"


def test_random_masks_have_the_requested_area():
    masks = synthesis.make_mask("random", 5, 32, fraction=0.25, seed=0)
    np.testing.assert_allclose(masks.mean(axis=(1, 2, 3)), 0.25, atol=0.01)
    with pytest.raises(ValueError, match="`kind`"):
        synthesis.make_mask("circle", 2, 32)


def test_super_resolution_keeps_lowres_and_beats_bicubic(robust_model, sample):
    x, y = sample
    lowres = synthesis.downsample(x, 4)
    result = synthesis.super_resolve(robust_model, lowres, y, factor=4)
    assert _in_box(result.images)
    # Exact up to the final clip to [0, 1], which can only bite on nearly black or white blocks.
    gap = np.abs(synthesis.downsample(result.images, 4) - lowres)
    assert np.mean(gap < 1e-3) > 0.97 and gap.max() < 0.05
    assert np.all(l2_dist(result.images, result.start) <= 1.0 + 1e-3)
    assert metrics.psnr(result.images, x) > metrics.psnr(result.extras["bicubic"], x)
    assert _raises_target(robust_model, result) > 0


def test_sketch_to_image_and_translation_raise_the_target(robust_model, sample):
    x, y = sample[0][:20], sample[1][:20]
    for kind in ("edges", "posterize"):
        sketches = synthesis.make_sketch(x, kind)
        assert sketches.shape == x.shape and _in_box(sketches)
    result = synthesis.sketch_to_image(robust_model, synthesis.make_sketch(x), y, steps=20)
    assert _raises_target(robust_model, result) > 0.2
    target = (y + 1) % 10
    result = synthesis.translate(robust_model, x, target, steps=20, radius=4.0)
    assert np.all(l2_dist(result.images, x) <= 4.0 + 1e-4)
    assert _raises_target(robust_model, result) > 0.2


def test_manipulation_grows_the_feature_inside_the_region(robust_model, sample):
    x = sample[0][:4]
    region = synthesis.make_mask("center", 1, 32)[0]
    painter = synthesis.FeaturePainter(robust_model, x[0])
    unit = painter.top_units(class_id=int(sample[1][0]))[0]
    result = synthesis.manipulate(robust_model, x, unit, region, steps=20)
    assert result.objective_values[-1].mean() > result.objective_values[0].mean()
    inside = np.abs((result.images - x) * region).mean()
    outside = np.abs((result.images - x) * (1 - region)).mean()
    assert inside > 3 * outside
    painter.paint(region, unit, steps=5)
    assert len(painter.history) == 2 and not np.array_equal(painter.image, x[0])
    np.testing.assert_array_equal(painter.undo(), x[0])


def test_robust_generation_convinces_the_low_pass_judge_more_than_standard(robust_model, standard_model):
    judge = __import__("robustkeras").pretrained.load("fastnet_judge")
    classes = np.repeat(np.arange(10), 3)
    robust = synthesis.generate(robust_model, classes, steps=10)
    standard = synthesis.generate(standard_model, classes, steps=10)
    robust_acc = metrics.judge_accuracy(judge, robust.images, classes, low_pass_factor=2)
    standard_acc = metrics.judge_accuracy(judge, standard.images, classes, low_pass_factor=2)
    assert robust_acc > 0.8 and robust_acc > standard_acc + 0.2


def test_bad_synthesis_inputs_name_the_argument(tiny_model, sample):
    x, y = sample[0][:2], sample[1][:2]
    with pytest.raises(ValueError, match="`target`"):
        synthesis.generate(tiny_model, [11])
    with pytest.raises(ValueError, match="`steps`"):
        synthesis.generate(tiny_model, [1], steps=0)
    with pytest.raises(ValueError, match="`mask`"):
        synthesis.inpaint(tiny_model, x, y, np.ones((5,)))
    with pytest.raises(ValueError, match="`factor`"):
        synthesis.downsample(x, 3)
    with pytest.raises(ValueError, match="`radius`"):
        synthesis.translate(tiny_model, x, y, radius=-1.0)
    with pytest.raises(ValueError, match="`unit`"):
        synthesis.manipulate(tiny_model, x, 10_000, np.ones((32, 32, 1)))


def test_metrics_on_known_cases():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (4, 32, 32, 3)).astype("float32")
    assert metrics.ssim(x, x) == pytest.approx(1.0, abs=1e-5)
    noisy = np.clip(x + 0.1, 0, 1)
    expected = np.mean([10 * np.log10(1 / np.mean((a - b) ** 2)) for a, b in zip(noisy, x)])
    assert metrics.psnr(noisy, x) == pytest.approx(expected, rel=1e-4)
    a = rng.normal(size=(2000, 4))
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert metrics.frechet_distance(a, a + 1.0) == pytest.approx(4.0, rel=0.05)


def test_inception_metrics_are_skipped_offline():
    try:
        metrics.inception_score(np.zeros((2, 32, 32, 3), "float32"), splits=1)
    except RuntimeError as err:
        pytest.skip(f"offline: Inception weights cannot be downloaded here ({str(err)[:60]}...)")


def test_ssim_is_the_standard_11_tap_one_with_the_7_tap_as_an_option():
    import tensorflow as tf

    rng = np.random.default_rng(1)
    a = rng.uniform(0, 1, (3, 32, 32, 3)).astype("float32")
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1).astype("float32")
    standard = float(tf.reduce_mean(tf.image.ssim(a, b, max_val=1.0)))  # TF's default: 11x11, sigma 1.5
    assert metrics.ssim(a, b) == pytest.approx(standard, abs=1e-6)
    small = float(tf.reduce_mean(tf.image.ssim(a, b, max_val=1.0, filter_size=7)))
    assert metrics.ssim(a, b, window="small") == pytest.approx(small, abs=1e-6)
    assert abs(small - standard) > 1e-4
    with pytest.raises(ValueError, match="`window`"):
        metrics.ssim(a, b, window=5)
    with pytest.raises(ValueError, match="11x11"):
        metrics.ssim(a[:, :8, :8], b[:, :8, :8])
