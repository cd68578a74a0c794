from otter.test_files import test_case

OK_FORMAT = False

name = "q04_towards_class"
points = 3

@test_case(points=None, hidden=False)
def test_targeted_properties(towards_class):
    import numpy as np
    import keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Flatten(), keras.layers.Dense(16, activation='relu'), keras.layers.Dense(10)])
    x = np.random.default_rng(0).random((6, 6, 6, 3)).astype(np.float32)
    targets = np.array([3, 3, 3, 7, 7, 7])
    out = towards_class(model, x, targets, eps=1.0, steps=5)
    assert out is not None, 'towards_class returned None: `return` the images (a NumPy array).'
    out = np.asarray(out)
    assert out.shape == x.shape, f'Expected shape {x.shape}. Received {out.shape}.'
    d = np.linalg.norm((out - x).reshape(6, -1), axis=1)
    assert np.all(d <= 1.0 + 0.0001) and out.min() >= 0 and (out.max() <= 1), 'Stay inside the L2 ball around x and in [0, 1].'
    p = lambda t: keras.ops.softmax(model(t)).numpy()[np.arange(6), targets]
    assert np.all(p(out) > p(x)), "The target's probability must rise: step *up* the log-probability (targeted = minus the cross-entropy)."
    import tensorflow as tf
    mid = (0.3 + 0.4 * x).astype(np.float32)
    t = tf.constant(mid)
    with tf.GradientTape() as tape:
        tape.watch(t)
        log_p = tf.reduce_sum(-keras.losses.sparse_categorical_crossentropy(targets, model(t), from_logits=True))
    g = tape.gradient(log_p, t).numpy().reshape(6, -1)
    moved = (np.asarray(towards_class(model, mid, targets, eps=0.05, steps=1)) - mid).reshape(6, -1)
    cosine = np.sum(moved * g, 1) / (np.linalg.norm(moved, axis=1) * np.linalg.norm(g, axis=1) + 1e-12)
    assert np.all(cosine > 0.999), f'One L2 step should move along the gradient (cosine 1). Received cosines {np.round(cosine, 3)}: the sign of the gradient is the L-inf step; for L2 step along grad / ||grad||_2 (rule.step of L2Step).'

