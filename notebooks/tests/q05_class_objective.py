from otter.test_files import test_case

OK_FORMAT = False

name = "q05_class_objective"
points = 3

@test_case(points=None, hidden=False)
def test_log_probabilities(class_objective):
    import numpy as np
    logits = np.array([[0.0, 1.0, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0]], np.float32)
    out = class_objective({'target': np.array([2, 1])}, None, logits, None)
    assert out is not None, 'class_objective returned None: `return` one log-probability per image.'
    out = np.asarray(out)
    assert out.shape == (2,), f'Return one value per image, shape (2,). Received {out.shape}.'
    expected = [-np.log(np.e + 3), -np.log(np.exp(2) + 3)]
    predicted = [1 - np.log(np.e + 3), 2 - np.log(np.exp(2) + 3)]
    assert not np.allclose(out, predicted, atol=1e-05), "You returned the log-probability of the predicted class (the argmax). The objective is the log-probability of the class asked for: params['target']."
    assert np.allclose(out, expected, atol=1e-05), f'Expected log p(target) = {np.round(expected, 4)}. Received {out}.'

@test_case(points=None, hidden=False)
def test_drives_optimize(class_objective):
    import numpy as np
    import keras
    from robustkeras.synthesis import optimize
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Dense(8, activation='relu')(keras.layers.Flatten()(inputs))))
    start = np.full((2, 32, 32, 3), 0.5, np.float32)
    assert class_objective({'target': np.array([3, 8])}, start, np.zeros((2, 10), np.float32), None) is not None, 'class_objective returned None: `return` one log-probability per image.'
    result = optimize(model, start, objective=class_objective, params={'target': np.array([3, 8])}, steps=5, step_size=0.5, radius=2.0)
    assert np.all(result.objective_values[-1] > result.objective_values[0]), 'optimize maximises your objective; the log-probability should rise over the steps. Use keras.ops, not numpy.'

