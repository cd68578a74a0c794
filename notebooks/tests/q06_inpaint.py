from otter.test_files import test_case

OK_FORMAT = False

name = "q06_inpaint"
points = 3

@test_case(points=None, hidden=False)
def test_inpaint_behaviour(inpaint_images):
    import numpy as np
    import keras
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Dense(8, activation='relu')(keras.layers.Flatten()(inputs))))
    images = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    mask = np.zeros((2, 32, 32, 1), np.float32)
    mask[:, 8:24, 8:24] = 1
    labels = np.array([2, 7])
    out = inpaint_images(model, images, labels, mask, steps=10)
    assert out is not None, 'inpaint_images returned None: replace the `...` with your code and `return` the result.'
    out = np.asarray(out)
    assert out.shape == images.shape, f'Expected shape {images.shape}. Received {out.shape}.'
    outside = np.abs(out - images)[np.broadcast_to(mask == 0, images.shape)]
    assert outside.mean() < 0.02, f'Pixels outside the hole moved by {outside.mean():.3f} on average: keep = 1 - mask, weight = {10.0}.'
    inside = out[np.broadcast_to(mask == 1, images.shape)]
    assert np.abs(inside - 0.5).mean() > 0.001, 'Nothing happened inside the hole: start from grey there and optimize.'
    start = images * (1 - mask) + 0.5 * mask
    p = lambda t: keras.ops.softmax(model(t)).numpy()[np.arange(2), labels]
    assert np.all(p(out) > p(start)), 'The class probability should rise from the grey-hole start.'

