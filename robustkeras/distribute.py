"""Data parallelism on the engines Keras already has: `keras.distribution` (JAX) and `tf.distribute`.

`data_parallel(devices)` is a context manager: models, trainers and optimizers
created and `fit` inside it train data-parallel.

- JAX: `keras.distribution.DataParallel` over the devices (one process, or
  several hosts after `initialize`). Variables are replicated, each batch is
  split along its first axis, and the step is compiled once for the global
  batch (GSPMD): batch-norm statistics are those of the global batch
  (synchronized), and gradients and the loss are global means.
- TensorFlow: `tf.distribute.MirroredStrategy` on one machine. Each replica
  runs `train_step` on its shard; batch normalization is synchronized across
  replicas too (`sync_batchnorm=True`, the default; see the README for the
  measurement behind it). TensorFlow multi-worker is not supported
  (keras-team/keras#20585): several hosts go through JAX.

The adversarial attack inside `AdversarialTrainer.train_step` is per example,
so each replica attacks its own shard; nothing about it is exchanged.

Example:
    >>> with data_parallel("all"):
    ...     trainer = AdversarialTrainer(get_model("fastnet"), eps=0.5)
    ...     trainer.compile(optimizer="sgd")
    ...     trainer.fit(x, y, batch_size=256)
"""

import contextlib
import os

import keras
import numpy as np

from robustkeras import _checks
from robustkeras import backend as B

_SIMULATE_HINT = {
    "jax": "on a CPU, simulate N devices with XLA_FLAGS=--xla_force_host_platform_device_count=N",
    "tensorflow": "on a CPU, simulate N devices with robustkeras.distribute.simulate_cpu_devices(N) first",
}


def initialize(coordinator=None, num_processes=None, process_id=None):
    """Join a multi-host JAX run (call first, before any model or tensor is made).

    Thin wrapper of `keras.distribution.initialize`; every argument can also come
    from `KERAS_DISTRIBUTION_JOB_ADDRESSES`, `KERAS_DISTRIBUTION_NUM_PROCESSES` and
    `KERAS_DISTRIBUTION_PROCESS_ID` (SLURM and Kubernetes examples in the README).

    Args:
        coordinator: "host:port" of process 0.
        num_processes: number of processes (hosts).
        process_id: this process's index in `[0, num_processes)`.

    Example:
        >>> initialize("10.0.0.1:1234", num_processes=2, process_id=0)
    """
    if B.name() != "jax":
        raise ValueError(
            "Multi-host training runs on JAX only (KERAS_BACKEND=jax): TensorFlow multi-worker "
            f"fails with Keras 3 (keras-team/keras#20585). Received: KERAS_BACKEND={B.name()}")
    if num_processes is not None:
        num_processes = _checks.positive_int("num_processes", num_processes)
    if process_id is not None:
        process_id = _checks.positive_int("process_id", process_id, minimum=0)
        if num_processes is not None and process_id >= num_processes:
            raise ValueError(f"Expected `process_id` < num_processes={num_processes}. Received: process_id={process_id}")
    keras.distribution.initialize(coordinator, num_processes, process_id)


def initialize_from_env():
    """`initialize()` from the `KERAS_DISTRIBUTION_*` variables when they name several processes.

    `robustkeras train` calls it first, so a SLURM or Kubernetes launcher only sets
    the variables. Returns whether it initialized.
    """
    try:
        count = int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1"))
    except ValueError:
        raise ValueError("Expected KERAS_DISTRIBUTION_NUM_PROCESSES to be an integer. Received: "
                         f"{os.environ['KERAS_DISTRIBUTION_NUM_PROCESSES']!r}") from None
    if count <= 1 or B.name() != "jax":
        return False
    import jax

    if jax.distributed.is_initialized():
        return False
    initialize()
    return True


def process_count():
    """Number of processes (hosts) in the run; 1 without `initialize`."""
    if B.name() == "jax":
        import jax

        return jax.process_count()
    return 1


