"""Compiles the loss without from_logits=True: the logits are read as probabilities."""
QUESTION = "q01_train_classifier"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import keras

def train_classifier(model, x, y, *, epochs, batch_size=32, learning_rate=1e-3, verbose=1):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    return model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose)
