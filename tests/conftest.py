"""Test session set-up: two logical CPU devices so MirroredStrategy can be tested here.

The logical device configuration must happen before TensorFlow initialises its devices, so it
lives in conftest.py, which pytest imports before any test module.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
try:
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
except RuntimeError:  # devices already initialised by another plugin; tests needing 2 skip
    pass
