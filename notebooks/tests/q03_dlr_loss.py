from otter.test_files import test_case

OK_FORMAT = False

name = "q03_dlr_loss"
points = 2

@test_case(points=None, hidden=False)
def test_matches_library_dlr(dlr_loss):
    import numpy as np
    from robustkeras.attacks import dlr
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 10)).astype('float32')
    y = np.array([0, 1, 2, 3, 4, 9])
    mine = dlr_loss(logits, y)
    assert mine is not None, 'dlr_loss returned None: `return` the (N,) DLR values.'
    mine = np.asarray(mine)
    import tensorflow as tf
    try:
        graph = tf.function(lambda z, t: dlr_loss(z, t), autograph=False)(tf.constant(logits), tf.constant(y))
    except Exception as error:
        raise AssertionError(f'dlr_loss fails inside a compiled graph (tf.function), where the attack calls it: {type(error).__name__}: {str(error).strip().splitlines()[0][:160]}. Write it with keras.ops or tf operations, not NumPy (np.asarray, np.sort, in-place assignment).') from None
    assert np.allclose(np.asarray(graph), mine, atol=1e-05), 'dlr_loss gives other values inside tf.function: use keras.ops or tf, not NumPy.'
    assert mine.shape == (6,), f'Return one value per example: shape (6,), got {mine.shape}.'
    assert np.allclose(mine, np.asarray(dlr(logits, y)), atol=1e-05), 'Differs from -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3 + 1e-12).'

@test_case(points=None, hidden=False)
def test_hand_computed(dlr_loss):
    import numpy as np
    logits = np.array([[3.0, 1.0, 0.0], [0.0, 2.0, 1.0]], 'float32')
    mine = dlr_loss(logits, np.array([0, 0]))
    assert mine is not None, 'dlr_loss returned None: `return` the (N,) DLR values.'
    mine = np.asarray(mine)
    assert np.allclose(mine, [-2 / 3, 1.0], atol=1e-05), f'Expected [-0.667, 1.0], got {mine}.'

