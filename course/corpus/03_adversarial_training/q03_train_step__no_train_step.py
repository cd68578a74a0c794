"""A keras.Model wrapper with no train_step of its own: Keras's standard training (issue 29: got the metrics point)."""
QUESTION = "q03_train_step"
MAX_FRACTION = 0.0
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import keras

class PGDTrainer(keras.Model):
    def __init__(self, classifier, *, eps, steps, **kwargs):
        super().__init__(**kwargs)
        self.classifier, self.eps, self.steps = classifier, eps, steps

    def call(self, x, training=False):
        return self.classifier(x, training=training)
