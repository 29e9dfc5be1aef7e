"""The numeric policy of a run: `run.mixed_precision = 'auto'` picks bfloat16 where it is native.

bfloat16 halves the cost of every convolution on hardware with bfloat16 units and changes a GAN's
results only by rounding (docs/speed.md, "Numeric policy", compares it with float32); elsewhere
it is emulated and slower than float32. So 'auto' chooses:

* `mixed_bfloat16` on a GPU of compute capability 8.0 or newer (Ampere, Hopper, ...);
* `mixed_float16` on GPUs of compute capability 7.x (Volta, Turing: V100, T4), whose tensor
  cores run float16 but not bfloat16; the trainer then scales its losses dynamically
  (`DynamicLossScale`), since float16's narrow range lets a GAN's small gradients underflow
  (older GPUs have no tensor cores: float32 there, as Keras' own guide advises);
* `mixed_bfloat16` on a CPU-only machine whose CPU reports AVX512_BF16 or AMX-BF16 (Linux
  `/proc/cpuinfo` flags `avx512_bf16`, `amx_bf16`);
* `float32` everywhere else.

Dynamic loss scaling (Micikevicius et al. 2018, "Mixed Precision Training"): each optimiser's loss
is multiplied by a scale `S` before its backward pass and the gradients divided by `S` after, so
that float16 gradients of size ~1e-8 survive; when any gradient is not finite (an overflow), the
update is skipped and `S` halved; after `growth_steps` finite updates in a row `S` doubles. Every
gradient a step takes goes through `scaled_gradient`: D's and G's, and the inner ones (FastGAN's
input gradient, RobGAN's PGD, LOGAN's latent gradient with its second-order path, the gradient
penalties), each under the scale of the update it belongs to (`gradient_scale`).
"""

import contextlib
import sys
import threading

import gin
import keras
import tensorflow as tf

from tfgan_fast.runtime import hardware

AUTO = "auto"
FLOAT32 = "float32"
BFLOAT16 = "mixed_bfloat16"
FLOAT16 = "mixed_float16"
_KNOWN = (AUTO, FLOAT32, BFLOAT16, "mixed_float16", "bfloat16", "float16")
_CPU_FLAGS = ("avx512_bf16", "amx_bf16")

# TensorBoard's descriptions of `DynamicLossScale.logs` under float16.
SCALARS = {
    "d_loss_scale": "float16: the dynamic loss scale of D's updates (halved on an overflow).",
    "g_loss_scale": "float16: the dynamic loss scale of G's updates (halved on an overflow).",
    "d_overflows": "float16: D updates skipped so far because a gradient overflowed.",
    "g_overflows": "float16: G updates skipped so far because a gradient overflowed.",
}


def cpu_bf16_flags(cpuinfo_path="/proc/cpuinfo"):
    """The bfloat16 feature flags the CPU reports (empty where `/proc/cpuinfo` is missing)."""
    info = hardware.read_cpuinfo(cpuinfo_path)
    return [flag for flag in _CPU_FLAGS if info is not None and flag in info.flags]


def gpu_compute_capabilities():
    """`[(major, minor), ...]` of the visible GPUs (unknown ones are left out)."""
    caps = []
    for gpu in tf.config.list_physical_devices("GPU"):
        cap = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if cap:
            caps.append(tuple(cap))
    return caps


def resolve(policy, gpu_caps=None, cpu_flags=None):
    """Returns `(keras policy name, reason)` for a `run.mixed_precision` value.

    Args:
        policy: None or "float32" (float32), "auto", or a Keras policy name.
        gpu_caps: compute capabilities of the GPUs (default: the visible ones).
        cpu_flags: the CPU's bfloat16 flags (default: read from `/proc/cpuinfo`).

    Raises:
        ValueError: an unknown policy name, naming the gin binding.
    """
    if policy is None:
        return FLOAT32, "float32 (run.mixed_precision = None)"
    if policy not in _KNOWN:
        raise ValueError(f"gin binding run.mixed_precision = {policy!r}: expected one of "
                         f"{', '.join(repr(p) for p in _KNOWN)} or None")
    if policy != AUTO:
        scaled = " with dynamic loss scaling" if "float16" in policy and "b" not in policy else ""
        return policy, f"{policy}{scaled} (run.mixed_precision = {policy!r})"
    gpu_caps = gpu_compute_capabilities() if gpu_caps is None else list(gpu_caps)
    if gpu_caps:
        if all(tuple(c) >= (8, 0) for c in gpu_caps):
            return BFLOAT16, (f"mixed_bfloat16 (auto: GPU compute capability "
                              f"{'.'.join(map(str, min(gpu_caps)))} >= 8.0)")
        cap = '.'.join(map(str, min(gpu_caps)))
        if all(tuple(c) >= (7, 0) for c in gpu_caps):
            return FLOAT16, (f"mixed_float16 with dynamic loss scaling (auto: GPU compute "
                             f"capability {cap} < 8.0 has float16 tensor cores but no fast "
                             "bfloat16)")
        return FLOAT32, (f"float32 (auto: GPU compute capability {cap} < 7.0 has no tensor "
                         "cores; float16 would save memory, not time)")
    cpu_flags = cpu_bf16_flags() if cpu_flags is None else list(cpu_flags)
    if cpu_flags:
        return BFLOAT16, f"mixed_bfloat16 (auto: the CPU has {', '.join(cpu_flags)})"
    return FLOAT32, "float32 (auto: no native bfloat16 on this CPU)"


@contextlib.contextmanager
def global_policy(name):
    """Sets Keras' process-global dtype policy to `name` inside the block, then restores it.

    Layers take the global policy when they are created, so the networks built inside keep
    `name` after the block; whatever the process builds afterwards gets the earlier policy.
    """
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


