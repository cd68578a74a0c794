"""Standard training inside train_step: the attack's result is unused."""
QUESTION = "q03_train_step"
MAX_FRACTION = 0.25
PUBLIC_HINT = None
PUBLIC_WEAKER = "not yet checked by the public tests"

import tensorflow as tf
import keras

class PGDTrainer(keras.Model):
    def __init__(self, classifier, *, eps, steps, **kwargs):
        super().__init__(**kwargs)
        self.classifier, self.eps, self.steps = classifier, eps, steps

    def call(self, x, training=False):
        return self.classifier(x, training=training)

    def train_step(self, data):
        x, y = data
        x_adv = adversarial_batch(lambda t: self(t, training=False), x, y, eps=self.eps, steps=self.steps)
        with tf.GradientTape() as tape:
            logits = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=logits)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, logits)
        return {m.name: m.result() for m in self.metrics}
