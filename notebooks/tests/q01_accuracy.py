from otter.test_files import test_case

OK_FORMAT = False

name = "q01_accuracy"
points = 2

@test_case(points=None, hidden=False)
def test_accuracy_known(accuracy):
    import numpy as np
    import keras
    model = keras.Sequential([keras.Input((2, 1, 1)), keras.layers.Flatten(), keras.layers.Dropout(0.999)])
    x = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], np.float32).reshape(4, 2, 1, 1)
    acc = accuracy(model, x, np.array([0, 1, 1, 1]))
    assert acc is not None, 'accuracy returned None: replace the `...` with your code and `return` a fraction.'
    assert np.isclose(acc, 0.75), f'3 of 4 predictions are right: expected 0.75. Received {acc}. This model has dropout: predict in inference mode, model(x, training=False).'
    acc = accuracy(model, x, np.array([0, 1, 1, 1]), batch_size=3)
    assert np.isclose(acc, 0.75), f'With batch_size=3 (a last, smaller batch) expected 0.75. Received {acc}.'

