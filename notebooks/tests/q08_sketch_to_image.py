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
    out = sketch_to_image(model, sketches, classes, steps=6, step_size=0.5, radius=2.0)
    assert out is not None, 'sketch_to_image returned None: `return` the images (optimize(...).images).'
    out = np.asarray(out)
    assert out.shape == sketches.shape, f'Expected shape {sketches.shape}. Received {out.shape}.'
    distance = lambda images: np.linalg.norm((np.asarray(images) - sketches).reshape(2, -1), axis=1)
    assert np.all(distance(out) <= 2.0 + 0.001), f'Stay within `radius` of the sketch. Distances {distance(out)}.'
    p = lambda t: keras.ops.softmax(model(t)).numpy()[np.arange(2), classes]
    assert np.all(p(out) > p(sketches)), "The target class's probability should rise."
    d = distance(sketch_to_image(model, sketches, classes, steps=6, step_size=1.0, radius=0.5))
    assert np.all(d <= 0.5 + 0.001), f"With radius=0.5 the images moved {np.round(d, 3)} from the sketch: pass the caller's `radius` on to optimize."
    d = distance(sketch_to_image(model, sketches, classes, steps=4, step_size=0.02, radius=8.0))
    assert np.all(d <= 4 * 0.02 + 0.001), f"4 steps of step_size=0.02 move an image at most 0.08; these moved {np.round(d, 3)}: pass the caller's `step_size` on to optimize (no fixed step size)."

