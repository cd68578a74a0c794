from otter.test_files import test_case

OK_FORMAT = False

name = "q01_cross_entropy"
points = 2

@test_case(points=None, hidden=False)
def test_uniform_logits(cross_entropy):
    import numpy as np
    loss = cross_entropy(np.zeros((3, 10)), np.array([0, 4, 9]))
    assert loss is not None, 'cross_entropy returned None: replace the `...` with your code and `return` one loss per example.'
    loss = np.asarray(loss)
    assert loss.shape == (3,), f'Expected one loss per example, shape (3,). Received {loss.shape}.'
    assert np.allclose(loss, np.log(10)), f'With equal logits every class has p = 1/10, so the loss is log(10). Received {loss}.'

@test_case(points=None, hidden=False)
def test_matches_keras(cross_entropy):
    import numpy as np
    import keras
    z = np.random.default_rng(1).normal(size=(6, 10)).astype(np.float32) * 5
    y = np.array([0, 1, 2, 3, 4, 5])
    expected = np.asarray(keras.losses.sparse_categorical_crossentropy(y, z, from_logits=True))
    loss = cross_entropy(z, y)
    assert loss is not None, 'cross_entropy returned None: replace the `...` with your code and `return` one loss per example.'
    assert np.allclose(np.asarray(loss), expected, rtol=0.0001, atol=1e-05), "Differs from keras' sparse categorical cross-entropy."
    big = np.array([[2000.0, 0.0]])
    assert np.isfinite(np.asarray(cross_entropy(big, np.array([1])))).all(), 'Overflow: use the max trick (log-sum-exp).'