def process_index():
    """This process's index; 0 without `initialize`."""
    if B.name() == "jax":
        import jax

        return jax.process_index()
    return 0


def simulate_cpu_devices(count):
    """TensorFlow on a CPU-only machine: split the CPU into `count` logical devices (tests, benchmarks).

    Call it before TensorFlow starts. The devices share the same cores: they show
    the overhead of data parallelism, never a speed-up. (JAX: set
    `XLA_FLAGS=--xla_force_host_platform_device_count=N` before it starts.)

    Example:
        >>> simulate_cpu_devices(2)
    """
    count = _checks.positive_int("count", count)
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError as err:
        raise ValueError("Expected `simulate_cpu_devices` to be called before TensorFlow starts "
                         f"(before any model or tensor is made). ({err})") from None


def _tf_devices():
    import tensorflow as tf

    kind = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    return [d.name for d in tf.config.list_logical_devices(kind)]


def _jax_devices():
    import jax

    return jax.devices()


def resolve_devices(devices="all"):
    """The devices to use: all of them (`"all"` or None), or the first `devices` of them.

    GPUs (or TPUs) when there are any, else CPU devices. With several JAX
    processes, "all" and counts refer to the devices of every process.

    Args:
        devices: "all", None, or a positive integer.

    Returns:
        A list of backend devices (JAX devices, or TensorFlow device names).
    """
    if devices is not None and devices != "all":
        devices = _checks.positive_int("devices", devices)
    found = _jax_devices() if B.name() == "jax" else _tf_devices()
    if devices in (None, "all"):
        return list(found)
    if devices > len(found):
        raise ValueError(
            f"Expected `devices` <= {len(found)} (the {B.name()} devices here: "
            f"{', '.join(str(d) for d in found)}). Received: devices={devices}. "
            f"Hint: {_SIMULATE_HINT.get(B.name(), '')}")
    return list(found)[:devices]


def check_batch_size(batch_size, replicas):
    """Require a global batch that splits evenly over the replicas (and processes)."""
    batch_size = _checks.positive_int("batch_size", batch_size)
    if batch_size % replicas:
        raise ValueError(
            f"Expected `batch_size` to be a multiple of the {replicas} devices. Received: batch_size={batch_size}")
    return batch_size


def synchronize_batchnorm(model, synchronized=True):
    """Set `synchronized` on every BatchNormalization layer of `model` (TensorFlow; nested models too).

    Returns:
        The number of layers changed.
    """
    changed = 0
    stack = list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop()
        stack.extend(getattr(layer, "layers", []))
        if isinstance(layer, keras.layers.BatchNormalization) and layer.synchronized != synchronized:
            layer.synchronized = synchronized
            changed += 1
    return changed


class DataParallel:
    """What `data_parallel` yields: the devices, the replica count and the backend's own object.

    Attributes:
        devices: the devices in use.
        replicas: number of data-parallel replicas (devices over every process).
        engine: the `keras.distribution.DataParallel` (JAX) or `tf.distribute.MirroredStrategy`.
        sync_batchnorm: whether batch-norm statistics are those of the global batch.
    """

    def __init__(self, devices, engine, sync_batchnorm):
        self.devices, self.engine, self.sync_batchnorm = devices, engine, sync_batchnorm
        self.replicas = len(devices)

    def prepare(self, model):
        """Apply the batch-norm choice to `model` (call after building it inside the context)."""
        if B.name() == "tensorflow":
            synchronize_batchnorm(model, self.sync_batchnorm and self.replicas > 1)
        return model


