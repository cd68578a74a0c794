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
    budgets = {'l2': 0.5, 'linf': 0.03}
    advs, sizes = ({}, {})
    for norm, eps in budgets.items():
        adv = pgd_attack(model, x, y, norm=norm, eps=eps, step_size=eps / 4, steps=8)
        assert adv is not None, 'pgd_attack returned None: `return` the final adversarial images.'
        advs[norm] = adv = np.asarray(adv)
        assert adv.shape == x.shape, f'Expected shape {x.shape}. Received {adv.shape}.'
        assert adv.min() >= 0 and adv.max() <= 1, f'{norm}: the result must stay in [0, 1].'
        d = (adv - x).reshape(8, -1)
        sizes[norm] = (np.linalg.norm(d, axis=1), np.abs(d).max(1))
    outside = {norm: np.any(sizes[norm][norm == 'linf'] > eps + 0.0001) for norm, eps in budgets.items()}
    assert not (outside['l2'] and (not outside['linf']) and np.all(sizes['l2'][1] <= 0.5 + 0.0001)), f"l2: the result is inside the Linf box of 0.5 but outside the L2 ball (max L2 norm {sizes['l2'][0].max():.4f}): the L-inf projection (project_linf) was used for norm='l2'. Use project_l2 for 'l2'."
    for norm, eps in budgets.items():
        assert not outside[norm], f"{norm}: the result left the eps-ball around the clean images (max norm {sizes[norm][norm == 'linf'].max():.4f} > {eps}, after steps of {eps / 4:.3g}). Project onto the ball around the clean images x0 (kept from the start), not around the current iterate, after every step."
    for norm, eps in budgets.items():
        adv = advs[norm]
        noise = np.random.default_rng(1).normal(size=x.shape).astype(np.float32)
        noise = noise / np.linalg.norm(noise.reshape(8, -1), axis=1).reshape(8, 1, 1, 1) * eps if norm == 'l2' else np.sign(noise) * eps
        assert ce(adv).mean() > ce(np.clip(x + noise, 0, 1)).mean(), f'{norm}: PGD should beat random noise of the same size.'
        assert np.all(ce(adv) >= ce(x) - 1e-05), f"{norm}: PGD must not decrease any image's loss."

