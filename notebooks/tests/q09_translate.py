from otter.test_files import test_case

OK_FORMAT = False

name = "q09_translate"
points = 3

@test_case(points=None, hidden=False)
def test_translate_behaviour(translate_images):
    import numpy as np
    import keras
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Dense(8, activation='relu')(keras.layers.Flatten()(inputs))))
    images = np.random.default_rng(0).random((3, 32, 32, 3)).astype(np.float32)
    out = translate_images(model, images, 4, steps=6, step_size=0.5, radius=1.5)
    assert out is not None, 'translate_images returned None: replace the `...` with your code and `return` the result.'
    out = np.asarray(out)
    assert out.shape == images.shape, f'Expected shape {images.shape}. Received {out.shape}.'
    d = np.linalg.norm((out - images).reshape(3, -1), axis=1)
    assert np.all(d <= 1.5 + 0.001), f'Stay within `radius` of the source images. Distances {d}.'
    p = lambda t: keras.ops.softmax(model(t)).numpy()[:, 4]
    assert np.all(p(out) > p(images)), 'p(target) should rise for every image (the target is one class for all).'

