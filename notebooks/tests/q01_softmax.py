from otter.test_files import test_case

OK_FORMAT = False

name = "q01_softmax"
points = 2

@test_case(points=None, hidden=False)
def test_softmax_values(softmax):
    import numpy as np
    p = softmax(np.array([[0.0, 0.0], [0.0, np.log(3.0)]]))
    assert p is not None, 'softmax returned None: replace the `...` with your code and `return` the probabilities.'
    p = np.asarray(p)
    assert p.shape == (2, 2), f"Expected the input's shape (2, 2). Received {p.shape}."
    assert np.allclose(p, [[0.5, 0.5], [0.25, 0.75]]), f'Expected [[.5, .5], [.25, .75]]. Received {p}: normalise each row.'

@test_case(points=None, hidden=False)
def test_softmax_stable(softmax):
    import numpy as np
    p = softmax(np.array([[1000.0, 1001.0, 1002.0]]))
    assert p is not None, 'softmax returned None: replace the `...` with your code and `return` the probabilities.'
    p = np.asarray(p)
    assert np.all(np.isfinite(p)), "Got inf or nan for large logits: subtract each row's maximum before exp."
    assert np.allclose(p.sum(1), 1.0), 'Each row must sum to 1.'

