from otter.test_files import test_case

OK_FORMAT = False

name = "q06_inpaint_objective"
points = 3

@test_case(points=None, hidden=False)
def test_objective_values(inpaint_objective):
    import numpy as np
    reference = np.zeros((2, 2, 2, 3), np.float32)
    x = reference.copy()
    x[:, 0, 0, :] = 1.0
    keep = np.ones((2, 2, 2, 1), np.float32)
    keep[1, 0, 0, 0] = 0.0
    logits = np.zeros((2, 10), np.float32)
    params = {'target': np.array([0, 1]), 'reference': reference, 'keep': keep, 'weight': np.float32(2.0)}
    out = inpaint_objective(params, x, logits, None)
    assert out is not None, 'inpaint_objective returned None: replace the `...` with your code and `return` the result.'
    out = np.asarray(out)
    assert out.shape == (2,), f'Return one value per image. Received shape {out.shape}.'
    assert np.allclose(out, [np.log(0.1) - 2 * 3, np.log(0.1)], atol=1e-05), f'Expected [log 0.1 - 2*3, log 0.1]: changes count only where keep = 1, summed over channels. Received {out}.'

