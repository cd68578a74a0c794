from otter.test_files import test_case

OK_FORMAT = False

name = "q08_sketch_to_image"
points = 3

@test_case(points=None, hidden=False)
def test_sketch_to_image_behaviour(sketch_to_image):
    import numpy as np
    import keras
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Dense(8, activation='relu')(keras.layers.Flatten()(inputs))))
    sketches = np.ones((2, 32, 32, 3), np.float32)
    sketches[:, 10:22, 15:17] = 0.0
    classes = np.array([5, 9])
    out = np.asarray(sketch_to_image(model, sketches, classes, steps=6, step_size=0.5, radius=2.0))
    assert out.shape == sketches.shape, f'Expected shape {sketches.shape}. Received {out.shape}.'
    d = np.linalg.norm((out - sketches).reshape(2, -1), axis=1)
    assert np.all(d <= 2.0 + 0.001), f'Stay within `radius` of the sketch. Distances {d}.'
    p = lambda t: keras.ops.softmax(model(t)).numpy()[np.arange(2), classes]
    assert np.all(p(out) > p(sketches)), "The target class's probability should rise."

