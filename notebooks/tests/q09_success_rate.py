from otter.test_files import test_case

OK_FORMAT = False

name = "q09_success_rate"
points = 2

@test_case(points=None, hidden=False)
def test_success_rate(success_rate):
    import numpy as np
    import keras
    judge = keras.Sequential([keras.Input((1, 1, 3)), keras.layers.Flatten()])
    images = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 2, 1]], np.float32).reshape(4, 1, 1, 3)
    rate = success_rate(judge, images, 1)
    assert rate is not None, 'success_rate returned None: replace the `...` with your code and `return` a fraction.'
    assert np.isclose(rate, 0.5), f'2 of 4 images have class 1 as their largest logit: expected 0.5. Received {rate}.'

