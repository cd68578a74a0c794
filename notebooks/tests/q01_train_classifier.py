from otter.test_files import test_case

OK_FORMAT = False

name = "q01_train_classifier"
points = 2

@test_case(points=None, hidden=False)
def test_tiny_model_learns(train_classifier):
    import numpy as np
    import keras
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((64, 8, 8, 3)).astype(np.float32)
    y = (x[:, :4].mean((1, 2, 3)) > x[:, 4:].mean((1, 2, 3))).astype(np.int32)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    history = train_classifier(model, x, y, epochs=15, batch_size=16, learning_rate=0.01)
    assert history is not None and hasattr(history, 'history'), 'Return what `model.fit` returns (a History).'
    assert 'loss' in history.history and 'accuracy' in history.history, f"Compile with metrics=['accuracy']. History keys: {list(history.history)}."
    losses = history.history['loss']
    assert len(losses) == 15, f'Train for `epochs` epochs. Received {len(losses)}.'
    assert losses[-1] < 0.8 * losses[0], f'The loss should fall on this easy task: {losses[0]:.3f} -> {losses[-1]:.3f}. from_logits=True?'

