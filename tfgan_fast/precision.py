"""The numeric policy of a run: `run.mixed_precision = 'auto'` picks bfloat16 where it is native.

bfloat16 halves the cost of every convolution on hardware with bfloat16 units and changes a GAN's
results only by rounding (the README's bf16-vs-float32 comparison); elsewhere it is emulated and
slower than float32. So 'auto' chooses:

* `mixed_bfloat16` on a GPU of compute capability 8.0 or newer (Ampere, Hopper, ...);
* `mixed_bfloat16` on a CPU-only machine whose CPU reports AVX512_BF16 or AMX-BF16 (Linux
  `/proc/cpuinfo` flags `avx512_bf16`, `amx_bf16`);
* `float32` everywhere else (older GPUs: use `'mixed_float16'` yourself, it needs loss scaling
  that the trainers do not do).
"""

import contextlib

import keras
import tensorflow as tf

from tfgan_fast import hardware

AUTO = "auto"
FLOAT32 = "float32"
BFLOAT16 = "mixed_bfloat16"
_KNOWN = (AUTO, FLOAT32, BFLOAT16, "mixed_float16", "bfloat16", "float16")
_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


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
        return policy, f"{policy} (run.mixed_precision = {policy!r})"
    gpu_caps = gpu_compute_capabilities() if gpu_caps is None else list(gpu_caps)
    if gpu_caps:
        if all(tuple(c) >= (8, 0) for c in gpu_caps):
            return BFLOAT16, (f"mixed_bfloat16 (auto: GPU compute capability "
                              f"{'.'.join(map(str, min(gpu_caps)))} >= 8.0)")
        return FLOAT32, (f"float32 (auto: GPU compute capability "
                         f"{'.'.join(map(str, min(gpu_caps)))} < 8.0 has no fast bfloat16)")
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
