from otter.test_files import test_case

OK_FORMAT = False

name = "q05_class_seeds"
points = 3

@test_case(points=None, hidden=False)
def test_seed_shapes_and_determinism(class_seeds):
    import numpy as np
    rng = np.random.default_rng(0)
    images = rng.random((40, 4, 4, 3)).astype(np.float32)
    labels = np.arange(40) % 4
    out = class_seeds(images, labels, np.array([0, 3, 3]), seed=1)
    assert out is not None, 'class_seeds returned None: `return` the seed images.'
    out = np.asarray(out)
    assert out.shape == (3, 4, 4, 3) and out.dtype == np.float32, f'Expected float32 (3, 4, 4, 3). Received {out.dtype} {out.shape}.'
    assert out.min() >= 0 and out.max() <= 1, 'Clip the seeds to [0, 1].'
    again = class_seeds(images, labels, np.array([0, 3, 3]), seed=1)
    assert again is not None, 'class_seeds returned None: replace the `...` with your code and `return` the result.'
    again = np.asarray(again)
    assert np.array_equal(out, again), 'The same seed must give the same images: use np.random.default_rng(seed).'
    assert not np.allclose(out[1], out[2]), 'Two seeds of the same class should be different draws.'

@test_case(points=None, hidden=False)
def test_seed_statistics(class_seeds):
    import numpy as np
    images = np.zeros((20, 2, 2, 3), np.float32)
    labels = np.repeat([0, 1], 10)
    images[labels == 1] = 0.75
    out = class_seeds(images, labels, np.array([1, 0]))
    assert out is not None, 'class_seeds returned None: `return` the seed images.'
    out = np.asarray(out)
    assert np.allclose(out[0], 0.75) and np.allclose(out[1], 0.0), "A class whose images are all equal has zero spread: its seed is its mean image. Use each class's own statistics."
    rng = np.random.default_rng(1)
    images = np.concatenate([rng.normal(0.3, 0.05, (300, 2, 2, 3)), rng.normal(0.7, 0.1, (300, 2, 2, 3))]).astype(np.float32)
    labels = np.repeat([0, 1], 300)
    many = class_seeds(images, labels, np.ones(400, int), seed=2)
    assert many is not None, 'class_seeds returned None: replace the `...` with your code and `return` the result.'
    many = np.asarray(many)
    assert abs(many.mean() - 0.7) < 0.02 and abs(many.std() - 0.1) < 0.02, "Seeds should have the class's mean and spread."
    spread = np.full((2, 2, 3), 0.02, np.float32)
    spread[0, 0, 0] = 0.12
    images = (0.5 + spread * rng.standard_normal((300, 2, 2, 3))).astype(np.float32)
    seeds = np.asarray(class_seeds(images, np.zeros(300, int), np.zeros(400, int), seed=3)).std(0)
    assert abs(seeds[0, 0, 0] - 0.12) < 0.02 and np.all(np.abs(seeds.ravel()[1:] - 0.02) < 0.01), f"Pixel (0, 0, 0) of this class spreads 0.12 and the others 0.02; your seeds spread {seeds[0, 0, 0]:.3f} and {seeds.ravel()[1:].mean():.3f}. Use one standard deviation per pixel (over the class's images, axis 0), not one number per class."

