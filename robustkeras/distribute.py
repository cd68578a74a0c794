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
  replicas too (`sync_batchnorm=True`, the default; see docs/distributed.md for the
  measurement behind it). TensorFlow multi-worker is not supported
  (keras-team/keras#20585): several hosts go through JAX.

The adversarial attack inside `AdversarialTrainer.train_step` is per example,
so each replica attacks its own shard; nothing about it is exchanged.

Sharded evaluation is `evaluate.robust_accuracy(..., devices=N)` (through `sharded`).

Example:
    >>> with data_parallel("all"):
    ...     trainer = AdversarialTrainer(get_model("fastnet"), norm="l2", eps=0.5)
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
    `KERAS_DISTRIBUTION_PROCESS_ID` (SLURM and Kubernetes examples in docs/distributed.md).

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
        ...     trainer = AdversarialTrainer(model, norm="l2", eps=0.5)
        ...     trainer.compile("sgd"); trainer.fit(x, y, batch_size=256)
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


def sharded(attack, state, devices):
    """`run(*batch_args, *scalars)`: `attack(state, ...)` with the batch arrays split over `devices`.

    The first four arguments (images, starts, labels, targets) are split along
    their first axis, padded by repeating the first rows so every device gets
    an equal share; the rest (eps, step size, steps) are replicated. Outputs are
    trimmed back to the batch. Used by `evaluate.robust_accuracy(..., devices=)`:
    the random starts are drawn for the whole batch before it is split, so a
    sharded attack repeats the one-device attack image for image.
    (`training.adversarial._ShardStart` differs: inside a compiled train step
    each replica draws its own rows of the global batch's start.)

    Args:
        attack: `(state, x0, start, y, target, *scalars) -> outputs`, batch-first
            (`attacks.pgd`'s compiled attack body).
        state: the model state from `backend.inference_fn`.
        devices: from `resolve_devices`.

    Returns:
        `run(x0, start, y, target, *scalars) -> tuple of numpy outputs`.
    """
    count = len(devices)

    def pad(arrays):
        extra = -len(arrays[0]) % count
        return [np.concatenate([a, np.repeat(a[:1], extra, axis=0)]) for a in arrays]

    if B.name() == "jax":
        import jax
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        mesh = Mesh(np.array(devices), ("batch",))
        batch, replicated = NamedSharding(mesh, PartitionSpec("batch")), NamedSharding(mesh, PartitionSpec())
        state = jax.device_put(state, replicated)
        compiled = jax.jit(attack)

        def run(*args):
            n, arrays = len(args[0]), pad(args[:4])
            out = compiled(state, *(jax.device_put(a, batch) for a in arrays),
                           *(jax.device_put(a, replicated) for a in args[4:]))
            return tuple(np.asarray(o)[:n] for o in out)

        return run
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy(devices=devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
    replica_fn = tf.function(lambda *a: attack(state, *a))

    def run(*args):
        n, arrays = len(args[0]), pad(args[:4])
        shards = [np.array_split(a, count) for a in arrays]
        split = [strategy.experimental_distribute_values_from_function(
            lambda ctx, s=s: s[ctx.replica_id_in_sync_group]) for s in shards]
        out = strategy.run(replica_fn, args=(*split, *args[4:]))
        return tuple(np.concatenate([np.asarray(t) for t in strategy.experimental_local_results(o)])[:n]
                     for o in out)

    return run
