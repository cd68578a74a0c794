from otter.test_files import test_case

OK_FORMAT = False

name = "q02_projections"
points = 3

@test_case(points=None, hidden=False)
def test_linf_projection(project_linf):
    import numpy as np
    x0 = np.full((1, 1, 1, 3), 0.5, np.float32)
    x = np.array([0.55, 0.9, 0.0], np.float32).reshape(1, 1, 1, 3)
    out = np.asarray(project_linf(x, x0, 0.1))
    assert np.allclose(out.ravel(), [0.55, 0.6, 0.4]), f'Expected [0.55, 0.6, 0.4] (inside unchanged, outside clipped). Received {out.ravel()}.'
    out = np.asarray(project_linf(np.full((1, 1, 1, 3), 1.5, np.float32), np.ones((1, 1, 1, 3), np.float32), 1.0))
    assert out.max() <= 1.0, 'Clip to the image box [0, 1] after the ball.'

@test_case(points=None, hidden=False)
def test_l2_projection(project_l2):
    import numpy as np
    x0 = np.full((2, 2, 2, 1), 0.5, np.float32)
    x = x0.copy()
    x[0, 0, 0, 0] = 0.8
    x[1, 1, 1, 0] = 0.55
    out = np.asarray(project_l2(x, x0, 0.1))
    assert out.shape == x.shape, f'Expected shape {x.shape}. Received {out.shape}.'
    assert np.isclose(out[0, 0, 0, 0], 0.6, atol=1e-05), f'An outside point moves to the sphere along x - x0: expected 0.6. Received {out[0, 0, 0, 0]}.'
    assert np.allclose(out[1], x[1]), 'A point inside the ball must not move.'
    assert np.all(np.isfinite(np.asarray(project_l2(x0, x0, 0.1)))), 'x == x0 gave nan: add 1e-12 to the norm.'

