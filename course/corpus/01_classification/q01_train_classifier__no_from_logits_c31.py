"""Cross-entropy without `from_logits=True`: Keras reads the model's logits as probabilities."""

QUESTION = "q01_train_classifier"
MAX_FRACTION = 0.0
PUBLIC_HINT = r"from_logits"

import keras


def train_classifier(model, x, y, *, epochs, batch_size=32, learning_rate=1e-3, verbose=1):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    return model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose)
