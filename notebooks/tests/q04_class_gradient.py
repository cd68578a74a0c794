from otter.test_files import test_case

OK_FORMAT = False

name = "q04_class_gradient"
points = 2

@test_case(points=None, hidden=False)
def test_linear_model(class_gradient):
    import numpy as np
    import keras
    w = np.random.default_rng(0).normal(size=(12, 10)).astype(np.float32)
    model = keras.Sequential([keras.Input((2, 2, 3)), keras.layers.Flatten(), keras.layers.Dense(10, use_bias=False)])
    model.layers[-1].set_weights([w])
    x = np.random.default_rng(1).random((3, 2, 2, 3)).astype(np.float32)
    g = class_gradient(model, x, np.array([2, 7, 2]))
    assert g is not None, 'class_gradient returned None: replace the `...` with your code and `return` the result.'
    g = np.asarray(g)
    assert g.shape == x.shape, f'Expected a gradient shaped like x {x.shape}. Received {g.shape}.'
    expected = w[:, [2, 7, 2]].T.reshape(x.shape)
    assert np.allclose(g, expected, atol=1e-05), "For logits = W x the gradient of logit c is column c of W: take each image's own class logit, not the sum of all logits."