@contextlib.contextmanager
def data_parallel(devices="all", *, sync_batchnorm=True):
    """Create and train models inside this block to train data-parallel over `devices`.

    With one device this is a plain no-op scope, so code written for several
    devices runs unchanged on one.

    Args:
        devices: "all", or how many devices to use (the first N).
        sync_batchnorm: TensorFlow: batch-norm statistics of the global batch
            (True) or of each replica's shard (False). JAX always uses the
            global batch.

    Yields:
        A `DataParallel` (devices, replicas, engine).

    Example:
        >>> with data_parallel(2) as dp:
        ...     model = dp.prepare(get_model("fastnet"))
        ...     trainer = AdversarialTrainer(model); trainer.compile("sgd"); trainer.fit(x, y, batch_size=256)
    """
    found = resolve_devices(devices)
    sync_batchnorm = _checks.boolean("sync_batchnorm", sync_batchnorm)
    if B.name() == "jax":
        if len(found) == 1 and process_count() == 1:
            yield DataParallel(found, None, sync_batchnorm)
            return
        # Several processes: each feeds its own slice of the global batch (`local_shard`).
        engine = keras.distribution.DataParallel(devices=found, auto_shard_dataset=process_count() == 1)
        with engine.scope():
            yield DataParallel(found, engine, True)
        return
    if B.name() != "tensorflow":
        raise ValueError(f"Expected KERAS_BACKEND to be 'tensorflow' or 'jax'. Received: {B.name()}")
    import tensorflow as tf

    if len(found) == 1:
        yield DataParallel(found, None, sync_batchnorm)
        return
    # On CPUs the default NCCL reduction is unavailable; reduce through one device.
    cross = None if any("GPU" in d for d in found) else tf.distribute.ReductionToOneDevice()
    engine = tf.distribute.MirroredStrategy(devices=found, cross_device_ops=cross)
    with engine.scope():
        yield DataParallel(found, engine, sync_batchnorm)


def local_shard(x):
    """This process's contiguous slice of a global batch `x` (all of it with one process)."""
    count = process_count()
    if count == 1:
        return x
    if len(x) % count:
        raise ValueError(f"Expected a global batch divisible by the {count} processes. Received: {len(x)} images")
    size = len(x) // count
    return x[process_index() * size:(process_index() + 1) * size]



class _PresetStart:
    """A step rule whose random start is given: each replica's shard of the global batch's start.

    Drawing the start for the global batch (as one device does) and sharding it
    makes a sharded attack repeat the one-device attack image for image.
    """

    def __init__(self, rule, start):
        self.rule, self.start = rule, start

    def random_start(self, x0, seed):
        return self.start

    def __getattr__(self, name):
        return getattr(self.rule, name)


def _attack_fn(logits_fn, norm, eps, step_size, steps):
    from robustkeras.attacks.pgd import pgd_loop
    from robustkeras.attacks.steps import make_step_rule

    def attack(state, x0, start, y):
        rule = _PresetStart(make_step_rule(norm, eps, step_size), start)
        x_adv, obj = pgd_loop(lambda t: logits_fn(state, t), x0, y, rule, steps=steps, random_start=True,
                              keep_best=True, seed=None)
        return x_adv, obj, logits_fn(state, x0), logits_fn(state, x_adv)

    return attack


