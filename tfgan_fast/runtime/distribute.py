"""Where the device strategy is chosen, and how per-example values become global-batch losses.

Keras 3 *sums* gradients across replicas, so a replica's loss must be its share of the global
mean: `sum(per_example) / global_batch`. Random numbers are drawn for the global batch from a
stateless seed and sliced per replica, so a step gives the same result on one device and on N
replicas (tests check this on two logical CPUs).
"""

import hashlib
import json
import os
import time

import gin
import numpy as np
import tensorflow as tf
from tensorflow.python.eager import context  # pylint: disable=no-name-in-module

from tfgan_fast.runtime import errors

# A stuck collective (a hung worker, a network partition) becomes an error after this long. A
# worker that dies is noticed sooner, by the coordination service's missed heartbeats.
COLLECTIVE_TIMEOUT_SECONDS = 600

gin.external_configurable(tf.distribute.cluster_resolver.SlurmClusterResolver,
                          module="tf.distribute.cluster_resolver")
gin.external_configurable(tf.distribute.cluster_resolver.TFConfigClusterResolver,
                          module="tf.distribute.cluster_resolver")


class DeviceError(ValueError):
    """A device list names devices this process does not have."""


class RuntimeStartedError(errors.RunError, RuntimeError):
    """A multi-worker strategy was requested after TensorFlow's runtime had started."""


def runtime_started():
    """Whether TensorFlow's runtime (its eager context) is up in this process.

    It starts at the first op, device listing or SavedModel load; after that the collective ops
    of `MultiWorkerMirroredStrategy` can no longer be configured.
    """
    return context.context()._context_handle is not None  # pylint: disable=protected-access


class ConfigMismatchError(errors.RunError, ValueError):
    """The workers of a cluster parsed different gin configs."""


