from otter.test_files import test_case

OK_FORMAT = False

name = "q00_distances"
points = 3

@test_case(points=None, hidden=False)
def test_analytic(l2_distance, linf_distance):
    import numpy as np
    a = np.zeros((2, 32, 32, 3), np.float32)
    b = a.copy()
    b[0, 5, 5, 1] = 0.5
    b[1] = 0.1
    l2, linf = (l2_distance(a, b), linf_distance(a, b))
    assert l2 is not None and linf is not None, 'l2_distance or linf_distance returned None: replace the `...` with your code and `return` the distances.'
    l2, linf = (np.asarray(l2), np.asarray(linf))
    assert l2.shape == (2,) and linf.shape == (2,), 'Return one number per image, shape (N,): reduce over H, W, C only.'
    assert np.allclose(l2, [0.5, 0.1 * np.sqrt(3072)], rtol=0.0001), f'L2 is the square root of the sum of squares. Received {l2}.'
    assert np.allclose(linf, [0.5, 0.1], rtol=0.0001), f'L-infinity is the largest absolute change. Received {linf}.'

@test_case(points=None, hidden=False)
def test_properties(l2_distance, linf_distance):
    import numpy as np
    rng = np.random.default_rng(3)
    a, b = (rng.random((4, 8, 8, 3)), rng.random((4, 8, 8, 3)))
    assert l2_distance(a, a) is not None and linf_distance(a, a) is not None, 'l2_distance or linf_distance returned None: replace the `...` with your code and `return` the distances.'
    assert np.allclose(l2_distance(a, a), 0) and np.allclose(linf_distance(a, a), 0), 'The distance of an image to itself is 0.'
    assert np.allclose(l2_distance(a, b), l2_distance(b, a)), 'Distances are symmetric: use the absolute value / square.'
    assert np.all(np.asarray(linf_distance(a, b)) <= np.asarray(l2_distance(a, b)) + 1e-09), 'Always ||d||_inf <= ||d||_2.'