_SCALE = threading.local()  # per thread: MirroredStrategy traces each replica in its own


@contextlib.contextmanager
def gradient_scale(scale):
    """Inside the block, `scaled_gradient` scales its targets by `scale` (a float32 scalar, the
    loss scale of the update being computed; None: no scaling)."""
    previous = getattr(_SCALE, "value", None)
    _SCALE.value = scale
    try:
        yield
    finally:
        _SCALE.value = previous


def scaled_gradient(tape, target, sources):
    """`tape.gradient(target, sources)`, through the loss scale of `gradient_scale` if one is set.

    Scaled: the backward pass starts from `S` instead of 1 (`output_gradients`, the gradient of
    `S * target`), and the gradients are divided by `S` in float32 (the float16 ones would
    underflow again if cast back). Without a scale: exactly `tape.gradient`, so float32 and
    bfloat16 runs are unchanged.
    """
    scale = getattr(_SCALE, "value", None)
    if scale is None:
        return tape.gradient(target, sources)
    target = tf.convert_to_tensor(target)
    grads = tape.gradient(target, sources, output_gradients=tf.fill(
        tf.shape(target), tf.cast(scale, target.dtype)))
    return tf.nest.map_structure(
        lambda g: None if g is None else tf.cast(g, tf.float32) / scale, grads)


def needs_loss_scaling(compute_dtype):
    """Whether networks computing in `compute_dtype` need `DynamicLossScale` (float16 only)."""
    return tf.as_dtype(compute_dtype) == tf.float16


@gin.configurable
class DynamicLossScale(tf.Module):
    """The dynamic loss scale of one optimiser (checkpointed with it, so a resumed run continues
    with the scale it had).

    Args:
        initial_scale: `S` at the start (2^15, as Keras' `LossScaleOptimizer`).
        growth_steps: finite updates in a row after which `S` doubles.
        name: names the scale in logs ("d", "g").

    Variables: `scale`, `good_steps` (finite updates since the last change of `S`) and
    `overflows` (updates skipped so far).
    """

    def __init__(self, initial_scale=2.0 ** 15, growth_steps=2000, name="loss_scale"):
        if not initial_scale > 0:
            raise ValueError(f"DynamicLossScale.initial_scale must be > 0, got "
                             f"{initial_scale!r}")
        if not isinstance(growth_steps, int) or growth_steps < 1:
            raise ValueError(f"DynamicLossScale.growth_steps must be an integer >= 1, got "
                             f"{growth_steps!r}")
        super().__init__(name=f"{name}_loss_scale")
        self.label = name
        self.growth_steps = growth_steps
        first = tf.VariableAggregation.ONLY_FIRST_REPLICA
        self.scale = tf.Variable(float(initial_scale), dtype=tf.float32, trainable=False,
                                 aggregation=first, name="scale")
        self.good_steps = tf.Variable(0, dtype=tf.int64, trainable=False, aggregation=first,
                                      name="good_steps")
        self.overflows = tf.Variable(0, dtype=tf.int64, trainable=False, aggregation=first,
                                     name="overflows")

    @contextlib.contextmanager
    def scaling(self):
        """`gradient_scale(self.scale)`: gradients taken inside belong to this optimiser."""
        with gradient_scale(tf.convert_to_tensor(self.scale)):
            yield

    def apply(self, optimizer, grads, variables, checked=()):
        """Applies unscaled `grads` to `variables` with `optimizer` unless any of `grads` or
        `checked` (other gradients of the update, e.g. FastGAN's input gradient) is not finite
        on any replica; then skips the update, halves the scale and counts the overflow.
        Replica context.

        Returns:
            A bool scalar: whether the update was skipped (the same on every replica).
        """
        local = [tf.reduce_all(tf.math.is_finite(g)) for g in list(grads) + list(checked)
                 if g is not None]
        local_bad = tf.cast(tf.logical_not(tf.reduce_all(tf.stack(local))), tf.float32)
        context = tf.distribute.get_replica_context()
        # Every replica (and worker) takes the same branch, so the optimiser's all-reduce in
        # the update runs on all or none of them.
        bad = context.all_reduce(tf.distribute.ReduceOp.SUM, local_bad) > 0

        def cross_replica(strategy, bad, grads):
            bad = strategy.experimental_local_results(bad)[0]

            def update():
                strategy.extended.call_for_each_replica(
                    lambda gs: optimizer.apply_gradients(zip(gs, variables)), args=(grads,))
                grow = self.good_steps + 1 >= self.growth_steps
                self.scale.assign(tf.where(grow, self.scale * 2.0, self.scale))
                self.good_steps.assign(tf.where(grow, tf.constant(0, tf.int64),
                                                self.good_steps + 1))
                return tf.constant(False)

            def skip():
                self.scale.assign(self.scale * 0.5)
                self.good_steps.assign(0)
                self.overflows.assign_add(1)
                tf.print(f"float16 overflow in {self.label.upper()}'s update: skipped, loss "
                         "scale lowered to", self.scale, output_stream=sys.stderr)
                return tf.constant(True)

            # Inside merge_call, so that the optimiser's own merge_call is not inside a cond
            # of the replica function (which MirroredStrategy refuses).
            return tf.cond(bad, skip, update)

        skipped = context.merge_call(cross_replica, args=(bad, list(grads)))
        return skipped

    def logs(self):
        """`{<name>_loss_scale, <name>_overflows}` for TensorBoard."""
        return {f"{self.label}_loss_scale": tf.identity(self.scale),
                f"{self.label}_overflows": tf.cast(self.overflows, tf.float32)}
