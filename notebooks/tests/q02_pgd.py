from otter.test_files import test_case

OK_FORMAT = False

name = "q02_pgd"
points = 4

@test_case(points=None, hidden=False)
def test_step_rules(pgd_step):
    import numpy as np
    x = np.zeros((1, 1, 2, 1), np.float32)
    g = np.array([3.0, -4.0], np.float32).reshape(1, 1, 2, 1)
    out = pgd_step(x, g, 0.5, 'linf')
    assert out is not None, 'pgd_step returned None: `return` the stepped images.'
    out = np.asarray(out).ravel()
    assert np.allclose(out, [0.5, -0.5]), f'Linf step: x + step_size * sign(grad). Received {out}.'
    out = np.asarray(pgd_step(x, g, 0.5, 'l2')).ravel()
    assert np.allclose(out, [0.3, -0.4]), f'L2 step: x + step_size * grad / ||grad||_2 (here ||grad|| = 5). Received {out}.'

@test_case(points=None, hidden=False)
def test_pgd_properties(pgd_attack):
    import numpy as np
    import keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Flatten(), keras.layers.Dense(16, activation='relu'), keras.layers.Dense(10)])
    x = np.random.default_rng(0).random((8, 6, 6, 3)).astype(np.float32)
    y = np.arange(8) % 10
    ce = lambda t: keras.losses.sparse_categorical_crossentropy(y, model(t), from_logits=True).numpy()
    for norm, eps in (('l2', 0.5), ('linf', 0.03)):
        adv = pgd_attack(model, x, y, norm=norm, eps=eps, step_size=eps / 4, steps=8)
        assert adv is not None, 'pgd_attack returned None: `return` the final adversarial images.'
        adv = np.asarray(adv)
        assert adv.shape == x.shape, f'Expected shape {x.shape}. Received {adv.shape}.'
        assert adv.min() >= 0 and adv.max() <= 1, f'{norm}: the result must stay in [0, 1].'
        d = (adv - x).reshape(8, -1)
        size = np.linalg.norm(d, axis=1) if norm == 'l2' else np.abs(d).max(1)
        assert np.all(size <= eps + 0.0001), f'{norm}: the result left the eps-ball (max norm {size.max():.4f} > {eps}). Project after every step.'
        noise = np.random.default_rng(1).normal(size=x.shape).astype(np.float32)
        noise = noise / np.linalg.norm(noise.reshape(8, -1), axis=1).reshape(8, 1, 1, 1) * eps if norm == 'l2' else np.sign(noise) * eps
        assert ce(adv).mean() > ce(np.clip(x + noise, 0, 1)).mean(), f'{norm}: PGD should beat random noise of the same size.'
        assert np.all(ce(adv) >= ce(x) - 1e-05), f"{norm}: PGD must not decrease any image's loss."