def config_digest(text):
    """The first 16 hex digits of the SHA-256 of a gin config's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def check_same_config(strategy, text):
    """Raises `ConfigMismatchError` unless every worker of `strategy` has the same config `text`
    (one all-gather of its digest); returns the digest. One worker: no collective.

    A worker started with another `--gin_file` or `--gin_param` would otherwise build other
    networks and hang or fail in the first broadcast of the weights, or silently train another
    model.
    """
    digest = config_digest(text)
    workers = worker_layout(strategy)[0]
    if workers == 1:
        return digest
    value = tf.constant([int(digest, 16) - 2 ** 63], tf.int64)  # the digest as a signed int64
    gathered = strategy.run(lambda: tf.distribute.get_replica_context().all_gather(value, axis=0))
    digests = [f"{int(v) + 2 ** 63:016x}" for v in
               strategy.experimental_local_results(gathered)[0].numpy()]
    # Replicas are numbered worker by worker.
    per_worker = digests[::len(digests) // workers]
    differ = [i for i, d in enumerate(per_worker) if d != per_worker[0]]
    if differ:
        raise ConfigMismatchError(
            f"worker(s) {', '.join(map(str, differ))} of {workers} parsed another gin config "
            f"than worker 0 (config digests {', '.join(per_worker)}): every worker must run "
            "the same --gin_file and --gin_param; compare the commands, or the configs "
            "--dry_run --print_config prints on each")
    return digest


def bus_bandwidth(num_bytes, replicas, seconds):
    """An all-reduce's bus bandwidth in bytes/s: `2 (R - 1) / R * size / time`, the bytes each
    replica sends in a ring all-reduce per second (the figure NCCL's tests report)."""
    return 2.0 * (replicas - 1) / replicas * num_bytes / seconds


def allreduce_probe(strategy, num_elements, repeats=3):
    """Times a cross-replica sum of `num_elements` float32 (e.g. the size of the gradients).

    Returns:
        `(seconds, bytes per second)`: the median of `repeats` all-reduces after a first one
        (tracing, collective set-up), and its bus bandwidth.

    Raises:
        RuntimeError: the all-reduce returned a wrong sum (a broken collective implementation).
    """
    replicas = strategy.num_replicas_in_sync

    @tf.function
    def reduce():
        # Made on each replica's device, as gradients are.
        return strategy.run(lambda: tf.distribute.get_replica_context().all_reduce(
            tf.distribute.ReduceOp.SUM, tf.ones([int(num_elements)], tf.float32)))

    first = strategy.experimental_local_results(reduce())[0].numpy()
    if not np.all(first == replicas):
        raise RuntimeError(f"an all-reduce of ones over {replicas} replicas returned values "
                           f"from {first.min()} to {first.max()}, not {replicas}")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        strategy.experimental_local_results(reduce())[0].numpy()
        times.append(time.perf_counter() - start)
    seconds = float(np.median(times))
    return seconds, bus_bandwidth(4 * int(num_elements), replicas, seconds)


def split_cpu(replicas):
    """Splits the host CPU into `replicas` logical devices (before TensorFlow initialises them).

    Returns:
        The logical CPU device names, e.g. `['/cpu:0', '/cpu:1']`.

    Raises:
        DeviceError: TensorFlow already runs with another number of logical CPUs.
    """
    if not isinstance(replicas, int) or replicas < 1:
        raise ValueError(f"run.cpu_replicas must be a positive integer, got {replicas!r}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
    except RuntimeError:  # devices already initialised in this process
        have = len(tf.config.list_logical_devices("CPU"))
        if have != replicas:
            raise DeviceError(  # pylint: disable=raise-missing-from
                f"run.cpu_replicas={replicas}: TensorFlow already runs with {have} logical "
                "CPU(s) in this process; the split must happen before it initialises (set it "
                "in a fresh process)")
    return [f"/cpu:{i}" for i in range(replicas)]


def check_devices(devices):
    """Raises `DeviceError` (one line, with the devices that exist) for names that do not exist.

    A MirroredStrategy over a device that is not there would hang in its first all-reduce.
    """
    existing = [tf.DeviceSpec.from_string(d.name) for d in tf.config.list_logical_devices()]
    have_keys = {(d.device_type.upper(), d.device_index) for d in existing}
    missing = []
    for name in devices:
        try:
            spec = tf.DeviceSpec.from_string(name)
        except ValueError:
            spec = None
        if (spec is None or spec.device_type is None or spec.device_index is None
                or (spec.device_type.upper(), spec.device_index) not in have_keys):
            missing.append(name)
    if missing:
        have = ", ".join(f"/{d.device_type.lower()}:{d.device_index}" for d in existing)
        raise DeviceError(
            f"make_strategy.devices={list(devices)!r}: {', '.join(map(repr, missing))} "
            f"{'does' if len(missing) == 1 else 'do'} not exist in this process, which has "
            f"{have} (for several replicas on one CPU: run.cpu_replicas=N)")


def tf_config_cluster():
    """The cluster named by the `TF_CONFIG` environment variable, as a resolver, or None."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        return None
    try:
        parsed = json.loads(text)
    except ValueError as e:
        raise ValueError(f"TF_CONFIG is not JSON ({e}): {text[:200]!r}") from None
    if not isinstance(parsed, dict) or not parsed.get("cluster"):
        return None
    task = parsed.get("task") or {}
    if task.get("type") not in ("worker", "chief"):
        raise ValueError(f"TF_CONFIG task {task!r}: tfgan_fast runs as a 'worker' or 'chief' "
                         "task of MultiWorkerMirroredStrategy")
    return tf.distribute.cluster_resolver.TFConfigClusterResolver()


def communication_options(timeout_seconds=COLLECTIVE_TIMEOUT_SECONDS):
    """NCCL all-reduce where GPUs are, RING on CPUs; every collective times out."""
    gpus = tf.config.list_physical_devices("GPU")
    implementation = (tf.distribute.experimental.CommunicationImplementation.NCCL if gpus
                      else tf.distribute.experimental.CommunicationImplementation.RING)
    return tf.distribute.experimental.CommunicationOptions(
        implementation=implementation, timeout_seconds=timeout_seconds)


@gin.configurable
def make_strategy(devices=None, cluster_resolver=None,
                  collective_timeout_seconds=COLLECTIVE_TIMEOUT_SECONDS):
    """The one place a `tf.distribute.Strategy` is chosen.

    * A cluster (`TF_CONFIG` naming one, or `cluster_resolver`, e.g.
      `@tf.distribute.cluster_resolver.SlurmClusterResolver()`): `MultiWorkerMirroredStrategy`
      over every worker's devices, NCCL all-reduce on GPUs, RING on CPUs, collectives timing
      out after `collective_timeout_seconds`.
    * `devices` (e.g. `["/cpu:0", "/cpu:1"]`, see `run.cpu_replicas`): a `MirroredStrategy`
      over exactly those (names that do not exist are refused before training).
    * Otherwise every visible GPU when there are several, the single GPU when there is one, and
      the default (one-device) strategy on a CPU.

    Returns:
        A `tf.distribute.Strategy`.

    Raises:
        RuntimeStartedError: a cluster is requested but TensorFlow's runtime already runs.
    """
    resolver = cluster_resolver or tf_config_cluster()
    if resolver is not None:
        if devices:
            raise ValueError("make_strategy.devices cannot be combined with a multi-worker "
                             "cluster (TF_CONFIG or make_strategy.cluster_resolver): each "
                             "worker uses its local GPUs, or its CPU")
        if runtime_started():
            # TF's own error ("Collective ops must be configured at program startup") names
            # neither the cause nor the cure.
            raise RuntimeStartedError(
                "MultiWorkerMirroredStrategy requested after TensorFlow's runtime started in "
                "this process (an op ran, a SavedModel loaded or devices were listed before "
                "the strategy existed): build it with distribute.make_strategy before anything "
                "else touches TensorFlow, as experiment.run does")
        strategy = tf.distribute.MultiWorkerMirroredStrategy(
            cluster_resolver=resolver,
            communication_options=communication_options(collective_timeout_seconds))
        # Our training streams are endless (data.stream), so no worker ever runs out before
        # another: skip TF's partial-batch handling, which would all-reduce a has-data flag
        # every step and make the batch dimension dynamic.
        strategy.extended.experimental_enable_get_next_as_optional = False
        return strategy
    if devices:
        check_devices(devices)
        gpu_only = all(tf.DeviceSpec.from_string(d).device_type in ("GPU", "gpu")
                       for d in devices)
        # NCCL between GPUs; between CPUs TF's own choice (reduction to one device).
        ops = tf.distribute.NcclAllReduce() if gpu_only else None
        return tf.distribute.MirroredStrategy(devices=list(devices), cross_device_ops=ops)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy(cross_device_ops=tf.distribute.NcclAllReduce())
    if len(gpus) == 1:
        return tf.distribute.OneDeviceStrategy("/gpu:0")
    return tf.distribute.get_strategy()


def worker_layout(strategy):
    """`(workers, task_type, task_id, is_chief)` of `strategy` (one worker: `(1, None, 0,
    True)`). The chief is the 'chief' task, else worker 0, as in TF's multi-worker guide."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return 1, None, 0, True
    spec = resolver.cluster_spec()
    jobs = spec.jobs
    workers = sum(spec.num_tasks(job) for job in jobs if job in ("chief", "worker"))
    task_type, task_id = resolver.task_type, int(resolver.task_id or 0)
    chief = task_type == "chief" or (task_type == "worker" and task_id == 0
                                     and "chief" not in jobs)
    return max(workers, 1), task_type, task_id, chief


def describe(strategy, global_batch):
    """One line: the strategy, workers, replicas per worker and the global batch."""
    workers, task_type, task_id, chief = worker_layout(strategy)
    replicas = strategy.num_replicas_in_sync
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        name = "MultiWorkerMirroredStrategy"  # its class is CollectiveAllReduceStrategy
    elif strategy is tf.distribute.get_strategy() and not tf.distribute.has_strategy():
        name = "default strategy (one device)"
    else:
        name = type(strategy).__name__
    line = (f"Strategy: {name}, {workers} worker(s) x "
            f"{replicas // workers} replica(s), global batch {global_batch} "
            f"({global_batch // replicas} per replica)")
    if workers > 1:
        line += (f"; this process is {task_type} {task_id}"
                 + (" (the chief: it writes the run directory)" if chief else
                    " (it writes to a temporary directory; the chief writes the run)"))
    return line + "."


def num_replicas():
    """Replicas in sync in the current (replica or cross-replica) context."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def replica_loss(per_example):
    """This replica's share of the global-batch mean of `per_example` (`[B_local]` -> scalar):
    `tf.nn.compute_average_loss`, in float32 whatever the numeric policy.

    Summed over replicas (as Keras 3 does with gradients) it gives the mean over the global batch.
    """
    return tf.nn.compute_average_loss(tf.cast(per_example, tf.float32))


def replica_slice(global_values):
    """The rows of a global-batch tensor that belong to the current replica.

    Args:
        global_values: `[B_global, ...]` with `B_global` divisible by the replica count.

    Returns:
        `[B_global / R, ...]`: rows `[r * B_local, (r + 1) * B_local)` for replica `r`; the tensor
        unchanged with one replica.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return global_values
    n = context.num_replicas_in_sync
    local = tf.shape(global_values)[0] // n
    start = tf.cast(context.replica_id_in_sync_group, tf.int32) * local
    return global_values[start:start + local]


def replica_rows(sample_fn, local_shape):
    """This replica's rows of a random tensor drawn for the whole global batch.

    Drawing the global tensor and slicing it keeps a step's randomness (and so its result)
    independent of the number of replicas.

    Args:
        sample_fn: `fn(global_shape) -> [B_local * R, ...]`, e.g. a stateless sampler.
        local_shape: `[B_local, ...]`, this replica's shape.

    Returns:
        `[B_local, ...]`.
    """
    global_shape = [int(local_shape[0]) * num_replicas()] + [int(s) for s in local_shape[1:]]
    return replica_slice(sample_fn(global_shape))


class ReplicaState(tf.__internal__.tracking.Trackable):
    """Checkpoints a per-replica (ON_READ) variable as ONE tensor of every replica's rows.

    A replica's state such as FastGAN's perturbation belongs to its rows of the global batch, so
    it is saved as `[B_global, ...]`: replica `r`'s copy at rows `[r * B_local, (r + 1) *
    B_local)`. On restore each replica takes its rows again, whatever the replica count the
    checkpoint was written with (only the global batch must match), so every replica's state
    survives a checkpoint and a run may resume on more or fewer replicas or workers.

    Args:
        variable: the per-replica variable, `[B_local, ...]` on each replica.
        strategy: the strategy that owns it.
        name: names the state in errors.
    """

    def __init__(self, variable, strategy, name):
        self.variable, self.strategy, self.name = variable, strategy, name

    def _serialize_to_tensors(self):
        if worker_layout(self.strategy)[0] > 1:
            # This worker holds only its own replicas' copies: gather every worker's rows (every
            # worker saves at the same iterations, the others into scratch directories).
            gathered = self.strategy.run(lambda: tf.distribute.get_replica_context().all_gather(
                tf.convert_to_tensor(self.variable), axis=0))
            return {"all_replicas": self.strategy.experimental_local_results(gathered)[0]}
        parts = self.strategy.experimental_local_results(self.variable)
        return {"all_replicas": tf.concat([tf.convert_to_tensor(p) for p in parts], axis=0)}

    def _restore_from_tensors(self, restored_tensors):
        value = restored_tensors["all_replicas"]
        replicas = self.strategy.num_replicas_in_sync
        want = [int(self.variable.shape[0]) * replicas] + self.variable.shape[1:].as_list()
        if value.shape.as_list() != want:
            raise ValueError(
                f"the checkpoint's {self.name} has shape {value.shape.as_list()} (its global "
                f"batch), this run's is {want} ({replicas} replica(s) x "
                f"{int(self.variable.shape[0])}): resume with the run.batch_size it was saved "
                "with")
        self.strategy.run(lambda: self.variable.assign(replica_slice(value)))


def check_global_batch(global_batch_size, strategy):
    """The per-replica batch size, or a clear error when the global one does not divide evenly."""
    n = strategy.num_replicas_in_sync
    if global_batch_size <= 0 or global_batch_size % n:
        raise ValueError(
            f"run.batch_size={global_batch_size} must be a positive multiple of the number of "
            f"replicas ({n}) so that every replica gets the same share.")
    return global_batch_size // n
