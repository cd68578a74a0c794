"""Adversarial training as a Keras model whose `train_step` attacks each batch first.

One TensorFlow `train_step` (GradientTape) and one JAX `train_step` (stateless),
sharing the attack (`pgd_loop`), the step rules and the batch mixing. Both use
only public Keras API (`compute_loss`, `optimizer.apply`, metric trackers listed
in `metrics`), so they run unchanged under `tf.distribute.MirroredStrategy` and
`keras.distribution.DataParallel`: the attack is per example, so each replica
attacks its own shard of the batch.
"""

import keras
import numpy as np
from keras import ops

from robustkeras import _checks
from robustkeras import backend as B
from robustkeras.attacks.pgd import pgd_loop
from robustkeras.attacks.steps import make_step_rule
from robustkeras.models.introspect import logits_model

MAX_SEED = 2**31 - 1  # seeds travel as int32 inside compiled code


def check_seed(seed):
    """Require an integer seed in [0, 2**31 - 1] (int32, as compiled random ops take it)."""
    seed = _checks.positive_int("seed", seed, minimum=0)
    if seed > MAX_SEED:
        raise ValueError(f"Expected `seed` to be an integer in [0, 2**31 - 1]. Received: seed={seed}")
    return seed


class AdversarialTrainer(keras.Model):
    """Wraps a classifier; `fit` trains it on PGD (or fast FGSM) examples of each batch.

    The wrapped classifier shares its variables with the trainer, so after
    `fit` it is the robust model: save or use it directly. The logs hold
    `loss` (mean over the global batch, also under a distribution strategy),
    `accuracy` on the training batch and, with `track_clean`, `clean_accuracy`.
    Metrics passed to `compile` are not tracked.

    Args:
        classifier: a Keras model taking [0, 1] images and returning logits, or ending in a
            softmax (trained on the logits under it, as the attacks attack them); the
            models the attacks refuse (several outputs, probabilities they cannot undo,
            integer inputs, no input gradient) are refused with the same messages.
        norm: "l2" or "linf" threat model.
        eps: radius of the threat ball (pixels in [0, 1]).
        steps: attack steps per batch (1 = FGSM).
        step_size: attack step length; defaults to `2.5 * eps / steps`
            (and `1.25 * eps` for one step, as in fast adversarial training).
        random_start: start each attack from a random point of the ball.
        adv_fraction: fraction of each batch replaced by its adversarial version.
        track_clean: also report accuracy on the clean batch (one more forward pass).
        seed: seed of the random starts (combined with the optimizer's step count,
            so a resumed run draws the same noise), in [0, 2**31 - 1].

    Example:
        >>> trainer = AdversarialTrainer(fastnet(), norm="l2", eps=0.5, steps=1)
        >>> trainer.compile(optimizer="sgd")
        >>> trainer.fit(x, y, epochs=1)
    """

    def __init__(self, classifier, *, norm, eps, steps=1, step_size=None, random_start=True,
                 adv_fraction=1.0, track_clean=False, seed=0, **kwargs):
        if not isinstance(classifier, keras.Model):
            raise ValueError(f"Expected `classifier` to be a keras.Model. Received: classifier={classifier!r:.80}")
        # What the attacks refuse, refused here with their messages: several inputs or outputs,
        # integer or [0, 255] inputs, no input gradient.
        spec = _checks.classifier(classifier, name="classifier", gradients=True)
        super().__init__(**kwargs)
        self.classifier = classifier
        self._spec = spec
        self.norm, self.eps, self.steps, self.step_size = self.check_arguments(
            norm=norm, eps=eps, steps=steps, step_size=step_size)
        self.random_start = bool(random_start)
        self.adv_fraction = _checks.non_negative("adv_fraction", adv_fraction)
        if self.adv_fraction > 1:
            raise ValueError(f"Expected `adv_fraction` in [0, 1]. Received: adv_fraction={adv_fraction}")
        self.seed = check_seed(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.clean_accuracy_tracker = (
            keras.metrics.SparseCategoricalAccuracy(name="clean_accuracy") if track_clean else None
        )

    @staticmethod
    def check_arguments(*, norm, eps, steps, step_size):
        """Validate the attack settings; return `(norm, eps, steps, step_size)` with the default step filled in."""
        norm = _checks.one_of("norm", norm, {"l2", "linf"})
        eps = _checks.non_negative("eps", eps)
        steps = _checks.positive_int("steps", steps)
        default_step = 1.25 * eps if steps == 1 else 2.5 * eps / steps
        step_size = _checks.non_negative("step_size", default_step if step_size is None else step_size)
        return norm, eps, steps, step_size

    @property
    def metrics(self):
        trackers = [self.loss_tracker, self.accuracy_tracker]
        return trackers + ([self.clean_accuracy_tracker] if self.clean_accuracy_tracker is not None else [])

    def fit(self, x=None, y=None, *args, **kwargs):
        """As `keras.Model.fit`; numpy images must be float in [0, 1] and labels class ids.

        One forward pass on the first images (or, for a dataset or generator, on random
        images of the model's input shape, without reading it) comes first: a model
        returning probabilities through an operation the library cannot undo is refused,
        as the attacks refuse it.
        """
        if isinstance(x, np.ndarray):
            x = _checks.images_for(self._spec, "x", x, model=self.classifier)
            if y is not None and self._spec.num_classes is not None:
                y = _checks.labels("y", y, n=len(x), num_classes=self._spec.num_classes)
        else:
            probe = _probe_images(x, self._spec.shape)
            if probe is not None:
                _checks.images_for(self._spec, "x", probe, model=self.classifier)
        return super().fit(x, y, *args, **kwargs)

    @staticmethod
    def _check_batch(x):
        # Datasets and generators are only seen here, traced: the dtype is all we can check.
        if not keras.backend.is_float_dtype(keras.backend.standardize_dtype(x.dtype)):
            raise ValueError(
                "Expected `x` to be floating point in [0, 1] (divide uint8 images by 255). "
                f"Received: x.dtype={keras.backend.standardize_dtype(x.dtype)}")

    def call(self, x, training=False):
        # The logits, as the attacks see them: a final softmax is removed (`models.logits_model`),
        # so the loss on logits and the attack are those of the logits twin, on both backends.
        return logits_model(self.classifier)(x, training=training)

    def compile(self, optimizer="sgd", loss=None, **kwargs):
        """As `keras.Model.compile`; the loss defaults to cross-entropy on logits."""
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True) if loss is None else loss
        super().compile(optimizer=optimizer, loss=loss, **kwargs)

    # Shared by both backends -------------------------------------------------
    def _adversarial_batch(self, logits_fn, x, y, step, replica=None):
        """The batch to train on: adversarial images for the first `adv_fraction` of it.

        `replica` is `(index, count)` under tf.distribute: the random start is then this
        replica's rows of the global batch's start, so N replicas attack as one device does.
        """
        if self.eps == 0 or self.adv_fraction == 0:
            return x  # standard training: no attack to pay for
        rule = make_step_rule(self.norm, self.eps, self.step_size)
        seed = B.fold_seed(self.seed, step)
        if replica is not None and self.random_start:
            rule = _ShardStart(rule, *replica)
        x_adv = pgd_loop(logits_fn, x, y, rule, steps=self.steps, random_start=self.random_start, seed=seed)
        x_adv = ops.stop_gradient(x_adv)
        if self.adv_fraction >= 1.0:
            return x_adv
        n = ops.shape(x)[0]
        mask = ops.arange(n) < ops.cast(ops.cast(n, "float32") * self.adv_fraction, "int32")
        return ops.where(ops.reshape(mask, (-1, 1, 1, 1)), x_adv, x)

    def _step_count(self, optimizer_variables=None):
        if optimizer_variables is None:
            return self.optimizer.iterations
        index = next(i for i, v in enumerate(self.optimizer.variables) if v is self.optimizer.iterations)
        return optimizer_variables[index]

    @staticmethod
    def _unpack(data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        AdversarialTrainer._check_batch(x)
        return x, y, sample_weight

    def train_step(self, *args):
        if B.name() == "jax":
            return self._jax_train_step(*args)
        return self._tf_train_step(*args)

    # TensorFlow ---------------------------------------------------------------
    def _tf_train_step(self, data):
        import tensorflow as tf

        x, y, sample_weight = self._unpack(data)
        context = tf.distribute.get_replica_context()
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        replica = (context.replica_id_in_sync_group, replicas) if context is not None and replicas > 1 else None
        x_train = self._adversarial_batch(lambda t: self(t, training=False), x, y, self._step_count(), replica)
        with tf.GradientTape() as tape:
            logits = self(x_train, training=True)
            # Under tf.distribute the loss comes back divided by the replica count
            # (so that summed replica gradients average); the tracker gets it unscaled.
            loss = self.compute_loss(x=x_train, y=y, y_pred=logits, sample_weight=sample_weight, training=True)
            scaled = self.optimizer.scale_loss(loss)  # mixed precision's loss scaling; identity otherwise
        grads = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        self.loss_tracker.update_state(loss * ops.cast(replicas, loss.dtype), sample_weight=ops.shape(x)[0])
        self.accuracy_tracker.update_state(y, logits, sample_weight=sample_weight)
        if self.clean_accuracy_tracker is not None:
            self.clean_accuracy_tracker.update_state(y, self(x, training=False), sample_weight=sample_weight)
        return {m.name: m.result() for m in self.metrics}

    # JAX ----------------------------------------------------------------------
    def _loss_and_updates(self, trainable, non_trainable, metrics_vars, x, y, sample_weight):
        logits, non_trainable = self.stateless_call(trainable, non_trainable, x, training=True)
        # The public stateless twin of `compute_loss`: the compiled loss plus weight
        # regularizers evaluated on the traced `trainable` values.
        loss, (_, _, metrics_vars) = self.stateless_compute_loss(
            trainable, non_trainable, metrics_vars, x=x, y=y, y_pred=logits,
            sample_weight=sample_weight, training=True)
        return self.optimizer.scale_loss(loss), (loss, logits, non_trainable, metrics_vars)

    def _jax_train_step(self, state, data):
        import jax

        trainable, non_trainable, optimizer_vars, metrics_vars = state
        x, y, sample_weight = self._unpack(data)

        def logits_fn(t):
            return self.stateless_call(trainable, non_trainable, t, training=False)[0]

        x_train = self._adversarial_batch(logits_fn, x, y, self._step_count(optimizer_vars))
        grad_fn = jax.value_and_grad(self._loss_and_updates, has_aux=True)
        (_, (loss, logits, non_trainable, metrics_vars)), grads = grad_fn(
            trainable, non_trainable, metrics_vars, x_train, y, sample_weight)
        trainable, optimizer_vars = self.optimizer.stateless_apply(optimizer_vars, grads, trainable)
        updates = {"loss": ((loss,), {"sample_weight": ops.shape(x)[0]}),
                   "accuracy": ((y, logits), {"sample_weight": sample_weight})}
        if self.clean_accuracy_tracker is not None:
            updates["clean_accuracy"] = ((y, logits_fn(x)), {"sample_weight": sample_weight})
        logs, metrics_vars = _stateless_metrics(self.metrics, metrics_vars, updates)
        return logs, (trainable, non_trainable, optimizer_vars, metrics_vars)


class _ShardStart:
    """A step rule whose random start is replica `index`'s rows of the start of the global batch.

    The start is drawn for the global batch shape (this shard placed at its rows,
    zeros elsewhere: the draw is per example, so the other rows do not matter)
    and sliced, so each replica's noise is what one device would draw for it.
    """

    def __init__(self, rule, index, count):
        self.rule, self.index, self.count = rule, index, count

    def random_start(self, x0, seed):
        n = ops.shape(x0)[0]
        before = self.index * n
        after = (self.count - 1 - self.index) * n
        padded = ops.pad(x0, [[before, after]] + [[0, 0]] * (len(x0.shape) - 1))
        return ops.slice(self.rule.random_start(padded, seed), [before] + [0] * (len(x0.shape) - 1),
                         ops.shape(x0))

    def __getattr__(self, name):
        return getattr(self.rule, name)


def _probe_images(data, shape):
    """Two random [0, 1] images shaped like the batches of `data` (without reading it), or None.

    The shape comes from the model (`shape`, if fully known) or from a
    `tf.data.Dataset`'s element spec; the output check needs no real images.
    """
    if shape is None or any(s is None for s in shape):
        shape = None
        try:
            import tensorflow as tf
        except ImportError:
            return None
        if isinstance(data, tf.data.Dataset):
            spec = keras.utils.unpack_x_y_sample_weight(data.element_spec)[0]
            dims = tuple(getattr(spec, "shape", ()))[1:]
            shape = dims if len(dims) == 3 and all(d is not None for d in dims) else None
    if shape is None:
        return None
    return np.random.default_rng(0).random((2, *shape)).astype("float32")


def _stateless_metrics(metrics, metrics_vars, updates):
    """Update each metric named in `updates` statelessly; return logs and new variables."""
    logs, new_vars, start = {}, [], 0
    for metric in metrics:
        mine = metrics_vars[start:start + len(metric.variables)]
        start += len(metric.variables)
        if metric.name in updates:
            args, kwargs = updates[metric.name]
            mine = metric.stateless_update_state(mine, *args, **kwargs)
        logs[metric.name] = metric.stateless_result(mine)
        new_vars += list(mine)
    return logs, new_vars
