"""Reference computations for the verdicts (grader's process only).

Written here with TensorFlow and NumPy rather than taken from the library's attack code, so a
verdict stays an independent check of the exercise (and of the library)."""

import numpy as np

__all__ = ["ce", "log_prob", "input_gradient", "pgd", "project_l2", "project_linf"]


def _tf():
    import tensorflow as tf
    return tf


def log_softmax(z):
    """Stable log-softmax over the last axis of a (N, K) batch, in float64."""
    z = np.asarray(z, np.float64)
    m = z.max(1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(1, keepdims=True))


def ce(model, x, y):
    """Per-image cross-entropy of the model's inference-mode logits (float64 numpy)."""
    z = np.asarray(model(np.asarray(x, np.float32), training=False), np.float64)
    return -log_softmax(z)[np.arange(len(z)), np.asarray(y)]


def log_prob(model, x, target):
    return -ce(model, x, target)


def input_gradient(model, x, y, *, sign=1.0, training=False):
    """d(sign * summed cross-entropy)/dx."""
    tf = _tf()
    x = tf.convert_to_tensor(np.asarray(x, np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = model(x, training=training)
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.convert_to_tensor(np.asarray(y), tf.int32), logits=logits))
    return sign * tape.gradient(loss, x).numpy()


def project_linf(x, x0, eps):
    return np.clip(x0 + np.clip(x - x0, -eps, eps), 0.0, 1.0)


def project_l2(x, x0, eps):
    d = x - x0
    norms = np.sqrt((d.astype(np.float64) ** 2).reshape(len(d), -1).sum(1)).reshape(-1, *[1] * (d.ndim - 1))
    return np.clip(x0 + d * np.minimum(1.0, eps / (norms + 1e-12)), 0.0, 1.0)


def pgd(model, x, y, *, norm, eps, step_size, steps, targeted=False):
    """PGD from the clean images (no random start). Targeted: descend the cross-entropy of `y`."""
    x0 = np.asarray(x, np.float32)
    adv = x0.copy()
    for _ in range(steps):
        g = input_gradient(model, adv, y, sign=-1.0 if targeted else 1.0)
        if norm == "linf":
            adv = project_linf(adv + step_size * np.sign(g), x0, eps)
        else:
            n = np.sqrt((g.astype(np.float64) ** 2).reshape(len(g), -1).sum(1)).reshape(-1, 1, 1, 1)
            adv = project_l2(adv + step_size * g / (n + 1e-12), x0, eps)
        adv = adv.astype(np.float32)
    return adv


def l2_pgd_tf(logits_fn, x, y, *, eps, steps):
    """L2 PGD on tensors from the clean batch, step 2.5 eps / steps (stage 03's `adversarial_batch`)."""
    tf = _tf()
    step_size = 2.5 * eps / steps
    x0 = tf.convert_to_tensor(x, tf.float32)
    y = tf.convert_to_tensor(y, tf.int32)
    adv = x0

    def norm(t):
        return tf.sqrt(tf.reduce_sum(tf.square(t), axis=(1, 2, 3), keepdims=True))

    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(adv)
            loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits_fn(adv)))
        g = tape.gradient(loss, adv)
        adv = adv + step_size * g / (norm(g) + 1e-12)
        delta = adv - x0
        adv = tf.clip_by_value(x0 + delta * tf.minimum(1.0, eps / (norm(delta) + 1e-12)), 0.0, 1.0)
    return tf.stop_gradient(adv)


def adversarial_training(model, x, y, *, eps, steps, lr, batch_size, epochs):
    """SGD on L2 PGD examples (attack with training=False, update with training=True), in order."""
    import keras
    tf = _tf()
    optimizer = keras.optimizers.SGD(lr)
    for _ in range(epochs):
        for i in range(0, len(x), batch_size):
            xb = tf.convert_to_tensor(x[i:i + batch_size], tf.float32)
            yb = tf.convert_to_tensor(y[i:i + batch_size], tf.int32)
            adv = l2_pgd_tf(lambda t: model(t, training=False), xb, yb, eps=eps, steps=steps)
            with tf.GradientTape() as tape:
                logits = model(adv, training=True)
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=logits))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply(grads, model.trainable_variables)
    return model


def dlr(logits, y):
    z = np.asarray(logits, np.float64)
    n = len(z)
    z_y = z[np.arange(n), y]
    other = z.copy()
    other[np.arange(n), y] = -np.inf
    top = -np.sort(-z, axis=1)
    return -(z_y - other.max(1)) / (top[:, 0] - top[:, 2] + 1e-12)