def _sharded_runner(model, devices, norm, eps, step_size, steps):
    """`run(x0, start, y) -> (x_adv, objective, clean_logits, adv_logits)` with the batch split over `devices`."""
    fn, state = B.inference_fn(model)
    attack = _attack_fn(fn, norm, eps, step_size, steps)
    if B.name() == "jax":
        import jax
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        mesh = Mesh(np.array(devices), ("batch",))
        batch, replicated = NamedSharding(mesh, PartitionSpec("batch")), NamedSharding(mesh, PartitionSpec())
        state = jax.device_put(state, replicated)
        compiled = jax.jit(attack)

        def run(x0, start, y):
            return compiled(state, *(jax.device_put(a, batch) for a in (x0, start, y)))

        return run
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy(devices=devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
    replica_fn = tf.function(lambda x0, start, y: attack(state, x0, start, y))

    def run(x0, start, y):
        shards = [np.array_split(a, len(devices)) for a in (x0, start, y)]
        args = [strategy.experimental_distribute_values_from_function(
            lambda ctx, s=s: s[ctx.replica_id_in_sync_group]) for s in shards]
        out = strategy.run(replica_fn, args=tuple(args))
        return tuple(np.concatenate([np.asarray(t) for t in strategy.experimental_local_results(o)]) for o in out)

    return run


def robust_accuracy(model, x, y, *, devices="all", norm="l2", eps=0.5, steps=20, step_size=None, restarts=1,
                    batch_size=500, seed=0):
    """`robustkeras.evaluate.robust_accuracy` with each batch split across `devices`.

    The same random starts as the one-device evaluation (drawn for the whole
    batch, then split), so the results are the same; each device attacks its
    share of the batch (PGD is per example: nothing is exchanged).

    Args:
        model: classifier returning logits, inputs in [0, 1] (built inside
            `data_parallel` or not: its weights are copied to every device).
        x, y: float images in [0, 1] and int labels.
        devices: "all" or a count (see `resolve_devices`); `batch_size` must be a multiple of it.
        norm, eps, steps, step_size, restarts, batch_size, seed: as in `evaluate.robust_accuracy`.

    Returns:
        The dict of `evaluate.robust_accuracy`, plus `devices` (the count).

    Example:
        >>> robust_accuracy(model, x, y, devices=4, eps=0.5, steps=20)["robust"]
        0.58
    """
    from robustkeras.attacks.steps import make_step_rule
    from robustkeras.models.introspect import logits_model

    found = resolve_devices(devices)
    spec = _checks.classifier(model, gradients=True)  # the same model checks as evaluate.robust_accuracy
    x = _checks.images_for(spec, "x", x, model=model)
    y = _checks.labels("y", y, n=len(x), num_classes=spec.num_classes)
    model = logits_model(model)  # a softmax model is attacked on its logits, as on one device
    steps = _checks.positive_int("steps", steps)
    eps = _checks.non_negative("eps", eps)
    step_size = 2.5 * eps / steps if step_size is None else _checks.non_negative("step_size", step_size)
    batch_size = check_batch_size(batch_size, len(found))
    norm = _checks.one_of("norm", norm, {"l2", "linf"})
    restarts = _checks.positive_int("restarts", restarts)
    seed = _checks.positive_int("seed", seed, minimum=0)
    run = _sharded_runner(model, found, norm, eps, step_size, steps)
    rule = make_step_rule(norm, eps, step_size)
    clean_ok = robust_ok = 0
    for k, a in enumerate(range(0, len(x), batch_size)):
        xb, yb = x[a:a + batch_size], y[a:a + batch_size]
        pad = -len(xb) % len(found)  # the last batch: repeat images so every device gets a share
        xp, yp = np.concatenate([xb, xb[:pad]]), np.concatenate([yb, yb[:pad]])
        best_obj, adv_ok = None, None
        for r in range(restarts):
            start = np.asarray(rule.random_start(xb, np.array([seed + k, r], np.int32)), np.float32)
            _, obj, clean_logits, adv_logits = run(xp, np.concatenate([start, start[:pad]]), yp)
            obj, ok = np.asarray(obj)[:len(xb)], np.argmax(np.asarray(adv_logits)[:len(xb)], 1) == yb
            if best_obj is None:
                best_obj, adv_ok = obj, ok
            else:  # each image keeps its highest-loss restart, as `pgd` does
                better = obj > best_obj
                best_obj, adv_ok = np.where(better, obj, best_obj), np.where(better, ok, adv_ok)
        clean = np.argmax(np.asarray(clean_logits)[:len(xb)], 1) == yb
        clean_ok += int(np.sum(clean))
        robust_ok += int(np.sum(clean & adv_ok))
    n = len(x)
    return {"clean": clean_ok / n, "robust": robust_ok / n, "n": n, "attack": f"PGD-{steps}", "norm": norm,
            "eps": eps, "step_size": step_size, "restarts": restarts, "seed": seed, "devices": len(found)}
