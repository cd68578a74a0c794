"""Returns the trained model instead of the History that `fit` returns."""

QUESTION = "q01_train_classifier"
MAX_FRACTION = 0.0
PUBLIC_HINT = r"History"

import keras


def train_classifier(model, x, y, *, epochs, batch_size=32, learning_rate=1e-3, verbose=1):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose)
    return model
