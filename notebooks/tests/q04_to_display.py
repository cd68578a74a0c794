from otter.test_files import test_case

OK_FORMAT = False

name = "q04_to_display"
points = 2

@test_case(points=None, hidden=False)
def test_display_values(to_display):
    import numpy as np
    g = np.zeros((2, 1, 2, 1), np.float32)
    g[0, 0, :, 0] = [2.0, -1.0]
    g[1, 0, :, 0] = [0.1, 0.05]
    out = to_display(g)
    assert out is not None, 'to_display returned None: replace the `...` with your code and `return` the result.'
    out = np.asarray(out)
    assert out.shape == g.shape, f'Expected shape {g.shape}. Received {out.shape}.'
    assert np.allclose(out[0].ravel(), [1.0, 0.25]), f'0.5 + 0.5 * g / max|g| per image: expected [1, 0.25]. Received {out[0].ravel()}.'
    assert np.allclose(out[1].ravel(), [1.0, 0.75]), 'Scale each image by its own max |g|.'
    zero = np.asarray(to_display(np.zeros((1, 2, 2, 3))))
    assert np.allclose(zero, 0.5), 'An all-zero gradient must give grey (0.5), not nan: guard the division.'

