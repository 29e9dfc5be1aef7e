"""Where the device strategy is chosen, and how per-example values become global-batch losses.

Keras 3 *sums* gradients across replicas, so a replica's loss must be its share of the global
mean: `sum(per_example) / global_batch`. Random numbers are drawn for the global batch from a
stateless seed and sliced per replica, so a step gives the same result on one device and on N
replicas (tests check this on two logical CPUs).
"""

import gin
import tensorflow as tf


@gin.configurable
def make_strategy(devices=None):
    """The one place a `tf.distribute.Strategy` is chosen.

    Args:
        devices: optional list of device names (e.g. `["/cpu:0", "/cpu:1"]`) for a
            `MirroredStrategy`; by default every visible GPU is used when there are several, the
            single GPU when there is one, and the default (one-device) strategy otherwise.

    Returns:
        A `tf.distribute.Strategy`.
    """
    if devices:
        return tf.distribute.MirroredStrategy(devices=list(devices))
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    if len(gpus) == 1:
        return tf.distribute.OneDeviceStrategy("/gpu:0")
    return tf.distribute.get_strategy()


def num_replicas():
    """Replicas in sync in the current (replica or cross-replica) context."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def replica_loss(per_example):
    """This replica's share of the global-batch mean of `per_example` (`[B_local]` -> scalar).

    Summed over replicas (as Keras 3 does with gradients) it gives the mean over the global batch.
    """
    per_example = tf.cast(per_example, tf.float32)
    return tf.reduce_mean(per_example) / tf.cast(num_replicas(), tf.float32)


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
    survives a checkpoint and a run may resume on more or fewer replicas.

    Args:
        variable: the per-replica variable, `[B_local, ...]` on each replica.
        strategy: the strategy that owns it.
        name: names the state in errors.
    """

    def __init__(self, variable, strategy, name):
        self.variable, self.strategy, self.name = variable, strategy, name

    def _serialize_to_tensors(self):
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
