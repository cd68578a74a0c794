from otter.test_files import test_case

OK_FORMAT = False

name = "q02_projections"
points = 3

@test_case(points=None, hidden=False)
def test_linf_projection(project_linf):
    import numpy as np
    x0 = np.full((1, 1, 1, 3), 0.5, np.float32)
    x = np.array([0.55, 0.9, 0.0], np.float32).reshape(1, 1, 1, 3)
    out = project_linf(x, x0, 0.1)
    assert out is not None, 'project_linf returned None: `return` the projected images.'
    out = np.asarray(out)
    assert out.shape == x.shape, f'Expected shape {x.shape}. Received {out.shape}.'
    assert np.allclose(out.ravel(), [0.55, 0.6, 0.4]), f'Expected [0.55, 0.6, 0.4] (inside unchanged, outside clipped). Received {out.ravel()}.'
    out = project_linf(np.full((1, 1, 1, 3), 1.5, np.float32), np.ones((1, 1, 1, 3), np.float32), 1.0)
    assert out is not None, 'project_linf returned None: replace the `...` with your code and `return` the result.'
    out = np.asarray(out)
    assert out.max() <= 1.0, 'Clip to the image box [0, 1] after the ball.'

@test_case(points=None, hidden=False)
def test_l2_projection(project_l2):
    import numpy as np
    x0 = np.full((2, 2, 2, 2), 0.5, np.float32)
    delta = np.zeros_like(x0)
    delta[0] = np.array([0.15, -0.15, 0.1, 0.1, 0.05, 0.0, -0.05, 0.0]).reshape(2, 2, 2)
    delta[1] = np.array([0.1, 0.0, -0.1, 0.0, 0.05, 0.05, 0.0, 0.0]).reshape(2, 2, 2)
    x = x0 + delta
    out = project_l2(x, x0, 0.2)
    assert out is not None, 'project_l2 returned None: `return` the projected images.'
    out = np.asarray(out)
    assert out.shape == x.shape, f'Expected shape {x.shape}. Received {out.shape}.'
    norms = np.linalg.norm((out - x0).reshape(2, -1), axis=1)
    assert norms[0] <= 0.2 + 1e-05, f'A perturbation outside the L2 ball must end with L2 norm exactly eps = 0.2. Received norm {norms[0]:.4f}. Clipping each pixel to [-eps, eps] is the Linf projection: for L2 rescale the whole perturbation of the image.'
    assert norms[0] >= 0.2 - 1e-05, f'A perturbation outside the L2 ball must end with L2 norm exactly eps = 0.2. Received norm {norms[0]:.4f}: scaled too much. Compute one norm per image (sum over axes 1, 2, 3), not over the batch.'
    expected = x0[0] + delta[0] * 0.2 / np.linalg.norm(delta[0])
    assert np.allclose(out[0], expected, atol=1e-05), 'Keep the direction of x - x0: multiply it by eps / ||x - x0||_2.'
    assert np.allclose(out[1], x[1], atol=1e-06), 'An image inside its L2 ball must not move. Compute one norm per image (sum over axes 1, 2, 3), not over the batch.'
    assert np.all(np.isfinite(np.asarray(project_l2(x0, x0, 0.1)))), 'x == x0 gave nan: add 1e-12 to the norm.'

