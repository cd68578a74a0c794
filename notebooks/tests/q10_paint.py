from otter.test_files import test_case

OK_FORMAT = False

name = "q10_paint"
points = 3

@test_case(points=None, hidden=False)
def test_paint_behaviour(paint):
    import numpy as np
    import keras
    from robustkeras.synthesis import feature_model
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Dense(8, activation='relu')(keras.layers.Flatten()(inputs))))
    image = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    region = np.zeros((32, 32, 1), np.float32)
    region[:16] = 1
    feats = lambda t: np.asarray(feature_model(model)(t[None])[1])[0]
    unit = int(np.argmax(feats(image)))
    out = paint(model, image, region, unit, steps=8)
    assert out is not None, 'paint returned None: replace the `...` with your code and `return` the result.'
    out = np.asarray(out)
    assert out.shape == (32, 32, 3), f'Return one image (32, 32, 3). Received {out.shape}.'
    assert feats(out)[unit] > feats(image)[unit], 'The chosen feature should grow.'
    assert np.abs(out[16:] - image[16:]).mean() < 0.02, 'Outside the region the image should barely change (keep = 1 - region).'

