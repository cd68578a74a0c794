from otter.test_files import test_case

OK_FORMAT = False

name = "q03_train_step"
points = 4

@test_case(points=None, hidden=False)
def test_one_step_matches_reference(PGDTrainer):
    import numpy as np
    import keras
    from robustkeras.training import AdversarialTrainer

    def make():
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Flatten(), keras.layers.Dense(16), keras.layers.BatchNormalization(), keras.layers.ReLU(), keras.layers.Dense(10)])
    import tensorflow as tf
    x = np.random.default_rng(0).random((8, 6, 6, 3)).astype(np.float32)
    y = np.arange(8) % 10
    probe = PGDTrainer(make(), eps=0.5, steps=1)
    probe.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=['accuracy'])
    try:
        logs = probe.train_step((tf.constant(x), tf.constant(y)))
    except Exception as error:
        raise AssertionError(f"train_step failed on one batch: {type(error).__name__}: {error}. Fill in every TODO (a metric's result() fails until update_state has been called).") from error
    assert logs is not None, 'train_step returned None: finish with `return {m.name: m.result() for m in self.metrics}`.'
    assert isinstance(logs, dict), f'train_step must return a dict of metric results. Received {type(logs).__name__}.'
    mine, ref = (make(), make())
    trainer = PGDTrainer(mine, eps=0.5, steps=2)
    trainer.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=['accuracy'])
    history = trainer.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    reference = AdversarialTrainer(ref, norm='l2', eps=0.5, steps=2, step_size=2.5 * 0.5 / 2, random_start=False)
    reference.compile(optimizer=keras.optimizers.SGD(0.1))
    reference.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    assert 'loss' in history.history, f'Return the metrics from train_step (loss missing). Keys: {list(history.history)}.'
    assert 'accuracy' in history.history, f'Update every metric in self.metrics (accuracy missing). Keys: {list(history.history)}.'
    for layer, other in zip(mine.layers, ref.layers):
        if isinstance(layer, keras.layers.BatchNormalization):
            assert np.allclose(layer.moving_mean.numpy(), other.moving_mean.numpy(), atol=1e-05), 'The batch-norm statistics moved while attacking: run the attack with the model in inference mode, `self(t, training=False)` in TODO 1 (training=True only for the update in TODO 2).'
    for a, b in zip(mine.get_weights(), ref.get_weights()):
        assert np.allclose(a, b, atol=0.0001), "After one step the weights differ from adversarial training's: attack with training=False, then train on x_adv with training=True."

@test_case(points=None, hidden=False)
def test_not_standard_training(PGDTrainer):
    import numpy as np
    import keras

    def make():
        keras.utils.set_random_seed(1)
        return keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    x = np.random.default_rng(1).random((8, 4, 4, 3)).astype(np.float32)
    y = np.arange(8) % 10
    mine, clean = (make(), make())
    trainer = PGDTrainer(mine, eps=1.0, steps=1)
    trainer.compile(optimizer=keras.optimizers.SGD(0.5), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    trainer.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    clean.compile(optimizer=keras.optimizers.SGD(0.5), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    clean.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    before = make().get_weights()[0]
    assert not np.allclose(mine.get_weights()[0], before), 'The weights did not change: apply the gradients with self.optimizer.apply.'
    assert not np.allclose(mine.get_weights()[0], clean.get_weights()[0], atol=1e-05), 'This is standard training: train on x_adv, not x.'

