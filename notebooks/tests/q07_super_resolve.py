from otter.test_files import test_case

OK_FORMAT = False

name = "q07_super_resolve"
points = 3

@test_case(points=None, hidden=False)
def test_super_resolve_behaviour(super_resolve_images):
    import numpy as np
    import keras
    from robustkeras.synthesis import bicubic
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Dense(8, activation='relu')(keras.layers.Flatten()(inputs))))
    rng = np.random.default_rng(0)
    lowres = (0.2 + 0.6 * rng.random((2, 8, 8, 3))).astype(np.float32)
    labels = np.array([1, 6])
    out = np.asarray(super_resolve_images(model, lowres, labels, factor=4, steps=8))
    assert out.shape == (2, 32, 32, 3), f'Expected (2, 32, 32, 3). Received {out.shape}.'
    pooled = out.reshape(2, 8, 4, 8, 4, 3).mean(axis=(2, 4))
    assert np.abs(pooled - lowres).max() < 0.02, 'The result must average back to the low-res image: pass project=lowres_projection.'
    start = bicubic(lowres, 4)
    d = np.linalg.norm((out - start).reshape(2, -1), axis=1)
    assert np.all(d <= 1.0 + 0.05), f'Stay within radius 1 of the bicubic start. Distances {d}.'
    p = lambda t: keras.ops.softmax(model(t)).numpy()[np.arange(2), labels]
    assert np.all(p(out) > p(start)), "The class probability should rise above the bicubic image's."

