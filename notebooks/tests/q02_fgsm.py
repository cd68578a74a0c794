from otter.test_files import test_case

OK_FORMAT = False

name = "q02_fgsm"
points = 2

@test_case(points=None, hidden=False)
def test_fgsm_properties(fgsm):
    import numpy as np
    import keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    x = np.random.default_rng(0).random((4, 4, 4, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 3])
    eps = 0.05
    adv = fgsm(model, x, y, eps)
    assert adv is not None, 'fgsm returned None: `return` the adversarial images.'
    adv = np.asarray(adv)
    assert adv.shape == x.shape, f'Expected shape {x.shape}. Received {adv.shape}.'
    assert adv.min() >= 0 and adv.max() <= 1, 'Clip the result to [0, 1].'
    assert np.abs(adv - x).max() <= eps + 1e-06, 'Each pixel may move by at most eps.'
    inside = (x > eps) & (x < 1 - eps)
    assert np.allclose(np.abs(adv - x)[inside], eps, atol=1e-05), 'Away from 0 and 1 every pixel moves by exactly eps (the sign step).'
    ce = lambda t: keras.losses.sparse_categorical_crossentropy(y, model(t), from_logits=True).numpy()
    assert np.all(ce(adv) > ce(x)), 'FGSM must increase the loss of every image: step along +sign(gradient).'

