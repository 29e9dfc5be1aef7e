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


import gin  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _clear_gin_config():
    """Gin bindings are process-global: a config parsed by one test would otherwise configure
    every `@gin.configurable` object that later tests construct (e.g. an Evaluator picking up
    cifar10/fastgan.gin's `Evaluator.real_data`)."""
    yield
    gin.clear_config()
