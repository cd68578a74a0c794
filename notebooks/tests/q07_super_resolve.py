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
    out = super_resolve_images(model, lowres, labels, factor=4, steps=8)
    assert out is not None, 'super_resolve_images returned None: replace the `...` with your code and `return` the result.'
    out = np.asarray(out)
    assert out.shape == (2, 32, 32, 3), f'Expected (2, 32, 32, 3). Received {out.shape}.'
    pooled = out.reshape(2, 8, 4, 8, 4, 3).mean(axis=(2, 4))
    assert np.abs(pooled - lowres).mean() < 0.01, 'The result must average back to the low-res image: pass project=lowres_projection.'
    start = bicubic(lowres, 4)
    assert not np.allclose(out, start, atol=0.001), 'Nothing changed: start at the bicubic image and take the steps.'
    from robustkeras.synthesis import super_resolve
    ref = super_resolve(model, lowres, labels, factor=4, steps=8, step_size=0.1, radius=1.0).images
    assert np.allclose(out, ref, atol=0.001), "Differs from the library's super_resolve with the same settings: bicubic start, class_objective, radius around the start, project=lowres_projection."

