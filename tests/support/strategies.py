"""One two-CPU MirroredStrategy for the whole test session.

Each new MirroredStrategy numbers its collective ops from the same instance keys; two strategies
alive in one process then mix up their all-reduces ("Shape mismatch in the collective instance"),
so every test shares this one.
"""

import functools

import tensorflow as tf


@functools.lru_cache(maxsize=None)
def two_cpu_mirrored():
    if len(tf.config.list_logical_devices("CPU")) < 2:
        return None
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
