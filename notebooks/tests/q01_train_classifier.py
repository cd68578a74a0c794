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

    def true_loss():
        return float(np.mean(keras.losses.sparse_categorical_crossentropy(y, model(x), from_logits=True)))
    before = true_loss()
    history = train_classifier(model, x, y, epochs=15, batch_size=16, learning_rate=0.01, verbose=0)
    assert history is not None, 'train_classifier returned None: `return` what `model.fit` returns (a History).'
    assert isinstance(history, keras.callbacks.History), f'Return what `model.fit` returns (a keras.callbacks.History), not the {type(history).__name__}.'
    assert 'loss' in history.history and 'accuracy' in history.history, f"Compile with metrics=['accuracy']. History keys: {list(history.history)}."
    losses = history.history['loss']
    assert len(losses) == 15, f'Train for `epochs` epochs. Received {len(losses)}.'
    assert isinstance(model.optimizer, keras.optimizers.Adam), f'Compile with the Adam optimizer, keras.optimizers.Adam(learning_rate). Received {type(model.optimizer).__name__}.'
    rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    assert np.isclose(rate, 0.01), f'Pass `learning_rate` on to Adam: asked for 0.01, the optimizer has {rate:g}.'
    updates = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    assert updates == 15 * 4, f'Pass `batch_size` on to fit: 64 images in batches of 16 make 4 updates per epoch, 60 in 15 epochs; the optimizer made {updates}.'
    after = true_loss()
    assert after < 0.5 * before, f"The cross-entropy of the model's logits went {before:.3f} -> {after:.3f} on this easy task (the compiled loss: {losses[0]:.3f} -> {losses[-1]:.3f}). The model outputs logits, not probabilities: compile SparseCategoricalCrossentropy(from_logits=True)."

