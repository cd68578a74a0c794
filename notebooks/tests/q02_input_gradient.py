from otter.test_files import test_case

OK_FORMAT = False

name = "q02_input_gradient"
points = 3

@test_case(points=None, hidden=False)
def test_linear_model_gradient(input_gradient):
    import numpy as np
    import keras
    rng = np.random.default_rng(0)
    w = rng.normal(size=(12, 10)).astype(np.float32)
    model = keras.Sequential([keras.Input((2, 2, 3)), keras.layers.Flatten(), keras.layers.Dropout(0.5), keras.layers.Dense(10, use_bias=False)])
    model.layers[-1].set_weights([w])
    x = rng.random((3, 2, 2, 3)).astype(np.float32)
    y = np.array([1, 5, 9])
    z = x.reshape(3, 12) @ w
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = ((p - np.eye(10)[y]) @ w.T).reshape(x.shape)
    unwatched = 'tape.gradient gave None: the tape records a plain tensor only after `tape.watch(x)` (x is not a Variable); watch it before calling the model, inside the `with` block.'
    try:
        g = input_gradient(model, x, y)
    except AttributeError as error:
        if 'NoneType' in str(error):
            raise AssertionError(unwatched) from None
        raise
    assert g is not None, 'input_gradient returned None: ' + unwatched + ' (Or replace the `...` and `return` the gradient.)'
    g = np.asarray(g)
    assert g.dtype != object, unwatched
    assert g.shape == x.shape, f'Return a gradient shaped like x {x.shape}. Received {g.shape}.'
    assert np.allclose(g, expected, atol=0.0001), 'Wrong gradient on a linear model (analytic answer W (softmax - onehot)). Cross-entropy from logits, summed over the batch, with the model in inference mode (model(x, training=False): this model has dropout)?'

