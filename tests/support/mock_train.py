"""`python -m tests.support.mock_train <train.py flags>`: the real command line on mocked TFDS
data.

`tfds.testing.mock_data` (with the download probe patched, see tests/support/offline.py) patches
TFDS inside one process, so the end-to-end tests launch the training program through this wrapper
to run it as a separate, killable process.
"""
# pylint: disable=wrong-import-position

import os
import sys

from absl import app
import tensorflow as tf

from tests.support.offline import mock_tfds
from tfgan_fast import train

if __name__ == "__main__":
    # TFGAN_FAST_TEST_CPUS=2: two logical CPUs, for `make_strategy.devices = ['/cpu:0',
    # '/cpu:1']` (must happen before TensorFlow initialises its devices).
    if os.environ.get("TFGAN_FAST_TEST_CPUS"):
        tf.config.set_logical_device_configuration(
            tf.config.list_physical_devices("CPU")[0],
            [tf.config.LogicalDeviceConfiguration()] * int(os.environ["TFGAN_FAST_TEST_CPUS"]))
    with mock_tfds(num_examples=64):
        app.run(train.main, argv=sys.argv)
