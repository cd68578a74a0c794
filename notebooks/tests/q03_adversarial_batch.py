from otter.test_files import test_case

OK_FORMAT = False

name = "q03_adversarial_batch"
points = 3

@test_case(points=None, hidden=False)
def test_matches_reference_pgd(adversarial_batch):
    import numpy as np
    import keras
    import tensorflow as tf
    from robustkeras.attacks import L2Step, pgd_loop
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Flatten(), keras.layers.Dense(16, activation='relu'), keras.layers.Dense(10)])
    x = tf.constant(np.random.default_rng(0).random((4, 6, 6, 3)), tf.float32)
    y = tf.constant([1, 2, 3, 4])
    adv = adversarial_batch(lambda t: model(t, training=False), x, y, eps=0.5, steps=3)
    assert adv is not None, 'adversarial_batch returned None: `return` the attacked batch (wrapped in tf.stop_gradient).'
    assert tuple(adv.shape) == tuple(x.shape), f'Return a batch shaped like x {tuple(x.shape)}. Received {tuple(adv.shape)}.'
    assert tf.is_tensor(adv), 'Return a tensor (work with tf ops, not NumPy), so it runs inside train_step.'
    ref = pgd_loop(lambda t: model(t, training=False), x, y, L2Step(0.5, 2.5 * 0.5 / 3), steps=3, random_start=False)
    d = np.linalg.norm((adv.numpy() - x.numpy()).reshape(4, -1), axis=1)
    assert np.all(d <= 0.5 + 0.0001), f'Left the L2 ball: norms {d}. Project after every step.'
    assert np.allclose(adv.numpy(), np.asarray(ref), atol=0.0001), 'Differs from L2 PGD with step 2.5 * eps / steps from the clean images (step, then project onto the ball around the clean x).'

@test_case(points=None, hidden=False)
def test_stops_gradient(adversarial_batch):
    import numpy as np
    import keras
    import tensorflow as tf
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    x = tf.constant(np.random.default_rng(1).random((2, 4, 4, 3)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        adv = adversarial_batch(lambda t: model(t, training=False), x, tf.constant([0, 1]), eps=0.5, steps=1)
        assert adv is not None, 'adversarial_batch returned None: `return` the attacked batch (wrapped in tf.stop_gradient).'
        total = tf.reduce_sum(adv)
    assert tape.gradient(total, x) is None, 'Wrap the result in tf.stop_gradient.'

