from otter.test_files import test_case

OK_FORMAT = False

name = "q10_feature_objective"
points = 3

@test_case(points=None, hidden=False)
def test_feature_objective_values(feature_objective):
    import numpy as np
    features = np.array([[1.0, 5.0, 2.0], [0.5, 0.0, 3.0]], np.float32)
    reference = np.zeros((2, 2, 2, 1), np.float32)
    x = reference.copy()
    x[0, 0, 0, 0] = 0.5
    keep = np.ones((2, 2, 2, 1), np.float32)
    params = {'unit': np.array([1, 2]), 'reference': reference, 'keep': keep, 'weight': np.float32(4.0)}
    out = feature_objective(params, x, None, features)
    assert out is not None, 'feature_objective returned None: replace the `...` with your code and `return` the result.'
    out = np.asarray(out)
    assert out.shape == (2,), f'Return one value per image. Received shape {out.shape}.'
    assert np.allclose(out, [5.0 - 4 * 0.25, 3.0]), f'Expected [5 - 4 * 0.5**2, 3]. Received {out}.'

