from otter.test_files import test_case

OK_FORMAT = False

name = "q10_top_units"
points = 2

@test_case(points=None, hidden=False)
def test_top_units(top_units):
    import numpy as np
    import keras
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    w = np.zeros((4, 3), np.float32)
    w[:, 1] = [0.1, 0.9, -0.5, 0.4]
    model.layers[-1].set_weights([w, np.zeros(3, np.float32)])
    out = top_units(model, 1, k=3)
    assert out is not None, 'top_units returned None: replace the `...` with your code and `return` the unit indices.'
    out = [int(i) for i in out]
    assert out == [1, 3, 0], f'Largest weights into class 1 first: expected [1, 3, 0]. Received {out}.'

